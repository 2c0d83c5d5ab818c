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
	"net"
	"net/netip"
	"slices"
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

	keys   chan byte     // from RTP, and Keys
	stream *media.Stream // set once, under mu, by initStream

	mu      sync.Mutex
	rec     Recorder       // guarded by mu: the message being recorded, nil when none
	recErr  error          // guarded by mu: the first error writing it
	latch   latch          // guarded by mu
	offered netip.AddrPort // guarded by mu: the address the SDP gave
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

// latch is symmetric RTP's state: which source the caller's media comes
// from, once a packet has come, and the SSRC of each of its streams (its
// audio, and its telephone events, which some senders number apart).
type latch struct {
	locked bool
	from   netip.AddrPort
	ssrc   [2]uint32 // audio, events
	known  [2]bool
}

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
	defer func() {
		stopRecv()
		s.Conn.SetReadDeadline(time.Now()) // unblock the reader
		wg.Wait()
		s.Conn.SetReadDeadline(time.Time{})
		s.stream.Close()
		<-s.stream.Done()
	}()
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
		s.offered = addrPortOf(s.Remote)
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if n.Remote != s.offered && n.Remote.Addr().IsValid() && !n.Remote.Addr().IsUnspecified() {
		// A new address: the caller moved, so the latch learns again.
		s.offered = n.Remote
		s.latch = latch{}
		s.stream.SetRemote(net.UDPAddrFromAddrPort(n.Remote))
		if len(s.Sources) > 0 && !slices.Contains(s.Sources, n.Remote.Addr()) {
			s.Sources = append(slices.Clip(s.Sources), n.Remote.Addr())
		}
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
		// No phone is registered yet: agents arrive with the agent issue.
		return vm.ResultUnavailable, 0, nil
	case vm.EffectQueue:
		return vm.ResultTimeout, 0, nil
	}
	return 0, 0, fmt.Errorf("session: effect %s is not supported", e.Kind)
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
		if !s.admit(addrPortOf(from), stream, p.SSRC) {
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
// with ssrc is the caller's (symmetric RTP, RFC 4961): the first packet
// from one of the Sources latches the call to its address and port, and
// media goes back there from then on; the first packet of each stream
// fixes that stream's SSRC.
func (s *Session) admit(src netip.AddrPort, stream int, ssrc uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := &s.latch
	if l.locked {
		if l.from != src {
			return false
		}
		if !l.known[stream] {
			l.ssrc[stream], l.known[stream] = ssrc, true
		}
		return l.ssrc[stream] == ssrc
	}
	if len(s.Sources) > 0 && !slices.Contains(s.Sources, src.Addr()) {
		return false
	}
	*l = latch{locked: true, from: src}
	l.ssrc[stream], l.known[stream] = ssrc, true
	if cur := s.stream.Remote(); cur == nil || addrPortOf(cur) != src {
		s.stream.SetRemote(net.UDPAddrFromAddrPort(src))
	}
	return true
}

// addrPortOf is a UDP address as an AddrPort, unmapped.
func addrPortOf(a net.Addr) netip.AddrPort {
	if u, ok := a.(*net.UDPAddr); ok {
		ap := u.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

func (s *Session) key(k byte) {
	select {
	case s.keys <- k:
	default: // sixteen keys not yet read: the caller is pressing at random
	}
}

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
