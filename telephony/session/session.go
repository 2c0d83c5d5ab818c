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
	// RTP goes. The session reads and writes Conn but does not close it.
	Conn   net.PacketConn
	Remote net.Addr
	// Codec is media.PayloadPCMU or media.PayloadPCMA; DTMFType is the
	// negotiated telephone-event payload type, 0 for none.
	Codec, DTMFType uint8
	// Prompt returns the prepared audio of a prompt constant.
	Prompt func(*vm.Const) (prompt.Audio, error)
	// Save keeps a voicemail message and reports whether it was kept (the
	// storage plan may be full, S7).
	Save func(prompt.Audio) (bool, error)
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

	keys      chan byte // from RTP, and Keys
	mu        sync.Mutex
	recording []int16 // the caller's audio, while a message is recorded
	capture   bool
	sender    *media.Sender
	packet    [1500]byte // the RTP packet being sent
}

// errHungUp ends an effect when the caller hangs up; Run resumes the
// machine with vm.ResultHungUp.
var errHungUp = errors.New("caller hung up")

// Run runs program p until the flow hangs up or ctx is cancelled (the
// caller hung up), and returns the final effect. It returns once every
// goroutine it started has finished.
func (s *Session) Run(ctx context.Context, p *vm.Program) (vm.Effect, error) {
	s.keys = s.Keys
	if s.keys == nil {
		s.keys = make(chan byte, 16)
	}
	s.sender = media.NewSender(s.Codec)
	recvCtx, stopRecv := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.receive(recvCtx) }()
	defer func() {
		stopRecv()
		s.Conn.SetReadDeadline(time.Now()) // unblock the reader
		wg.Wait()
		s.Conn.SetReadDeadline(time.Time{})
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

// pacer sends every session's prompts, frame by frame (see media.Pacer).
var pacer media.Pacer

// play sends audio as 20 ms frames in real time. When interruptible, a
// menu key (0–9, *) stops it and is returned; other keys are dropped.
func (s *Session) play(ctx context.Context, a prompt.Audio, interruptible bool) (byte, error) {
	s.sender.Spurt()
	p := &media.Playback{Samples: a.Samples, Codec: s.Codec, Send: s.send}
	pacer.Start(p)
	stop := func() { p.Stop(); <-p.Done() } // after Done, the sender is the session's again
	for {
		select {
		case <-ctx.Done():
			stop()
			return 0, errHungUp
		case k := <-s.keys:
			if interruptible && k != '#' {
				stop()
				return k, nil
			}
		case <-p.Done():
			return 0, p.Err()
		}
	}
}

func (s *Session) send(payload []byte, samples int) error {
	n, err := s.sender.MarshalFrame(s.packet[:], payload, samples)
	if err != nil {
		return err
	}
	_, err = s.Conn.WriteTo(s.packet[:n], s.Remote)
	if err == nil && s.Sent != nil {
		s.Sent.Add(1)
	}
	return err
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

// record plays the prompt and a beep, then keeps the caller's audio until
// #, the maximum length, or the state's time limit (S22).
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
	s.mu.Lock()
	s.recording, s.capture = s.recording[:0], true
	s.mu.Unlock()
	stop := func() prompt.Audio {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.capture = false
		return prompt.Audio{Samples: append([]int16(nil), s.recording...)}
	}
	maxLen := time.NewTimer(time.Duration(e.MaxLength) * time.Second)
	defer maxLen.Stop()
	for {
		select {
		case <-ctx.Done():
			// A caller who hangs up after speaking has left a message.
			msg := stop()
			if len(msg.Samples) > 0 {
				s.Save(msg)
			}
			return 0, 0, errHungUp
		case <-deadline.C:
			stop()
			return vm.ResultTimeout, 0, nil
		case k := <-s.keys:
			if k != '#' {
				continue
			}
		case <-maxLen.C:
		}
		msg := stop()
		if len(msg.Samples) == 0 {
			return vm.ResultTimeout, 0, nil // nothing said: as silent as a time-out
		}
		saved, err := s.Save(msg)
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
// the recording while one is made. It ends when ctx is done.
func (s *Session) receive(ctx context.Context) {
	var dtmf media.DTMFReceiver
	buf := make([]byte, 1500)
	samples := make([]int16, 1500)
	caller := hostOf(s.Remote)
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
		if caller.IsValid() && hostOf(from) != caller {
			continue // not from the caller's host: nobody else presses keys or speaks
		}
		var p rtp.Packet
		if p.Unmarshal(buf[:n]) != nil {
			continue // not RTP: ignored, as hostile input must be
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
			if s.capture && len(s.recording) < maxRecording {
				media.Decode(s.Codec, samples[:len(p.Payload)], p.Payload)
				s.recording = append(s.recording, samples[:len(p.Payload)]...)
			}
			s.mu.Unlock()
		}
	}
}

// hostOf is the IP address of a UDP address, unmapped, or the zero Addr.
func hostOf(a net.Addr) netip.Addr {
	if u, ok := a.(*net.UDPAddr); ok {
		if ip, ok := netip.AddrFromSlice(u.IP); ok {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
}

// maxRecording bounds a message: two minutes, and a little more.
const maxRecording = 130 * prompt.Rate

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
