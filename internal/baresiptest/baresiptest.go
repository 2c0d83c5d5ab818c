// Package baresiptest runs baresip (Debian's baresip 1.0.0) as a SIP phone
// on loopback for tests, and drives it as a user would. Start writes a
// configuration directory, starts `baresip -f DIR -s -v` and connects to
// its ctrl_tcp module; Phone.Do sends commands (dial, hangup, hold,
// resume, sndcode), Phone.Wait waits for its events (CALL_ESTABLISHED,
// CALL_CLOSED…), and Phone.Messages reads the SIP trace that -s writes,
// to show which connection each message used. New does the same for a
// Go test and closes the phone when the test ends.
//
// ctrl_tcp speaks JSON in netstrings: `LEN:{"command":…},`, and answers
// each command with a response carrying its token; events come on the
// same connection, in between.
package baresiptest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callflow/callflow/internal/tooltest"
)

// Options configure a phone. Every address is on 127.0.0.1.
type Options struct {
	// SIPPort is where baresip listens for SIP over UDP and TCP. It also
	// listens for TLS on SIPPort+1, so CtrlPort must not be that. Ports
	// left zero are chosen among those free.
	SIPPort  int
	CtrlPort int // ctrl_tcp's
	RTPPorts [2]int
	// Server is the host:port every request goes to (the account's
	// outbound proxy), whatever the URI dialled.
	Server string
	// Transport is "udp" (when empty) or "tcp".
	Transport string
	// RTPTimeout, when above zero, makes baresip hang up a call that
	// receives no RTP for that many seconds, as carriers do.
	RTPTimeout int
	// AudioSource is the WAV file (8 kHz, mono, 16-bit) baresip sends as
	// the caller's voice. When empty, a 60 s tone is written for it.
	AudioSource string
	// User, when set, makes the phone an agent's: it registers as
	// sip:User@Domain with Password every Regint seconds (60 when 0),
	// and answers incoming calls itself when AnswerMode is "auto" (the
	// default is "manual": Do("accept") answers). Without User the phone
	// is a caller that never registers.
	// Regint below zero registers never: a phone the test rings at its
	// own address.
	User, Domain, Password string
	Regint                 int
	AnswerMode             string
	// Codecs is the account's audio_codecs: "PCMA" when empty; "PCMU"
	// or "PCMU,PCMA" to offer µ-law.
	Codecs string
}

// Event is one event baresip reported.
type Event struct {
	Type      string `json:"type"`      // CALL_ESTABLISHED, CALL_CLOSED…
	Class     string `json:"class"`     // call, other…
	PeerURI   string `json:"peeruri"`   // the far end
	Param     string `json:"param"`     // for CALL_CLOSED, why
	Direction string `json:"direction"` // incoming or outgoing
}

func (e Event) String() string { return e.Type + " " + e.Param }

// message is what ctrl_tcp sends: an event or a command's response.
type message struct {
	Event
	IsEvent    bool   `json:"event"`
	IsResponse bool   `json:"response"`
	OK         bool   `json:"ok"`
	Data       string `json:"data"`
	Token      string `json:"token"`
}

// Phone is one running baresip. Its methods are safe for concurrent use.
type Phone struct {
	dir      string
	sipPort  int
	rtpPorts [2]int
	cmd      *exec.Cmd
	conn     net.Conn
	output   *syncBuffer // baresip's stdout and stderr: the log and, with -s, the SIP trace
	exited   chan struct{}
	read     chan struct{} // closed when the reader goroutine returns

	mu        sync.Mutex
	changed   chan struct{}      // closed and replaced whenever events or responses arrive; guarded by mu
	events    []Event            // guarded by mu
	waited    int                // events Wait has handed out; guarded by mu
	responses map[string]message // by token; guarded by mu
	readErr   error              // why the reader stopped; guarded by mu
	tokens    int                // guarded by mu
}

// New starts a phone for test t in a directory of its own, and closes it
// when t ends. It fails t if baresip does not start; without baresip it
// skips t, or fails it when CI is set.
func New(t testing.TB, o Options) *Phone {
	t.Helper()
	tooltest.Require(t, "baresip", "baresip-core")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := Start(ctx, t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("baresip: %v", err)
		}
		if t.Failed() {
			t.Logf("baresip's output:\n%s", p.Output())
		}
	})
	return p
}

// Start writes baresip's configuration to dir, starts it, and connects
// to its ctrl_tcp. The phone runs until Close, which the caller must call.
func Start(ctx context.Context, dir string, o Options) (*Phone, error) {
	if o.Transport == "" {
		o.Transport = "udp"
	}
	if o.Transport != "udp" && o.Transport != "tcp" {
		return nil, fmt.Errorf("baresip: transport %q: use udp or tcp", o.Transport)
	}
	if err := choosePorts(&o); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "snd"), 0o755); err != nil {
		return nil, err
	}
	if o.CtrlPort == o.SIPPort+1 {
		return nil, fmt.Errorf("baresip: ctrl port %d is its TLS port (SIP port + 1)", o.CtrlPort)
	}
	if o.AudioSource == "" {
		o.AudioSource = filepath.Join(dir, "voice.wav")
		if err := os.WriteFile(o.AudioSource, Tone(60*time.Second), 0o644); err != nil {
			return nil, err
		}
	}
	config := []string{
		"module_path /usr/lib/baresip/modules",
		"net_interface 127.0.0.1",
		fmt.Sprintf("sip_listen 127.0.0.1:%d", o.SIPPort),
		fmt.Sprintf("rtp_ports %d-%d", o.RTPPorts[0], o.RTPPorts[1]),
		"rtcp_mux no",
		fmt.Sprintf("rtp_timeout %d", o.RTPTimeout),
		"audio_source aufile," + o.AudioSource,
		"audio_player aufile," + filepath.Join(dir, "heard.wav"),
		"ausrc_srate 8000",
		"ausrc_channels 1",
		"module g711.so",
		"module aufile.so",
		"module sndfile.so",
		"snd_path " + filepath.Join(dir, "snd"),
		"module ctrl_tcp.so",
		"module_tmp account.so",
		"module_app menu.so",
		fmt.Sprintf("ctrl_tcp_listen 127.0.0.1:%d", o.CtrlPort),
	}
	// Every request to the server; a caller does not register.
	outbound := "sip:" + o.Server
	if o.Transport == "tcp" {
		outbound += ";transport=tcp"
	}
	account := accountLine(o, outbound)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(strings.Join(config, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(account), 0o644); err != nil {
		return nil, err
	}

	p := &Phone{dir: dir, sipPort: o.SIPPort, rtpPorts: o.RTPPorts, output: &syncBuffer{}, exited: make(chan struct{}), read: make(chan struct{}),
		changed: make(chan struct{}), responses: map[string]message{}}
	p.cmd = exec.Command("baresip", "-f", dir, "-s", "-v")
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("baresip: %v", err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()

	// ctrl_tcp listens once baresip has loaded its modules.
	addr := fmt.Sprintf("127.0.0.1:%d", o.CtrlPort)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			p.conn = conn
			break
		}
		select {
		case <-p.exited:
			close(p.read)
			return nil, fmt.Errorf("baresip exited before its ctrl_tcp listened on %s:\n%s", addr, p.output)
		case <-ctx.Done():
			p.kill()
			close(p.read)
			return nil, fmt.Errorf("baresip's ctrl_tcp did not listen on %s: %v\n%s", addr, ctx.Err(), p.output)
		case <-time.After(20 * time.Millisecond): // polling a process that is starting
		}
	}
	go p.readLoop()
	return p, nil
}

// accountLine is baresip's accounts line for o.
func accountLine(o Options, outbound string) string {
	codecs := o.Codecs
	if codecs == "" {
		codecs = "PCMA"
	}
	if o.User == "" {
		return fmt.Sprintf("<sip:caller@127.0.0.1>;regint=0;audio_codecs=%s;outbound=%q\n", codecs, outbound)
	}
	domain := o.Domain
	if domain == "" {
		domain = "127.0.0.1"
	}
	regint := o.Regint
	switch {
	case regint == 0:
		regint = 60
	case regint < 0:
		regint = 0
	}
	answer := o.AnswerMode
	if answer == "" {
		answer = "manual"
	}
	line := fmt.Sprintf("<sip:%s@%s", o.User, domain)
	if o.Transport == "tcp" {
		line += ";transport=tcp"
	}
	line += fmt.Sprintf(">;auth_pass=%s;regint=%d;answermode=%s;audio_codecs=%s;outbound=%q\n", o.Password, regint, answer, codecs, outbound)
	return line
}

// Heard is the WAV file of what the phone heard in its last call
// (baresip's sndfile module writes it as the call goes: *-dec.wav),
// complete once the call closed.
func (p *Phone) Heard() (string, error) {
	files, err := filepath.Glob(filepath.Join(p.dir, "snd", "*-dec.wav"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("baresip: no recording of what it heard in %s", filepath.Join(p.dir, "snd"))
	}
	slices.Sort(files) // named by the time of the call
	return files[len(files)-1], nil
}

// SIPAddr is where the phone takes SIP, over UDP and TCP.
func (p *Phone) SIPAddr() string { return fmt.Sprintf("127.0.0.1:%d", p.sipPort) }

// RTPPorts are the ports the phone's media may use.
func (p *Phone) RTPPorts() [2]int { return p.rtpPorts }

// choosePorts fills the ports o leaves zero with free ones: a SIP port
// free over UDP and TCP whose next port (baresip's TLS) is free too, a
// ctrl_tcp port, and ten RTP ports in a row from 28000 to 31999.
func choosePorts(o *Options) error {
	free := func(network string, port int) bool {
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if network == "udp" {
			c, err := net.ListenPacket("udp", addr)
			if err == nil {
				c.Close()
			}
			return err == nil
		}
		l, err := net.Listen("tcp", addr)
		if err == nil {
			l.Close()
		}
		return err == nil
	}
	pick := func(ok func(port int) bool) (int, error) {
		for range 50 {
			c, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				return 0, err
			}
			port := c.LocalAddr().(*net.UDPAddr).Port
			c.Close()
			if port < 65000 && ok(port) {
				return port, nil
			}
		}
		return 0, errors.New("baresip: no free ports on 127.0.0.1")
	}
	var err error
	if o.SIPPort == 0 {
		if o.SIPPort, err = pick(func(p int) bool { return free("udp", p) && free("tcp", p) && free("tcp", p+1) }); err != nil {
			return err
		}
	}
	if o.CtrlPort == 0 {
		if o.CtrlPort, err = pick(func(p int) bool { return p != o.SIPPort+1 && p != o.SIPPort && free("tcp", p) }); err != nil {
			return err
		}
	}
	if o.RTPPorts == [2]int{} {
		// Below the kernel's ephemeral ports (32768 on), which any socket
		// bound to port 0 may take, and apart from the servers' ranges of
		// the tests (2xx00 and up): ten in a row, free.
		for range 200 {
			lo := 28000 + 10*mrand.IntN(400)
			ok := true
			for q := lo; q < lo+10 && ok; q++ {
				ok = free("udp", q)
			}
			if ok {
				o.RTPPorts = [2]int{lo, lo + 9}
				break
			}
		}
		if o.RTPPorts == [2]int{} {
			return errors.New("baresip: no ten free RTP ports in a row from 28000 to 31999")
		}
	}
	return nil
}

// readLoop reads ctrl_tcp's netstrings until the connection closes.
func (p *Phone) readLoop() {
	defer close(p.read)
	r := bufio.NewReader(p.conn)
	for {
		data, err := readNetstring(r)
		var m message
		if err == nil {
			err = json.Unmarshal(data, &m)
		}
		p.mu.Lock()
		switch {
		case err != nil:
			p.readErr = err
		case m.IsEvent:
			p.events = append(p.events, m.Event)
		case m.IsResponse:
			p.responses[m.Token] = m
		}
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// readNetstring reads one `LEN:DATA,`.
func readNetstring(r *bufio.Reader) ([]byte, error) {
	head, err := r.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(head[:len(head)-1])
	if err != nil || n < 0 || n > 1<<20 {
		return nil, fmt.Errorf("ctrl_tcp: bad netstring length %q", head)
	}
	data := make([]byte, n+1)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, err
	}
	if data[n] != ',' {
		return nil, errors.New("ctrl_tcp: netstring without its comma")
	}
	return data[:n], nil
}

// netstring frames data.
func netstring(data []byte) []byte {
	return append(append(strconv.AppendInt(nil, int64(len(data)), 10), ':'), append(data, ',')...)
}

// Do sends a command, such as dial with the URI as params, and waits for
// baresip's response to it.
func (p *Phone) Do(ctx context.Context, command, params string) error {
	p.mu.Lock()
	p.tokens++
	token := strconv.Itoa(p.tokens)
	p.mu.Unlock()
	data, err := json.Marshal(map[string]string{"command": command, "params": params, "token": token})
	if err != nil {
		return err
	}
	if _, err := p.conn.Write(netstring(data)); err != nil {
		return fmt.Errorf("baresip %s: %v", command, err)
	}
	return p.until(ctx, func() (bool, error) {
		m, ok := p.responses[token]
		if ok && !m.OK {
			return true, fmt.Errorf("baresip %s %s: %s", command, params, m.Data)
		}
		return ok, nil
	}, command)
}

// Wait returns the next event of type typ that Wait has not returned, or
// fails when ctx ends first. Events of other types are skipped, and stay
// in Events.
func (p *Phone) Wait(ctx context.Context, typ string) (Event, error) {
	var e Event
	err := p.until(ctx, func() (bool, error) {
		for i := p.waited; i < len(p.events); i++ {
			if p.events[i].Type == typ {
				e, p.waited = p.events[i], i+1
				return true, nil
			}
		}
		return false, nil
	}, "an event "+typ)
	return e, err
}

// until calls done, with mu held, each time something arrives, until it
// reports true or an error.
func (p *Phone) until(ctx context.Context, done func() (bool, error), what string) error {
	for {
		p.mu.Lock()
		ok, err := done()
		changed, readErr := p.changed, p.readErr
		p.mu.Unlock()
		if ok || err != nil {
			return err
		}
		if readErr != nil {
			return fmt.Errorf("baresip: no %s: ctrl_tcp: %v", what, readErr)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("baresip: no %s: %v (events so far: %v)", what, ctx.Err(), p.Events())
		}
	}
}

// Events lists the events reported so far, in order.
func (p *Phone) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

// Output is what baresip printed: its log and its SIP trace.
func (p *Phone) Output() string { return p.output.String() }

// A Message is one SIP message in baresip's trace: the transport, the
// addresses it went from and to, and its first line.
type Message struct {
	Transport, From, To, StartLine string
}

func (m Message) String() string {
	return fmt.Sprintf("%s %s -> %s %s", m.Transport, m.From, m.To, m.StartLine)
}

// traceLine heads each message of the trace that -s writes.
var traceLine = regexp.MustCompile(`^(UDP|TCP|TLS) (\S+) -> (\S+)$`)

// Messages reads the SIP messages sent and received so far from the trace.
func (p *Phone) Messages() []Message {
	var out []Message
	lines := strings.Split(p.Output(), "\n")
	for i, l := range lines {
		m := traceLine.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil || i+1 == len(lines) {
			continue
		}
		out = append(out, Message{Transport: m[1], From: m[2], To: m[3], StartLine: strings.TrimSpace(lines[i+1])})
	}
	return out
}

// Close stops baresip and waits for it to exit.
func (p *Phone) Close() error {
	p.kill()
	p.conn.Close()
	<-p.read
	return nil
}

func (p *Phone) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	// baresip quits on SIGTERM, hanging up its calls; a phone that does
	// not is killed.
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(3 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// Tone is a WAV file of d of a 440 Hz tone, 8 kHz, mono, 16-bit: a voice
// for the caller that anything can tell from silence.
func Tone(d time.Duration) []byte {
	n := int(d.Seconds() * 8000)
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v) // fmt: PCM, mono, 8 kHz, 2 bytes a frame, 16 bits
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(2*n))
	// A triangle wave: 440 Hz is not a whole number of samples.
	for i := range n {
		phase := float64(i) * 440 / 8000
		phase -= float64(int(phase))
		v := 4*phase - 1
		if phase > 0.5 {
			v = 3 - 4*phase
		}
		binary.Write(&b, binary.LittleEndian, int16(v*8000))
	}
	return b.Bytes()
}

// syncBuffer is a buffer that a process's output and readers share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
