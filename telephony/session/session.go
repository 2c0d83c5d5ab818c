// Package session runs one call's flow over its RTP path: it drives the
// call's vm.Machine and performs each effect with real media — prompts
// played as 20 ms G.711 frames, keys read from RFC 4733 events (a key
// stops a prompt that may be interrupted), messages recorded from the
// caller's audio. SIP signalling is the server's; a session starts once
// the call is answered and ends when the flow hangs up or the caller does.
package session

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/callflow/callflow/telephony/media"
	"github.com/callflow/callflow/telephony/prompt"
	"github.com/callflow/callflow/vm"
)

// Session is one call's media and flow.
type Session struct {
	// Conn is the call's local RTP socket; Remote is where the caller's
	// RTP goes until their first packet says otherwise (symmetric RTP,
	// RFC 4961). The session reads and writes Conn but does not close it.
	Conn   net.PacketConn
	Remote *net.UDPAddr
	// Sources are the hosts the caller's first RTP packet may come from:
	// the SDP's address and the signalling's source (a caller behind NAT
	// sends from its router's address). Empty accepts any host. Once a
	// packet is taken, only its address, port and SSRC are.
	Sources []netip.Addr
	// Pacer sends the call's RTP.
	Pacer *media.Pacer
	// Codec is media.PayloadPCMU or media.PayloadPCMA; DTMFType is the
	// negotiated telephone-event payload type, 0 for none.
	Codec, DTMFType uint8
	// Prompt returns the prepared audio of a prompt constant.
	Prompt func(*vm.Const) (prompt.Audio, error)
	// Record opens a voicemail message, which the caller's audio is
	// written to as it arrives.
	Record func() (Recorder, error)
	// Hooks observe the machine: the billing meter, the call record.
	Hooks []vm.Hook
	// Keys, when set, is the session's channel of keys: the server sends
	// the keys that arrive by SIP INFO to it, and the session adds those
	// of RFC 4733 events. It should hold a few keys (16).
	Keys chan byte
	// Stopped is set by Run when a hook stopped the call: the hook's
	// error (vm.Machine.Err), such as credits running out.
	Stopped error
	// Sent and Received, when set, count the RTP packets sent to the
	// caller and received from them.
	Sent, Received *atomic.Int64
	// Tail is how long silence goes on after the flow's last prompt
	// before Run returns and the server hangs up, so that the caller's
	// jitter buffer plays the prompt out. 200 ms by default.
	Tail time.Duration
	// Agents rings people and keeps their queues; nil makes every
	// transfer unavailable (a server without a registrar).
	Agents Agents

	prog     *vm.Program
	leg      Leg    // the agent who answered, bridged once the machine hangs up as connected
	lastRung string // the user the last ring-user effect rang: its queue's

	keys   chan byte     // from RTP, and Keys
	stream *media.Stream // set once, under mu, by initStream

	latch *media.Latch // set with stream: which packets are the caller's (symmetric RTP)

	mu     sync.Mutex
	rec    Recorder // guarded by mu: the message being recorded, nil when none
	recErr error    // guarded by mu: the first error writing it
}

// Recorder is a voicemail message being recorded: the caller's audio is
// written to it as it arrives, so that a long message costs no memory.
type Recorder interface {
	// Write adds 8 kHz samples to the message.
	Write(samples []int16) error
	// Seconds is how long the message is so far.
	Seconds() float64
	// Keep ends the message and keeps it, within the storage plan: it
	// reports false when the plan had no room (S7), and the message is
	// gone.
	Keep() (bool, error)
	// Discard ends the message and throws it away.
	Discard()
}

// Agents rings people for a call, and keeps the queues of busy users.
type Agents interface {
	// Ring performs a ring effect (EffectRingUser, EffectRingGroup) and
	// returns its result. When a phone answered, leg is the agent's, and
	// the session bridges it to the caller once the machine hangs up as
	// connected; otherwise leg is nil. ctx ends when the caller hangs up:
	// Ring then stops ringing and returns.
	Ring(ctx context.Context, e vm.Effect) (vm.Result, Leg, error)
	// Queue puts the caller in user's queue (q is the state's queue
	// constant), unless it holds q.MaxWaiting callers already.
	Queue(user string, q *vm.Const) (w Waiter, full bool)
}

// Waiter is a caller's place in a queue.
type Waiter interface {
	// Ready is closed when the user is free and this caller is first.
	Ready() <-chan struct{}
	// Leave takes the caller out of the queue: to ring the user, once
	// Ready, or because the music ran out or the caller hung up.
	Leave()
}

// Leg is the leg of an agent who answered.
type Leg interface {
	// Bridge joins the caller to the agent until either hangs up or ctx
	// ends: it relays their media both ways and records the call when
	// the ring effect said so. ctx ends when the caller hangs up.
	Bridge(ctx context.Context, caller Caller) error
	// Close hangs the agent up if they are still on, and frees the leg.
	Close()
}

// Caller is the caller's media, handed to the bridge: the session reads
// nothing of its socket from then on. Its latch goes on learning from the
// caller's new offers (Renegotiate).
type Caller = media.Leg

// errHungUp ends an effect when the caller hangs up; Run resumes the
// machine with vm.ResultHungUp.
var errHungUp = errors.New("caller hung up")

// Run runs program p until the flow hangs up or ctx is cancelled (the
// caller hung up), and returns the final effect. RTP goes out every 20 ms
// from the start of Run to its end. It returns once every goroutine it
// started has finished.
func (s *Session) Run(ctx context.Context, p *vm.Program) (vm.Effect, error) {
	s.keys = s.Keys
	if s.keys == nil {
		s.keys = make(chan byte, 16)
	}
	s.initStream()
	pacer := s.Pacer
	if pacer == nil {
		pacer = &defaultPacer
	}
	pacer.Add(s.stream)
	recvCtx, stopRecv := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.receive(recvCtx) }()
	stopReading := func() {
		stopRecv()
		s.Conn.SetReadDeadline(time.Now()) // unblock the reader
		wg.Wait()
		s.Conn.SetReadDeadline(time.Time{})
	}
	defer func() {
		stopReading()
		if s.leg != nil {
			s.leg.Close()
		}
		s.stream.Close()
		<-s.stream.Done()
	}()
	s.prog = p
	var m vm.Machine
	if err := m.Init(p, s.Hooks); err != nil {
		return vm.Effect{}, err
	}
	for {
		e, err := m.Step()
		if err != nil {
			return e, err
		}
		if e.Kind == vm.EffectHangup {
			s.Stopped = m.Err()
			if e.Reason == vm.ReasonConnected && s.leg != nil {
				// The caller is the agent's from here: the bridge reads
				// the caller's media, and the call ends with either side.
				// Its ending stays connected whoever hangs up first.
				stopReading()
				return e, s.leg.Bridge(ctx, s.caller())
			}
			if e.Reason != vm.ReasonCallerHungUp {
				s.tail(ctx)
			}
			return e, nil
		}
		r, digit, err := s.perform(ctx, e)
		if errors.Is(err, errHungUp) {
			r, digit, err = vm.ResultHungUp, 0, nil
		}
		if err != nil {
			return e, err
		}
		if err := m.Resume(r, digit); err != nil {
			return e, fmt.Errorf("session: %w", err)
		}
	}
}

// defaultPacer serves sessions that name none.
var defaultPacer media.Pacer

func (s *Session) initStream() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stream == nil {
		s.stream = media.NewStream(s.Conn, s.Remote, s.Codec, s.Sent)
		s.latch = media.NewLatch(media.AddrPortOf(s.Remote), s.Sources...)
	}
}

// tail goes on sending silence for Tail, so that the prompt that ended
// the flow plays out before the server hangs up.
func (s *Session) tail(ctx context.Context) {
	d := s.Tail
	if d == 0 {
		d = 200 * time.Millisecond
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Renegotiate applies a new offer/answer of the call (a re-INVITE or an
// UPDATE): media goes to the new address until the caller's packets say
// otherwise, and stops while the caller holds the call. It is safe to
// call from any goroutine, before or during Run.
func (s *Session) Renegotiate(n media.Negotiated) {
	s.initStream()
	if s.latch.Offer(n.Remote) {
		// A new address: the caller moved, so the latch learns again.
		s.stream.SetRemote(net.UDPAddrFromAddrPort(n.Remote))
	}
	s.stream.SetSending(n.Direction.Sends())
}

// perform does one effect and returns its result.
func (s *Session) perform(ctx context.Context, e vm.Effect) (vm.Result, uint8, error) {
	switch e.Kind {
	case vm.EffectAnswer:
		return vm.ResultDone, 0, nil // the server answered before the session
	case vm.EffectPlay:
		audio, err := s.Prompt(e.Prompt)
		if err != nil {
			return 0, 0, err
		}
		_, err = s.play(ctx, audio, false)
		return vm.ResultDone, 0, err
	case vm.EffectGather:
		audio, err := s.Prompt(e.Prompt)
		if err != nil {
			return 0, 0, err
		}
		s.drainKeys()
		if k, err := s.play(ctx, audio, true); err != nil || k != 0 {
			return vm.ResultDigit, digitOf(k), err
		}
		k, err := s.waitKey(ctx, time.Duration(e.Timeout)*time.Second)
		if err != nil || k == 0 {
			return vm.ResultTimeout, 0, err
		}
		return vm.ResultDigit, digitOf(k), nil
	case vm.EffectRecord:
		return s.record(ctx, e)
	case vm.EffectRingUser, vm.EffectRingGroup:
		return s.ring(ctx, e)
	case vm.EffectQueue:
		return s.queue(ctx, e)
	}
	return 0, 0, fmt.Errorf("session: effect %s is not supported", e.Kind)
}

// ring rings a user or a group while the caller hears ringback.
func (s *Session) ring(ctx context.Context, e vm.Effect) (vm.Result, uint8, error) {
	if e.Kind == vm.EffectRingUser {
		s.lastRung = e.Target.Text
	}
	if s.Agents == nil {
		return vm.ResultUnavailable, 0, nil
	}
	r, leg, err := s.ringing(ctx, e)
	if r == vm.ResultAnswered && leg != nil {
		// Answered is answered, even as the caller hangs up: the call
		// ends connected (the bridge ends at once), with its agent.
		s.leg = leg
		return r, 0, nil
	}
	if leg != nil {
		leg.Close()
	}
	switch {
	case ctx.Err() != nil:
		return 0, 0, errHungUp
	case err != nil:
		return 0, 0, err
	case r == vm.ResultAnswered:
		return 0, 0, fmt.Errorf("session: %s answered without a leg", e.Target.Text)
	}
	return r, 0, nil
}

// ringing runs Agents.Ring while the caller hears ringback, over and
// over (ring_timeout may be longer than Ringback is).
func (s *Session) ringing(ctx context.Context, e vm.Effect) (vm.Result, Leg, error) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			p := s.stream.Play(Ringback)
			select {
			case <-done:
				p.Stop()
				return
			case <-p.Done():
			}
		}
	}()
	defer func() { close(done); <-stopped }()
	return s.Agents.Ring(ctx, e)
}

// queue waits in the queue of the user last rung: the caller hears the
// announcement, then the music, q.Repeat times. The user's turning free
// while the caller is first ends the wait as available; the music's end,
// as a time-out.
func (s *Session) queue(ctx context.Context, e vm.Effect) (vm.Result, uint8, error) {
	if s.Agents == nil {
		return vm.ResultTimeout, 0, nil
	}
	q := e.Target
	w, full := s.Agents.Queue(s.lastRung, q)
	if full {
		return vm.ResultFull, 0, nil
	}
	defer w.Leave()
	// Exactly what inspect counts (compiler/bounds.go): the announcement,
	// then the music × repeat; no music, no wait beyond the announcement.
	var parts []*vm.Const
	if q.Announcement != vm.NoPrompt {
		parts = append(parts, &s.prog.Consts[q.Announcement])
	}
	if q.Text != "" {
		for range q.Repeat {
			parts = append(parts, q)
		}
	}
	for _, c := range parts {
		audio, err := s.Prompt(c)
		if err != nil {
			return 0, 0, err
		}
		p := s.stream.Play(audio.Samples)
		select {
		case <-ctx.Done():
			p.Stop()
			return 0, 0, errHungUp
		case <-w.Ready():
			p.Stop()
			return vm.ResultAvailable, 0, nil
		case <-p.Done():
		}
	}
	// The music is over; the user may have turned free as it ended.
	select {
	case <-w.Ready():
		return vm.ResultAvailable, 0, nil
	default:
	}
	return vm.ResultTimeout, 0, nil
}

// caller is the caller's media as the bridge takes it over.
func (s *Session) caller() Caller {
	return Caller{Conn: s.Conn, Stream: s.stream, Latch: s.latch, Codec: s.Codec, DTMFType: s.DTMFType}
}

// digitOf maps a key to the VM's digit; # is not a menu key and reads
// as no key.
func digitOf(k byte) uint8 {
	if k == '*' {
		return vm.DigitStar
	}
	return k - '0'
}

// play plays audio and waits for it to end. When interruptible, a menu
// key (0–9, *) stops it and is returned; other keys are dropped.
func (s *Session) play(ctx context.Context, a prompt.Audio, interruptible bool) (byte, error) {
	p := s.stream.Play(a.Samples)
	for {
		select {
		case <-ctx.Done():
			p.Stop()
			return 0, errHungUp
		case k := <-s.keys:
			if interruptible && k != '#' {
				p.Stop()
				return k, nil
			}
		case <-p.Done():
			return 0, nil
		}
	}
}

// waitKey waits up to d for a key; it returns 0 when none came.
func (s *Session) waitKey(ctx context.Context, d time.Duration) (byte, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return 0, errHungUp
		case k := <-s.keys:
			if k != '#' {
				return k, nil
			}
		case <-t.C:
			return 0, nil
		}
	}
}

func (s *Session) drainKeys() {
	for {
		select {
		case <-s.keys:
		default:
			return
		}
	}
}

// record plays the prompt and a beep, then writes the caller's audio to
// a message until #, the maximum length, or the state's time limit (S22).
func (s *Session) record(ctx context.Context, e vm.Effect) (vm.Result, uint8, error) {
	deadline := time.NewTimer(time.Duration(e.Timeout) * time.Second)
	defer deadline.Stop()
	if e.Prompt != nil {
		audio, err := s.Prompt(e.Prompt)
		if err != nil {
			return 0, 0, err
		}
		if _, err := s.play(ctx, audio, false); err != nil {
			return 0, 0, err
		}
	}
	if _, err := s.play(ctx, Beep, false); err != nil {
		return 0, 0, err
	}
	s.drainKeys()
	rec, err := s.Record()
	if err != nil {
		return 0, 0, err
	}
	s.mu.Lock()
	s.rec, s.recErr = rec, nil
	s.mu.Unlock()
	// stop ends the recording and returns the message, or nil when the
	// caller said nothing, or writing it failed.
	stop := func() (Recorder, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.rec = nil
		if s.recErr != nil {
			rec.Discard()
			return nil, s.recErr
		}
		if rec.Seconds() == 0 {
			rec.Discard()
			return nil, nil
		}
		return rec, nil
	}
	maxLen := time.NewTimer(time.Duration(e.MaxLength) * time.Second)
	defer maxLen.Stop()
	for {
		select {
		case <-ctx.Done():
			// A caller who hangs up after speaking has left a message.
			if msg, _ := stop(); msg != nil {
				msg.Keep()
			}
			return 0, 0, errHungUp
		case <-deadline.C:
			if msg, _ := stop(); msg != nil {
				msg.Discard()
			}
			return vm.ResultTimeout, 0, nil
		case k := <-s.keys:
			if k != '#' {
				continue
			}
		case <-maxLen.C:
		}
		msg, err := stop()
		if err != nil {
			return 0, 0, fmt.Errorf("recording the message: %w", err)
		}
		if msg == nil {
			return vm.ResultTimeout, 0, nil // nothing said: as silent as a time-out
		}
		saved, err := msg.Keep()
		if err != nil {
			return 0, 0, err
		}
		if !saved {
			return vm.ResultNotSaved, 0, nil
		}
		return vm.ResultSaved, 0, nil
	}
}

// receive reads the caller's RTP: keys from telephone events, audio into
// the message while one is recorded. It ends when ctx is done.
func (s *Session) receive(ctx context.Context) {
	var dtmf media.DTMFReceiver
	buf := make([]byte, 1500)
	samples := make([]int16, 1500)
	for ctx.Err() == nil {
		n, from, err := s.Conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		var p rtp.Packet
		if p.Unmarshal(buf[:n]) != nil {
			continue // not RTP: ignored, as hostile input must be
		}
		if p.PayloadType != s.Codec && (s.DTMFType == 0 || p.PayloadType != s.DTMFType) {
			continue // nothing we negotiated
		}
		stream := 0
		if p.PayloadType != s.Codec {
			stream = 1
		}
		if !s.admit(media.AddrPortOf(from), stream, p.SSRC) {
			continue // not the caller: nobody else presses keys or speaks
		}
		if s.Received != nil {
			s.Received.Add(1)
		}
		switch {
		case s.DTMFType != 0 && p.PayloadType == s.DTMFType:
			if k, ok := dtmf.Receive(p.Timestamp, p.Payload); ok {
				s.key(k)
			}
		case p.PayloadType == s.Codec:
			s.mu.Lock()
			if s.rec != nil && s.recErr == nil {
				media.Decode(s.Codec, samples[:len(p.Payload)], p.Payload)
				s.recErr = s.rec.Write(samples[:len(p.Payload)])
			}
			s.mu.Unlock()
		}
	}
}

// admit decides whether a packet of stream (0 audio, 1 events) from src
// with ssrc is the caller's (symmetric RTP, RFC 4961, media.Latch); the
// packet that latches the call sends its media back to src.
func (s *Session) admit(src netip.AddrPort, stream int, ssrc uint32) bool {
	ok, latched := s.latch.Admit(src, media.StreamKind(stream), ssrc)
	if latched {
		if cur := s.stream.Remote(); cur == nil || media.AddrPortOf(cur) != src {
			s.stream.SetRemote(net.UDPAddrFromAddrPort(src))
		}
	}
	return ok
}

func (s *Session) key(k byte) {
	select {
	case s.keys <- k:
	default: // sixteen keys not yet read: the caller is pressing at random
	}
}

// Ringback is what a caller hears while a transfer rings: the North
// American ringback cadence, 440 Hz and 480 Hz together for 2 s, then 4 s
// of silence, ten times over: a minute.
var Ringback = func() []int16 {
	const period = 6 * prompt.Rate
	out := make([]int16, 10*period)
	for i := range out {
		if i%period < 2*prompt.Rate {
			t := float64(i) / prompt.Rate
			out[i] = int16(3000 * (math.Sin(2*math.Pi*440*t) + math.Sin(2*math.Pi*480*t)))
		}
	}
	return out
}()

// Beep is the tone before a voicemail message: 1 kHz for half a second.
var Beep = func() prompt.Audio {
	a := prompt.Audio{Samples: make([]int16, prompt.Rate/2)}
	for i := range a.Samples {
		// One cycle of a sine is 8 samples at 8 kHz: a 1 kHz tone from a
		// table, free of floating point.
		a.Samples[i] = [8]int16{0, 5792, 8192, 5792, 0, -5792, -8192, -5792}[i%8]
	}
	return a
}()
