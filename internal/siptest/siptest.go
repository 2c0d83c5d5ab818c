// Package siptest is a caller for tests of the SIP server: a sipgo user
// agent that dials over UDP on loopback and, for each call, an RTP socket
// that hears the server's frames and sends keys (RFC 4733 events, or SIP
// INFO) and speech.
//
// A Call's media ends with the call: when either side sends BYE, the
// frames that had already arrived are counted and the RTP socket closes,
// so that a test making many calls leaves nothing running behind them.
package siptest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"

	"github.com/callflow/callflow/internal/g711"
	"github.com/callflow/callflow/telephony/media"
)

// DTMFType is the telephone-event payload type a Phone offers.
const DTMFType = 101

// Phone is a SIP user agent on 127.0.0.1 that places calls. It is closed
// when the test ends.
type Phone struct {
	tb      testing.TB
	ua      *sipgo.UserAgent
	dialogs *sipgo.DialogClientCache
	calls   sync.Map // *sipgo.DialogClientSession → *Call, for BYE
}

// Option configures a Phone.
type Option func(*options)

type options struct{ number string }

// WithNumber sets the caller's number, sent as the user of the From
// header; sipgo's "sipgo" by default.
func WithNumber(number string) Option { return func(o *options) { o.number = number } }

// NewPhone makes a phone.
func NewPhone(tb testing.TB, opts ...Option) *Phone {
	tb.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	uaOpts := []sipgo.UserAgentOption{sipgo.WithUserAgentHostname("127.0.0.1")}
	if o.number != "" {
		uaOpts = append(uaOpts, sipgo.WithUserAgent(o.number))
	}
	ua, err := sipgo.NewUA(uaOpts...)
	if err != nil {
		tb.Fatal(err)
	}
	// The server only handles the requests that arrive on the client's
	// connections: the far end's BYE.
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		tb.Fatal(err)
	}
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		tb.Fatal(err)
	}
	p := &Phone{tb: tb, ua: ua,
		dialogs: sipgo.NewDialogClientCache(cli, sip.ContactHeader{Address: sip.Uri{Host: "127.0.0.1"}})}
	srv.OnBye(p.onBye)
	tb.Cleanup(func() { ua.Close() })
	return p
}

func (p *Phone) onBye(req *sip.Request, tx sip.ServerTransaction) {
	d, err := p.dialogs.MatchRequestDialog(req)
	if err != nil {
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	if err := d.ReadBye(req, tx); err != nil {
		return
	}
	if c, ok := p.calls.LoadAndDelete(d); ok {
		c := c.(*Call)
		close(c.bye)
		c.stopMedia()
	}
}

// Call is one call a Phone placed.
type Call struct {
	// Dialog is the call's SIP dialog. Its InviteResponse holds the
	// server's final response and, when answered, its SDP answer.
	Dialog *sipgo.DialogClientSession

	phone  *Phone
	rtp    net.PacketConn
	remote net.Addr      // the server's RTP address, from its answer
	bye    chan struct{} // closed when the server hangs up
	done   chan struct{} // closed when the receiver has stopped
	stop   sync.Once

	mu      sync.Mutex
	spurts  []Spurt       // guarded by mu: runs of frames that are not silence
	packets []Packet      // guarded by mu
	audio   []int16       // guarded by mu: what was heard, decoded
	changed chan struct{} // closed and replaced when a frame is heard; guarded by mu

	sendMu sync.Mutex // orders the packets sent
	seq    uint16     // guarded by sendMu
	ts     uint32     // guarded by sendMu
}

// Spurt is one run of frames the server sent, from a frame with the RTP
// marker bit (a new prompt) to the frame before the next.
type Spurt struct {
	Frames      int
	First, Last time.Time // when its first and last frames arrived
}

// Dial calls number at the server at addr, waits for the final response
// and, when the call is answered, acknowledges it. It returns the final
// status; a call that is not answered has no media.
func (p *Phone) Dial(ctx context.Context, addr netip.AddrPort, number string) (int, *Call) {
	p.tb.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		p.tb.Fatal(err)
	}
	c := &Call{phone: p, rtp: conn, bye: make(chan struct{}), done: make(chan struct{}), changed: make(chan struct{}), seq: 1000, ts: 160000}
	go c.listen()
	p.tb.Cleanup(func() { conn.Close(); <-c.done })

	uri := sip.Uri{User: number, Host: addr.Addr().String(), Port: int(addr.Port())}
	d, err := p.dialogs.Invite(ctx, uri, c.offer(), sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		c.stopMedia()
		p.tb.Fatalf("INVITE %s: %v", number, err)
	}
	c.Dialog = d
	err = d.WaitAnswer(ctx, sipgo.AnswerOptions{})
	status := 0
	if d.InviteResponse != nil {
		status = d.InviteResponse.StatusCode
	}
	if err != nil && status == 0 {
		c.stopMedia()
		p.tb.Fatalf("INVITE %s: %v", number, err)
	}
	if status != sip.StatusOK {
		c.stopMedia()
		return status, c
	}
	if c.remote, err = answerAddr(d.InviteResponse.Body()); err != nil {
		p.tb.Errorf("the answer to INVITE %s: %v", number, err)
	}
	p.calls.Store(d, c)
	if err := d.Ack(ctx); err != nil {
		p.tb.Fatalf("ACK %s: %v", number, err)
	}
	return status, c
}

func (c *Call) offer() []byte {
	port := c.rtp.LocalAddr().(*net.UDPAddr).Port
	return fmt.Appendf(nil, "v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 %d\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:%d telephone-event/8000\r\n", port, DTMFType, DTMFType)
}

// answerAddr reads the RTP address from an SDP answer.
func answerAddr(body []byte) (net.Addr, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(body)); err != nil {
		return nil, err
	}
	if len(sd.MediaDescriptions) == 0 {
		return nil, errors.New("no media in the SDP answer")
	}
	m := sd.MediaDescriptions[0]
	conn := m.ConnectionInformation
	if conn == nil {
		conn = sd.ConnectionInformation
	}
	if conn == nil || conn.Address == nil {
		return nil, errors.New("no connection address in the SDP answer")
	}
	ip, err := netip.ParseAddr(conn.Address.Address)
	if err != nil {
		return nil, err
	}
	return net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(m.MediaName.Port.Value))), nil
}

// endOfMedia is what a call sends itself when it ends: a datagram that is
// not RTP, queued behind whatever the server sent before.
var endOfMedia = []byte("siptest: end of media")

// stopMedia ends the call's media once the frames already received are
// counted.
func (c *Call) stopMedia() {
	c.stop.Do(func() {
		if _, err := c.rtp.WriteTo(endOfMedia, c.rtp.LocalAddr()); err != nil {
			c.rtp.Close()
		}
	})
}

func (c *Call) listen() {
	defer close(c.done)
	defer c.rtp.Close()
	buf := make([]byte, 1500)
	for {
		n, _, err := c.rtp.ReadFrom(buf)
		if err != nil {
			return
		}
		if string(buf[:n]) == string(endOfMedia) {
			return
		}
		var p rtp.Packet
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		now := time.Now()
		c.mu.Lock()
		if len(c.packets) < maxPackets {
			c.packets = append(c.packets, Packet{At: now, Sequence: p.SequenceNumber, Timestamp: p.Timestamp, Silent: silent(p.Payload)})
			if p.PayloadType == media.PayloadPCMU || p.PayloadType == media.PayloadPCMA {
				at := len(c.audio)
				c.audio = append(c.audio, make([]int16, len(p.Payload))...)
				media.Decode(p.PayloadType, c.audio[at:], p.Payload)
			}
		}
		if silent(p.Payload) {
			// The line between prompts: heard, but no frame of a prompt.
			close(c.changed)
			c.changed = make(chan struct{})
			c.mu.Unlock()
			continue
		}
		if p.Marker || len(c.spurts) == 0 {
			c.spurts = append(c.spurts, Spurt{First: now})
		}
		s := &c.spurts[len(c.spurts)-1]
		s.Frames++
		s.Last = now
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
}

// maxPackets bounds the packets a call keeps a log of: ten minutes.
const maxPackets = 30000

// Packet is one RTP packet the server sent, as it arrived.
type Packet struct {
	At        time.Time
	Sequence  uint16
	Timestamp uint32
	Silent    bool // a frame of silence (between prompts, during waits)
}

// Packets returns every RTP packet heard so far, in order of arrival.
func (c *Call) Packets() []Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Packet(nil), c.packets...)
}

// silent reports whether a G.711 payload is all silence: µ-law's two
// zeros, or A-law's.
func silent(payload []byte) bool {
	for _, b := range payload {
		if b != 0xFF && b != 0x7F && b != 0xD5 && b != 0x55 {
			return false
		}
	}
	return len(payload) > 0
}

// Audio returns the audio heard so far, decoded, packet after packet in
// order of arrival (a lost packet leaves no gap).
func (c *Call) Audio() []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.audio)
}

// Frames returns how many frames of prompts have been heard (silence is
// not counted).
func (c *Call) Frames() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.spurts {
		n += s.Frames
	}
	return n
}

// Spurts returns the runs of frames heard so far, in order.
func (c *Call) Spurts() []Spurt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Spurt(nil), c.spurts...)
}

// SpurtFrames returns the frames of each spurt heard so far.
func (c *Call) SpurtFrames() []int {
	var n []int
	for _, s := range c.Spurts() {
		n = append(n, s.Frames)
	}
	return n
}

// WaitFrames waits until n frames have been heard in all.
func (c *Call) WaitFrames(ctx context.Context, n int) error {
	return c.wait(ctx, func() bool { return c.Frames() >= n }, fmt.Sprintf("%d frames", n))
}

// WaitSpurt waits until the i-th spurt (from 0) has at least n frames.
func (c *Call) WaitSpurt(ctx context.Context, i, n int) error {
	return c.wait(ctx, func() bool {
		s := c.Spurts()
		return len(s) > i && s[i].Frames >= n
	}, fmt.Sprintf("spurt %d of %d frames", i, n))
}

func (c *Call) wait(ctx context.Context, ok func() bool, what string) error {
	for {
		c.mu.Lock()
		changed := c.changed
		c.mu.Unlock()
		if ok() {
			return nil
		}
		select {
		case <-changed:
		case <-c.done:
			if ok() {
				return nil
			}
			return fmt.Errorf("the call's media ended before %s were heard; heard %v", what, c.SpurtFrames())
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w; heard %v", what, ctx.Err(), c.SpurtFrames())
		}
	}
}

// Bye is closed when the server hangs up.
func (c *Call) Bye() <-chan struct{} { return c.bye }

// WaitBye waits for the server to hang up.
func (c *Call) WaitBye(ctx context.Context) error {
	select {
	case <-c.bye:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for BYE: %w; heard %v", ctx.Err(), c.SpurtFrames())
	}
}

// HangUp sends BYE and waits for its response.
func (c *Call) HangUp(ctx context.Context) error {
	if c.Dialog == nil {
		return errors.New("hang up: the call was not placed")
	}
	c.phone.calls.Delete(c.Dialog)
	defer c.stopMedia()
	return c.Dialog.Bye(ctx)
}

// Key events: 0–9, then * and #.
func event(key byte) (uint8, error) {
	switch {
	case key >= '0' && key <= '9':
		return key - '0', nil
	case key == '*':
		return 10, nil
	case key == '#':
		return 11, nil
	}
	return 0, fmt.Errorf("siptest: %q is not a DTMF key", key)
}

// Press sends a key as RFC 4733 telephone events, as a phone does: two
// packets while the key is held, then three marking its end, all with the
// event's timestamp.
func (c *Call) Press(key byte) error {
	e, err := event(key)
	if err != nil {
		return err
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.ts += 800
	for i := range 2 {
		if err := c.send(DTMFType, media.TelephoneEvent{Event: e, Volume: 10, Duration: uint16(160 * (i + 1))}.Marshal(), i == 0); err != nil {
			return err
		}
	}
	for range 3 {
		if err := c.send(DTMFType, media.TelephoneEvent{Event: e, End: true, Volume: 10, Duration: 480}.Marshal(), false); err != nil {
			return err
		}
	}
	c.ts += 480
	return nil
}

// PressINFO sends a key as SIP INFO (application/dtmf-relay) within the
// call's dialog and returns the response's status.
func (c *Call) PressINFO(ctx context.Context, key byte) (int, error) {
	if _, err := event(key); err != nil {
		return 0, err
	}
	target := c.Dialog.InviteRequest.Recipient
	if contact := c.Dialog.InviteResponse.Contact(); contact != nil {
		target = contact.Address
	}
	req := sip.NewRequest(sip.INFO, *target.Clone())
	req.AppendHeader(sip.NewHeader("Content-Type", "application/dtmf-relay"))
	req.SetBody(fmt.Appendf(nil, "Signal=%c\r\nDuration=160\r\n", key))
	res, err := c.Dialog.Do(ctx, req)
	if err != nil {
		return 0, err
	}
	return res.StatusCode, nil
}

// Speak sends frames of speech-like audio (PCMU), one every 20 ms as a
// phone does, and stops early when ctx is done.
func (c *Call) Speak(ctx context.Context, frames int) error {
	payload := make([]byte, media.FrameSamples)
	for i := range payload {
		payload[i] = g711.EncodeULaw(int16(3000 * (i%9 - 4)))
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := range frames {
		c.sendMu.Lock()
		c.ts += media.FrameSamples
		err := c.send(media.PayloadPCMU, payload, i == 0)
		c.sendMu.Unlock()
		if err != nil {
			select {
			case <-c.done:
				return nil // the call ended as it spoke
			default:
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.done:
			return nil // the call is over
		case <-tick.C:
		}
	}
	return nil
}

// SpeakSamples sends samples (8 kHz) as PCMU, a frame every 20 ms as a
// phone does, and stops early when ctx is done or the call ends.
func (c *Call) SpeakSamples(ctx context.Context, samples []int16) error {
	payload := make([]byte, media.FrameSamples)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i+media.FrameSamples <= len(samples); i += media.FrameSamples {
		media.Encode(media.PayloadPCMU, payload, samples[i:i+media.FrameSamples])
		c.sendMu.Lock()
		c.ts += media.FrameSamples
		err := c.send(media.PayloadPCMU, payload, i == 0)
		c.sendMu.Unlock()
		if err != nil {
			select {
			case <-c.done:
				return nil
			default:
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.done:
			return nil
		case <-tick.C:
		}
	}
	return nil
}

// send writes one RTP packet; sendMu is held.
func (c *Call) send(pt uint8, payload []byte, marker bool) error {
	if c.remote == nil {
		return errors.New("siptest: the call has no media")
	}
	c.seq++
	b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: c.seq, Timestamp: c.ts, SSRC: 0x5170, Marker: marker}, Payload: payload}).Marshal()
	if err != nil {
		return err
	}
	_, err = c.rtp.WriteTo(b, c.remote)
	return err
}
