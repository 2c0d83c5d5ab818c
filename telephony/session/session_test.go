package session_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/internal/g711"
	"github.com/callflow/callflow/lang"
	"github.com/callflow/callflow/telephony/media"
	"github.com/callflow/callflow/telephony/prompt"
	"github.com/callflow/callflow/telephony/session"
	"github.com/callflow/callflow/vm"
)

const flows = `
number "a" {
  e164 = "+14155550100"
  type = "local"
}
number "b" {
  e164 = "+14155550101"
  type = "local"
}
number "c" {
  e164 = "+14155550102"
  type = "local"
}
user "ann" {
}

flow "menu" {
  numbers = [number.a]
  start   = ivr.menu
  ivr "menu" {
    say     = "menu"
    timeout = 1
    key "1" { next = announce.one }
    key "2" { next = transfer_user.ann }
    on_timeout = announce.late
  }
  announce "one" {
    say = "one"
  }
  announce "late" {
    say = "late"
  }
  transfer_user "ann" {
    user           = user.ann
    on_unavailable = announce.late
  }
}

flow "box" {
  numbers = [number.b]
  start   = voicemail.box
  voicemail "box" {
    say        = "box"
    max_length = 5
    timeout    = 10
  }
}

flow "hello" {
  numbers = [number.c]
  start   = announce.hello
  announce "hello" {
    say = "hello"
  }
}
`

// Prompt lengths, in 20 ms frames.
var frames = map[string]int{"menu": 50, "one": 5, "late": 6, "box": 5, "hello": 12}

func programs(t *testing.T) map[string]*vm.Program {
	t.Helper()
	cfg, diags := lang.NewParser().LoadSources([]lang.NamedSource{{Name: "f.hcl", Src: []byte(flows)}})
	m, more := compiler.Check(cfg, compiler.Options{})
	if diags = append(diags, more...); diags.HasErrors() {
		t.Fatal(diags)
	}
	progs, err := compiler.LowerAll(m)
	if err != nil {
		t.Fatal(err)
	}
	return progs
}

// caller is the far end of a call's RTP: it counts the frames of each
// talk spurt it hears, and sends keys and audio.
type caller struct {
	t      *testing.T
	conn   net.PacketConn
	remote net.Addr
	// offered, when set, is the address the caller's SDP gives, when it
	// is not where its packets come from (a caller behind NAT).
	offered *net.UDPAddr

	mu     sync.Mutex
	spurts []int // frames per talk spurt, in order
	heard  chan int
	seq    uint16
	ts     uint32
}

func newPair(t *testing.T) (*caller, net.PacketConn) {
	t.Helper()
	srv, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cli, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); cli.Close() })
	c := &caller{t: t, conn: cli, remote: srv.LocalAddr(), heard: make(chan int, 1000)}
	go c.listen()
	return c, srv
}

func (c *caller) listen() {
	buf := make([]byte, 1500)
	for {
		n, _, err := c.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		var p rtp.Packet
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		if silent(p.Payload) {
			continue // the line between prompts: counted as no frame of a prompt
		}
		c.mu.Lock()
		if p.Marker || len(c.spurts) == 0 {
			c.spurts = append(c.spurts, 0)
		}
		c.spurts[len(c.spurts)-1]++
		total := 0
		for _, s := range c.spurts {
			total += s
		}
		c.mu.Unlock()
		c.heard <- total
	}
}

// sdp is the RTP address the caller's SDP gives.
func (c *caller) sdp() *net.UDPAddr {
	if c.offered != nil {
		return c.offered
	}
	return c.conn.LocalAddr().(*net.UDPAddr)
}

// silent reports whether a frame is all silence (µ-law 0).
func silent(payload []byte) bool {
	for _, b := range payload {
		if b != g711.EncodeULaw(0) {
			return false
		}
	}
	return true
}

// waitFrames blocks until n frames have been heard in all.
func (c *caller) waitFrames(n int) {
	timeout := time.After(10 * time.Second)
	for {
		select {
		case total := <-c.heard:
			if total >= n {
				return
			}
		case <-timeout:
			c.t.Fatalf("heard fewer than %d frames in 10 s", n)
		}
	}
}

func (c *caller) send(pt uint8, payload []byte, marker bool) {
	c.seq++
	b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: c.seq, Timestamp: c.ts, SSRC: 42, Marker: marker}, Payload: payload}).Marshal()
	c.conn.WriteTo(b, c.remote)
}

// press sends a key as RFC 4733 events: two while held, three ends.
func (c *caller) press(key uint8) {
	c.ts += 1000
	for i := 0; i < 2; i++ {
		c.send(101, media.TelephoneEvent{Event: key, Volume: 10, Duration: uint16(160 * (i + 1))}.Marshal(), i == 0)
	}
	for i := 0; i < 3; i++ {
		c.send(101, media.TelephoneEvent{Event: key, End: true, Volume: 10, Duration: 480}.Marshal(), false)
	}
}

// speak sends n frames of audio, paced as a phone would.
func (c *caller) speak(n int) {
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = g711.EncodeULaw(int16(1000 * (i % 7)))
	}
	for i := 0; i < n; i++ {
		c.ts += 160
		c.send(media.PayloadPCMU, payload, i == 0)
		time.Sleep(5 * time.Millisecond) // pacing the sender, not waiting for the receiver
	}
}

func (c *caller) heardSpurts() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.spurts...)
}

// trace records the states of every effect.
type trace struct {
	mu    sync.Mutex
	p     *vm.Program
	path  []string
	kinds []string
}

func (tr *trace) OnEffect(m *vm.Machine, e *vm.Effect) error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	ref := tr.p.States[e.State].Ref
	if len(tr.path) == 0 || tr.path[len(tr.path)-1] != ref {
		tr.path = append(tr.path, ref)
	}
	tr.kinds = append(tr.kinds, e.Kind.String())
	return nil
}

func (tr *trace) OnResult(*vm.Machine, *vm.Effect, vm.Result) error { return nil }

type call struct {
	final vm.Effect
	err   error
	path  string
	saved []prompt.Audio
}

// run runs flow in a session against c, with keys from info.
func run(t *testing.T, ctx context.Context, flow string, c *caller, srv net.PacketConn, info chan byte) <-chan call {
	return runStorage(t, ctx, flow, c, srv, info, true)
}

// runStorage is run with storage that keeps messages only when room is
// true: otherwise the storage plan is full (S7).
func runStorage(t *testing.T, ctx context.Context, flow string, c *caller, srv net.PacketConn, info chan byte, room bool) <-chan call {
	p := programs(t)[flow]
	tr := &trace{p: p}
	out := make(chan call, 1)
	var saved []prompt.Audio
	s := &session.Session{
		Conn: srv, Remote: c.sdp(), Codec: media.PayloadPCMU, DTMFType: 101, Keys: info,
		Sources: []netip.Addr{netip.MustParseAddr("127.0.0.1")},
		Prompt: func(k *vm.Const) (prompt.Audio, error) {
			return loud(frames[k.Text] * media.FrameSamples), nil
		},
		Record: func() (session.Recorder, error) {
			return &memoryRecorder{room: room, saved: &saved}, nil
		},
		Hooks: []vm.Hook{tr},
	}
	go func() {
		e, err := s.Run(ctx, p)
		tr.mu.Lock()
		out <- call{final: e, err: err, path: strings.Join(tr.path, " "), saved: saved}
		tr.mu.Unlock()
	}()
	return out
}

// loud is n samples of a prompt that is not silence.
func loud(n int) prompt.Audio {
	a := prompt.Audio{Samples: make([]int16, n)}
	for i := range a.Samples {
		a.Samples[i] = 2000
	}
	return a
}

// memoryRecorder keeps a message in memory, as a test's storage.
type memoryRecorder struct {
	samples []int16
	room    bool
	saved   *[]prompt.Audio
}

func (r *memoryRecorder) Write(s []int16) error { r.samples = append(r.samples, s...); return nil }
func (r *memoryRecorder) Seconds() float64      { return float64(len(r.samples)) / prompt.Rate }
func (r *memoryRecorder) Discard()              {}
func (r *memoryRecorder) Keep() (bool, error) {
	if !r.room {
		return false, nil
	}
	*r.saved = append(*r.saved, prompt.Audio{Samples: r.samples})
	return true, nil
}

func wait(t *testing.T, ch <-chan call) call {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("the session did not end in 20 s")
	}
	return call{}
}

func TestAnnouncePlaysEveryFrame(t *testing.T) {
	c, srv := newPair(t)
	r := wait(t, run(t, context.Background(), "hello", c, srv, nil))
	if r.final.Reason != vm.ReasonFlowEnd {
		t.Errorf("ended %s", r.final.Reason)
	}
	c.waitFrames(frames["hello"])
	if got := c.heardSpurts(); len(got) != 1 || got[0] != frames["hello"] {
		t.Errorf("heard %v, want one spurt of %d frames", got, frames["hello"])
	}
}

func TestKeyStopsThePrompt(t *testing.T) {
	c, srv := newPair(t)
	done := run(t, context.Background(), "menu", c, srv, nil)
	c.waitFrames(5)
	c.press(1)
	r := wait(t, done)
	if r.path != "ivr.menu announce.one" {
		t.Errorf("path %q", r.path)
	}
	c.waitFrames(frames["one"] + 5)
	got := c.heardSpurts()
	if len(got) != 2 || got[0] >= frames["menu"] || got[1] != frames["one"] {
		t.Errorf("heard %v: the menu must stop early, then %d frames of \"one\"", got, frames["one"])
	}
}

// RTP from anywhere but the caller's address is hostile: a key a stranger
// sends to the call's port is not pressed.
func TestKeysFromAStrangerAreIgnored(t *testing.T) {
	c, srv := newPair(t)
	stranger, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no second loopback address: %v", err)
	}
	defer stranger.Close()
	s := &caller{t: t, conn: stranger, remote: srv.LocalAddr()}
	done := run(t, context.Background(), "menu", c, srv, nil)
	c.waitFrames(5)
	s.press(1)
	if r := wait(t, done); r.path != "ivr.menu announce.late" {
		t.Errorf("path %q: the stranger's key was taken", r.path)
	}
}

func TestMenuTimesOutAfterThePrompt(t *testing.T) {
	c, srv := newPair(t)
	start := time.Now()
	r := wait(t, run(t, context.Background(), "menu", c, srv, nil))
	if r.path != "ivr.menu announce.late" {
		t.Errorf("path %q", r.path)
	}
	// The prompt (1 s) and then the time-out (1 s).
	if d := time.Since(start); d < 1900*time.Millisecond {
		t.Errorf("the menu timed out after %s; it waits 1 s after a 1 s prompt", d)
	}
}

func TestKeyByINFOAndTransferUnavailable(t *testing.T) {
	c, srv := newPair(t)
	info := make(chan byte, 1)
	done := run(t, context.Background(), "menu", c, srv, info)
	c.waitFrames(3)
	info <- '2'
	r := wait(t, done)
	// No phone is registered yet, so the transfer takes on_unavailable.
	if r.path != "ivr.menu transfer_user.ann announce.late" {
		t.Errorf("path %q", r.path)
	}
}

func TestVoicemailRecordsUntilHash(t *testing.T) {
	c, srv := newPair(t)
	done := run(t, context.Background(), "box", c, srv, nil)
	beep := len(session.Beep.Samples) / media.FrameSamples
	c.waitFrames(frames["box"] + beep)
	c.speak(40)
	c.press(11) // #
	r := wait(t, done)
	if r.final.Reason != vm.ReasonMessage || len(r.saved) != 1 {
		t.Fatalf("ended %s with %d messages", r.final.Reason, len(r.saved))
	}
	if n := len(r.saved[0].Samples) / media.FrameSamples; n < 35 || n > 40 {
		t.Errorf("the message holds %d frames; 40 were spoken", n)
	}
}

// With the storage plan full, the caller's message is not kept and the
// voicemail ends as no-message.
func TestVoicemailNotSavedWhenStorageIsFull(t *testing.T) {
	c, srv := newPair(t)
	done := runStorage(t, context.Background(), "box", c, srv, nil, false)
	c.waitFrames(frames["box"] + len(session.Beep.Samples)/media.FrameSamples)
	c.speak(20)
	c.press(11) // #
	r := wait(t, done)
	if r.final.Reason != vm.ReasonNoMessage || len(r.saved) != 0 {
		t.Fatalf("ended %s with %d messages kept; want no-message and none", r.final.Reason, len(r.saved))
	}
	if r.path != "voicemail.box" {
		t.Errorf("path %q", r.path)
	}
}

func TestCallerHangsUpDuringAPrompt(t *testing.T) {
	c, srv := newPair(t)
	ctx, hangUp := context.WithCancel(context.Background())
	done := run(t, ctx, "menu", c, srv, nil)
	c.waitFrames(5)
	hangUp()
	r := wait(t, done)
	if r.final.Reason != vm.ReasonCallerHungUp {
		t.Errorf("ended %s, want caller-hung-up", r.final.Reason)
	}
	if got := c.heardSpurts(); len(got) != 1 || got[0] >= frames["menu"] {
		t.Errorf("heard %v: the prompt must stop at the hang-up", got)
	}
}

// Keys that cannot stop a prompt (any key during an announcement) are
// dropped without hurrying it: the prompt still takes its full time.
func TestKeysDoNotHurryAPrompt(t *testing.T) {
	c, srv := newPair(t)
	info := make(chan byte, 16)
	for range 10 {
		info <- '5'
	}
	start := time.Now()
	r := wait(t, run(t, context.Background(), "hello", c, srv, info))
	took := time.Since(start)
	if r.final.Reason != vm.ReasonFlowEnd {
		t.Errorf("ended %s", r.final.Reason)
	}
	// 12 frames at 20 ms: the last is sent 220 ms after the first.
	if want := time.Duration(frames["hello"]-1) * 20 * time.Millisecond; took < want {
		t.Errorf("the prompt took %s; %d frames take at least %s, whatever keys arrive", took, frames["hello"], want)
	}
	c.waitFrames(frames["hello"])
}

// Symmetric RTP: a caller behind NAT gives an address in its SDP that
// cannot be reached; once its first packet arrives, the call's media goes
// to where that packet came from, and a second source on the caller's own
// host (another port) presses nothing.
func TestMediaFollowsTheCallersPackets(t *testing.T) {
	c, srv := newPair(t)
	unreachable, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.offered = unreachable.LocalAddr().(*net.UDPAddr)
	unreachable.Close() // nothing listens there: what is sent there is lost
	done := run(t, context.Background(), "menu", c, srv, nil)
	c.speak(1) // the caller's first packet: media comes back to its socket
	c.waitFrames(5)
	other, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	o := &caller{t: t, conn: other, remote: srv.LocalAddr()}
	o.press(1)
	if r := wait(t, done); r.path != "ivr.menu announce.late" {
		t.Errorf("path %q: a key from another port was taken", r.path)
	}
}
