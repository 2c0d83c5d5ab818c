package agents

import (
	"context"
	"errors"
	"math"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/callflow/callflow/telephony/dialog"
	"github.com/callflow/callflow/telephony/media"
	"github.com/callflow/callflow/telephony/session"
)

// Leg is the leg of an agent who answered: their phone's dialog and the
// RTP socket it sends to. It implements session.Leg.
type Leg struct {
	call     *Call
	user     string
	dlg      *dialog.Dialog
	conn     net.PacketConn
	sdp      *media.Session
	neg      media.Negotiated
	source   netip.Addr // the phone's signalling host, where its RTP may come from
	record   bool
	answered time.Time
	handler  *agentDialog // the phone's dialog's, from its INVITE on

	closeOnce sync.Once
}

var _ session.Leg = (*Leg)(nil)

// User is the agent's name.
func (l *Leg) User() string { return l.user }

// Bridge implements session.Leg: it relays the caller's and the agent's
// media until either hangs up, records the call from the agent's answer
// when the ring said so, and plays hold music to the caller while the
// agent's phone holds the call.
func (l *Leg) Bridge(ctx context.Context, caller session.Caller) error {
	host := l.call.host
	sources := []netip.Addr{l.neg.Remote.Addr()}
	if l.source.IsValid() {
		sources = append(sources, l.source)
	}
	stream := media.NewStream(l.conn, net.UDPAddrFromAddrPort(l.neg.Remote), l.neg.PayloadType, host.Sent)
	host.Pacer.Add(stream)
	defer func() {
		stream.Close()
		<-stream.Done()
	}()
	agent := media.Leg{Conn: l.conn, Stream: stream, Latch: media.NewLatch(l.neg.Remote, sources...), Codec: l.neg.PayloadType, DTMFType: l.neg.DTMFType}

	var opts media.BridgeOptions
	var rec Recorder
	if l.record && l.call.cfg.Record != nil {
		r, err := l.call.cfg.Record()
		if err != nil {
			// The call goes on unrecorded; whoever opened the recording
			// said why (a full storage plan, S7).
			l.call.log().Warn("bridged call not recorded", "user", l.user, "err", err)
		} else {
			rec, opts.Recorder = r, r
		}
	}
	br := media.NewBridge(caller, agent, opts)
	h := l.handler
	h.start(stream, agent.Latch, br, caller.Stream, l.neg)
	defer h.hold(false)

	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopAfter := context.AfterFunc(l.dlg.Context(), cancel) // the agent hung up
	defer stopAfter()
	stats, err := br.Run(bctx)
	if rec != nil {
		if stats.RecordErr != nil {
			l.call.log().Error("recording the bridged call", "err", stats.RecordErr)
		}
		if kerr := rec.Keep(); kerr != nil {
			l.call.log().Error("keeping the bridged call's recording", "err", kerr)
		}
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// Close implements session.Leg: it hangs the agent up if they are still
// on, frees the leg's socket, and frees the agent, whose queue's first
// caller is then handed them.
func (l *Leg) Close() {
	l.closeOnce.Do(func() {
		if l.dlg.Context().Err() == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			l.dlg.Bye(ctx)
			cancel()
		}
		l.dlg.Close()
		l.conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), storeDeadline)
		if err := l.call.cfg.Directory.Release(ctx, l.call.cfg.ID, l.user); err != nil {
			l.call.log().Error("agent's call not released", "user", l.user, "err", err)
		}
		cancel()
		l.call.host.Queues.Free(l.user)
	})
}

// agentDialog takes what the agent's phone sends in its dialog: a hold
// (sendonly or inactive) puts the caller on hold music, a resume brings
// them back; a new address moves the agent's media. It is the phone's
// handler from the INVITE on, so that an offer that comes before the
// bridge runs (right after the ACK) is answered, and applied when it
// starts.
type agentDialog struct {
	mu     *sync.Mutex // shared by the forks of a ring, which share sdp
	sdp    *media.Session
	stream *media.Stream // nil until the bridge starts
	latch  *media.Latch
	bridge *media.Bridge
	caller *media.Stream
	early  *media.Negotiated // an offer answered before the bridge started
	music  chan struct{}     // closed to stop the hold music; nil when none plays
	played chan struct{}     // closed when the music goroutine has ended
}

// start hands the handler the bridge, and applies what was negotiated
// last: the INVITE's answer, or an offer since.
func (a *agentDialog) start(stream *media.Stream, latch *media.Latch, br *media.Bridge, caller *media.Stream, answered media.Negotiated) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stream, a.latch, a.bridge, a.caller = stream, latch, br, caller
	n := answered
	if a.early != nil {
		n = *a.early
	}
	a.apply(n)
}

func (a *agentDialog) Offer(offer []byte) ([]byte, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(offer) == 0 {
		return a.sdp.Offer(), 0
	}
	answer, n, err := a.sdp.Answer(offer)
	if err != nil {
		return nil, 488
	}
	a.apply(n)
	return answer, 0
}

func (a *agentDialog) Answer(answer []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if n, err := a.sdp.ReadAnswer(answer); err == nil {
		a.apply(n)
	}
}

// Info: keys the agent sends by INFO are theirs, not the flow's.
func (a *agentDialog) Info(string, []byte) {}

// apply takes a new offer/answer of the agent's leg. Called with mu held.
func (a *agentDialog) apply(n media.Negotiated) {
	if a.bridge == nil {
		a.early = &n
		return
	}
	if a.latch.Offer(n.Remote) {
		a.stream.SetRemote(net.UDPAddrFromAddrPort(n.Remote))
	}
	a.stream.SetSending(n.Direction.Sends())
	// The agent's phone holds the call when we may no longer send to it
	// (it offered sendonly or inactive: we answer recvonly or inactive).
	a.holdLocked(!n.Direction.Sends())
}

func (a *agentDialog) hold(on bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.bridge != nil {
		a.holdLocked(on)
	}
}

// holdLocked puts the caller on hold music, or takes them off. Called
// with mu held.
func (a *agentDialog) holdLocked(on bool) {
	if on == (a.music != nil) {
		return
	}
	if !on {
		close(a.music)
		<-a.played
		a.music, a.played = nil, nil
		a.bridge.Hold(media.SideB, false)
		return
	}
	a.bridge.Hold(media.SideB, true)
	stop, played := make(chan struct{}), make(chan struct{})
	a.music, a.played = stop, played
	go func() {
		defer close(played)
		for {
			p := a.caller.Play(HoldMusic)
			select {
			case <-stop:
				p.Stop()
				return
			case <-p.Done():
			}
		}
	}()
}

// HoldMusic is what a caller hears while the agent holds the call: a slow
// arpeggio of soft sine tones, eight seconds long, played over and over.
var HoldMusic = func() []int16 {
	const rate = 8000
	notes := []float64{261.63, 329.63, 392.00, 523.25, 392.00, 329.63, 293.66, 349.23, 440.00, 587.33, 440.00, 349.23, 261.63, 329.63, 392.00, 329.63}
	per := rate / 2 // half a second a note
	out := make([]int16, len(notes)*per)
	for i, f := range notes {
		for j := range per {
			// A gentle attack and release, so that notes do not click.
			env := math.Min(1, math.Min(float64(j)/400, float64(per-j)/800))
			out[i*per+j] = int16(2500 * env * math.Sin(2*math.Pi*f*float64(j)/rate))
		}
	}
	return out
}()
