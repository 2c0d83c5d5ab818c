package media

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Leg is one side of a bridged call, as the bridge sees it: the leg's
// local RTP socket, which the bridge reads (and nobody else may, while
// Run runs), the Stream that sends to the leg, which the bridge relays
// the other leg's media into, the leg's symmetric-RTP latch, and what
// its SDP negotiated. The bridge closes none of them.
//
// Signalling may go on while the bridge runs: a re-INVITE's new address
// goes to Latch.Offer (and, when it is new, Stream.SetRemote), its
// direction to Stream.SetSending, an agent's hold to Bridge.Hold. The
// codecs are fixed for the bridge's life: a re-INVITE that changes one
// needs a new Bridge.
type Leg struct {
	Conn   net.PacketConn
	Stream *Stream
	Latch  *Latch
	// Codec is PayloadPCMU or PayloadPCMA; DTMFType is the leg's
	// telephone-event payload type, 0 when it negotiated none.
	Codec, DTMFType uint8
}

// Side names a leg of a bridge: SideA is the caller's, SideB the
// agent's. They are the recording's first and second channels.
type Side uint8

const (
	SideA Side = iota
	SideB
)

func (s Side) other() Side { return 1 - s }

// BridgeRecorder takes each leg's audio, decoded, as it arrives: the
// Recorder of a two-channel WAV file is one. Write is called from the
// leg's reader goroutine (so the two sides' calls may run at once) with
// the packet's RTP timestamp and arrival time; samples is reused after
// Write returns. Write must not block for long: the leg's packets wait
// for it. After an error the bridge records nothing more of the call
// and goes on relaying.
type BridgeRecorder interface {
	Write(side Side, timestamp uint32, samples []int16, at time.Time) error
}

// BridgeOptions are a bridge's optional parts.
type BridgeOptions struct {
	// Recorder, when set, records both legs' audio. Close it after Run
	// has returned: a Write after its Close is an error, which stops the
	// recording (BridgeStats.RecordErr).
	Recorder BridgeRecorder
}

// LegStats counts the packets that came from one leg.
type LegStats struct {
	In       int64 // taken from the leg: negotiated, and from the latched source
	Events   int64 // of In, telephone events
	Relayed  int64 // of In, sent on to the other leg
	Held     int64 // of In, not relayed because the leg held
	Dropped  int64 // of In, not relayed: the other leg has no telephone events, is on hold, or a send failed
	Rejected int64 // not taken: not RTP, not negotiated, or not the leg's source
}

// BridgeStats is what a bridge did, by the leg the packets came from.
type BridgeStats struct {
	A, B LegStats
	// RecordErr is the recorder's first error, after which nothing more
	// was recorded.
	RecordErr error
}

// Bridge relays a two-party call's media between its legs: each leg's
// packets, admitted by its latch, go out at once on the other leg's
// Stream, converted PCMU↔PCMA when the legs' codecs differ; telephone
// events go across with the other leg's payload type, or are dropped
// when it negotiated none. It also feeds an optional recorder. Make it
// with NewBridge, run it with Run; Hold and Stats may be called from
// any goroutine.
type Bridge struct {
	legs [2]Leg
	rec  BridgeRecorder

	hold    [2]atomic.Bool // by side: the side holds, nothing of it is relayed
	counts  [2]legCounters
	recErr  atomic.Pointer[error]
	mu      sync.Mutex // orders Hold against Run's start and end
	running bool       // guarded by mu
	ran     bool       // guarded by mu: Run was called
}

type legCounters struct {
	in, events, relayed, held, dropped, rejected atomic.Int64
}

// NewBridge makes the bridge of legs a (the caller's) and b (the
// agent's).
func NewBridge(a, b Leg, opts BridgeOptions) *Bridge {
	return &Bridge{legs: [2]Leg{a, b}, rec: opts.Recorder}
}

// ErrBridgeRan is returned by a second call of Run.
var ErrBridgeRan = errors.New("media: a bridge runs once")

// Run relays until ctx is done or reading a leg's socket fails, and
// returns what it did. It reads leg a's Conn in the calling goroutine
// and leg b's in one it starts, and returns only once that one has
// ended; it leaves the sockets' read deadlines unset. From its start to its end both Streams relay
// (StartRelay), but for a held side's other leg; when it returns, they
// are the pacer's again (StopRelay), so that what the call plays next
// continues their timestamps. The error is the reading error, or nil
// when ctx ended the bridge.
func (br *Bridge) Run(ctx context.Context) (BridgeStats, error) {
	for _, l := range br.legs {
		if l.Conn == nil || l.Stream == nil || l.Latch == nil {
			return br.Stats(), errors.New("media: a bridged leg needs its Conn, Stream and Latch")
		}
	}
	br.mu.Lock()
	if br.ran {
		br.mu.Unlock()
		return br.Stats(), ErrBridgeRan
	}
	br.ran, br.running = true, true
	for side := range br.legs {
		if !br.hold[Side(side).other()].Load() {
			br.legs[side].Stream.StartRelay()
		}
	}
	br.mu.Unlock()

	// Leg a is read in Run's goroutine and leg b in one of its own, so a
	// bridged call costs one goroutine besides its caller's. When ctx is
	// done, or a reader fails, a past read deadline unblocks both.
	ctx, cancel := context.WithCancel(ctx)
	unblocked := make(chan struct{})
	stopUnblock := context.AfterFunc(ctx, func() {
		defer close(unblocked)
		for _, l := range br.legs {
			l.Conn.SetReadDeadline(time.Now())
		}
	})
	var errs [2]error
	var wg sync.WaitGroup
	wg.Go(func() {
		if errs[SideB] = br.read(ctx, SideB); errs[SideB] != nil {
			cancel()
		}
	})
	errs[SideA] = br.read(ctx, SideA)
	cancel()
	wg.Wait()
	if !stopUnblock() {
		<-unblocked
	}
	for _, l := range br.legs {
		l.Conn.SetReadDeadline(time.Time{})
	}

	br.mu.Lock()
	br.running = false
	for _, l := range br.legs {
		l.Stream.StopRelay()
	}
	br.mu.Unlock()
	return br.Stats(), errors.Join(errs[0], errs[1])
}

// Hold puts side on hold (on) or takes it off. While a side holds,
// nothing of it is relayed, and the other leg's Stream is the pacer's:
// what it plays (music, by Stream.Play) or silence goes to the other
// leg, continuing the stream's timestamps. Taking the hold off relays
// again at once and ends what the other leg's Stream played, as
// stopped. Hold may be called before Run (the bridge starts held) and
// after it (it changes nothing).
func (br *Bridge) Hold(side Side, on bool) {
	br.mu.Lock()
	defer br.mu.Unlock()
	if br.hold[side].Swap(on) == on || !br.running {
		return
	}
	other := br.legs[side.other()].Stream
	if on {
		other.StopRelay()
	} else {
		other.StartRelay()
	}
}

// Stats is what the bridge has done so far.
func (br *Bridge) Stats() BridgeStats {
	var st BridgeStats
	for side, p := range []*LegStats{&st.A, &st.B} {
		c := &br.counts[side]
		*p = LegStats{
			In: c.in.Load(), Events: c.events.Load(), Relayed: c.relayed.Load(),
			Held: c.held.Load(), Dropped: c.dropped.Load(), Rejected: c.rejected.Load(),
		}
	}
	if err := br.recErr.Load(); err != nil {
		st.RecordErr = *err
	}
	return st
}

// addrPortReader is *net.UDPConn's allocation-free read.
type addrPortReader interface {
	ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error)
}

// read relays side's packets until ctx is done, and returns the error
// that stopped reading, if not ctx. It allocates nothing a packet.
func (br *Bridge) read(ctx context.Context, side Side) error {
	leg, to := &br.legs[side], &br.legs[side.other()]
	c := &br.counts[side]
	buf := make([]byte, 1500)
	var converted []byte // only when the legs' codecs differ
	if leg.Codec != to.Codec {
		converted = make([]byte, 1500)
	}
	var samples []int16 // only when recording
	if br.rec != nil {
		samples = make([]int16, 1500)
	}
	fast, _ := leg.Conn.(addrPortReader)
	for {
		var (
			n   int
			src netip.AddrPort
			err error
		)
		if fast != nil {
			n, src, err = fast.ReadFromUDPAddrPort(buf)
			src = unmap(src)
		} else {
			var from net.Addr
			n, from, err = leg.Conn.ReadFrom(buf)
			src = AddrPortOf(from)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return err
		}
		h, payload, ok := parseRTP(buf[:n])
		if !ok {
			c.rejected.Add(1)
			continue // not RTP: ignored, as hostile input must be
		}
		kind := KindAudio
		switch {
		case h.PayloadType == leg.Codec:
		case leg.DTMFType != 0 && h.PayloadType == leg.DTMFType:
			kind = KindEvents
		default:
			c.rejected.Add(1)
			continue // nothing the leg negotiated
		}
		admitted, latched := leg.Latch.Admit(src, kind, h.SSRC)
		if !admitted {
			c.rejected.Add(1)
			continue // not the leg's phone
		}
		if latched {
			if cur := leg.Stream.Remote(); cur == nil || AddrPortOf(cur) != src {
				leg.Stream.SetRemote(net.UDPAddrFromAddrPort(src))
			}
		}
		c.in.Add(1)
		p := RelayPacket{Payload: payload, Timestamp: h.Timestamp, Marker: h.Marker}
		if kind == KindAudio {
			if br.rec != nil && br.recErr.Load() == nil {
				s := samples[:len(payload)]
				Decode(leg.Codec, s, payload)
				if err := br.rec.Write(side, h.Timestamp, s, time.Now()); err != nil {
					first := err // its own variable: &err would move err to the heap for every packet
					br.recErr.CompareAndSwap(nil, &first)
				}
			}
			p.PayloadType = to.Codec
			if to.Codec != leg.Codec {
				Transcode(leg.Codec, to.Codec, converted, payload)
				p.Payload = converted[:len(payload)]
			}
		} else {
			c.events.Add(1)
			if to.DTMFType == 0 {
				c.dropped.Add(1)
				continue // the other phone takes no events; SIP INFO is the session's
			}
			p.PayloadType, p.Event = to.DTMFType, true
		}
		if br.hold[side].Load() {
			c.held.Add(1)
			continue
		}
		if sent, _ := to.Stream.Relay(p); sent {
			c.relayed.Add(1)
		} else {
			c.dropped.Add(1) // a failed send is the Stream's Err
		}
	}
}
