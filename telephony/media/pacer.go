package media

import (
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callflow/callflow/internal/g711"
)

// FrameInterval is the time between two frames of media: 20 ms.
const FrameInterval = 20 * time.Millisecond

// A Pacer sends the RTP of many calls every 20 ms from a few goroutines,
// one per shard, so that a call costs no timer and no wake-up of its own:
// at a few thousand calls, a timer per call is a fifth of a server's
// work. A shard's goroutine runs only while it has streams; Close waits
// for them. The zero Pacer is ready to use.
type Pacer struct {
	once   sync.Once
	shards []*shard
	next   atomic.Uint32
	wg     sync.WaitGroup // the shards' goroutines
}

// A Stream is one call's outgoing RTP, from the moment it is answered to
// its end: a frame every 20 ms, of the prompt that plays or of silence
// between prompts, while waiting for a key and while recording, so that
// the caller (and every carrier and phone that hangs up on silent lines)
// always hears the call. Its timestamps follow the clock: a tick the
// pacer misses leaves a gap in time, never a burst of packets.
//
// While the call is bridged, the stream relays the other leg's media
// instead (StartRelay, Relay, StopRelay in stream_relay.go): the same
// SSRC, sequence numbers and clock, so the phone hears one stream.
//
// Create it with NewStream, start it with Pacer.Add, and end it with
// Close. Its methods are safe for concurrent use.
type Stream struct {
	conn   net.PacketConn
	codec  uint8
	sent   *atomic.Int64 // counts the packets sent, when set
	remote atomic.Pointer[net.UDPAddr]
	// sending is false while the call's direction is recvonly or
	// inactive (the caller put us on hold): time goes on, nothing is sent.
	sending atomic.Bool

	mu      sync.Mutex
	play    *Playback     // guarded by mu: the prompt playing, nil for silence
	closed  bool          // guarded by mu
	done    chan struct{} // closed when the pacer has let go of the stream
	err     error         // guarded by mu: why sending failed
	tick    int64         // used by the pacer only: the last tick sent
	started bool          // used by the pacer only
	payload [FrameSamples]byte
	silence [FrameSamples]byte

	// relaying is set while the stream relays (StartRelay): the pacer
	// sends nothing and leaves the playback alone. It is written under
	// send and read without it by the pacer's first look.
	relaying atomic.Bool
	ended    atomic.Bool // set by Close: Relay sends nothing more

	// send serialises the packets that leave the stream, the pacer's and
	// the relay's, so that sequence numbers leave in order; it is held
	// across the write. Never taken with mu held.
	send    sync.Mutex
	sender  *Sender                 // guarded by send
	packet  [12 + FrameSamples]byte // guarded by send: the pacer's packet
	relay   relayState              // guarded by send
	relayed [1500]byte              // guarded by send: the relay's packet
}

// NewStream makes the stream of a call whose RTP leaves from conn to
// remote, in codec (PCMU or PCMA). sent, when not nil, counts its
// packets.
func NewStream(conn net.PacketConn, remote *net.UDPAddr, codec uint8, sent *atomic.Int64) *Stream {
	s := &Stream{conn: conn, codec: codec, sent: sent, sender: NewSender(codec), done: make(chan struct{})}
	s.remote.Store(remote)
	s.sending.Store(true)
	silence := g711.EncodeULaw(0)
	if codec == PayloadPCMA {
		silence = g711.EncodeALaw(0)
	}
	for i := range s.silence {
		s.silence[i] = silence
	}
	return s
}

// SetRemote sends the stream's packets to addr from the next frame on.
func (s *Stream) SetRemote(addr *net.UDPAddr) { s.remote.Store(addr) }

// Remote is where the stream's packets go.
func (s *Stream) Remote() *net.UDPAddr { return s.remote.Load() }

// SetSending starts or stops sending (hold and resume); time goes on
// either way.
func (s *Stream) SetSending(on bool) { s.sending.Store(on) }

// Play starts playing samples at the next frame, in place of whatever
// played (which ends as stopped). The last frame is padded with silence.
// The playback's Done is closed a frame after its last frame was sent,
// once that frame has had its time to play.
func (s *Stream) Play(samples []int16) *Playback {
	p := &Playback{samples: samples, done: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		close(p.done)
		return p
	}
	if s.play != nil {
		s.play.finish()
	}
	s.play = p
	return p
}

// Close ends the stream; its Done is closed once the pacer has let go of
// it (within a frame), and whatever plays ends as stopped.
func (s *Stream) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.ended.Store(true)
	if s.play != nil {
		s.play.finish()
		s.play = nil
	}
}

// Done is closed once the pacer sends nothing more for the stream.
func (s *Stream) Done() <-chan struct{} { return s.done }

// Err is why sending failed, if it did; the stream keeps trying every
// frame (a route that comes back brings the call back).
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Playback is one prompt played by a Stream.
type Playback struct {
	samples []int16
	off     int // used by the pacer only
	once    sync.Once
	done    chan struct{}
}

// Done is closed when the playback has ended: played out, or replaced,
// or stopped.
func (p *Playback) Done() <-chan struct{} { return p.done }

// Stop ends the playback; the stream goes on with silence.
func (p *Playback) Stop() { p.finish() }

func (p *Playback) finish() { p.once.Do(func() { close(p.done) }) }

type shard struct {
	mu      sync.Mutex
	streams []*Stream // guarded by mu
	running bool      // guarded by mu: a goroutine is ticking for streams
	closing bool      // guarded by mu: the pacer is closing; no goroutine starts
	epoch   time.Time // guarded by mu: when the running goroutine started
}

// Add starts sending s: its first frame goes out at its shard's next tick.
func (pc *Pacer) Add(s *Stream) {
	pc.once.Do(func() {
		pc.shards = make([]*shard, runtime.GOMAXPROCS(0))
		for i := range pc.shards {
			pc.shards[i] = &shard{}
		}
	})
	sh := pc.shards[pc.next.Add(1)%uint32(len(pc.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.closing {
		s.Close()
		close(s.done)
		return
	}
	sh.streams = append(sh.streams, s)
	if !sh.running {
		sh.running = true
		sh.epoch = time.Now()
		pc.wg.Add(1)
		go func() { defer pc.wg.Done(); sh.run() }()
	}
}

// Close ends every stream and waits for the pacer's goroutines to end.
func (pc *Pacer) Close() {
	pc.once.Do(func() {})
	for _, sh := range pc.shards {
		sh.mu.Lock()
		sh.closing = true
		for _, s := range sh.streams {
			s.Close()
		}
		sh.mu.Unlock()
	}
	pc.wg.Wait()
}

// run sends a frame of every stream each tick until none is left. It
// sends without holding the shard's lock, so that an Add never waits for
// a tick's sending; streams added meanwhile join the next tick.
func (sh *shard) run() {
	tick := time.NewTicker(FrameInterval)
	defer tick.Stop()
	var streams []*Stream
	for now := range tick.C {
		sh.mu.Lock()
		streams = append(streams[:0], sh.streams...)
		n := int64(now.Sub(sh.epoch) / FrameInterval)
		sh.mu.Unlock()
		var ended []*Stream
		for _, s := range streams {
			if !s.frame(n) {
				ended = append(ended, s)
			}
		}
		sh.mu.Lock()
		if len(ended) > 0 {
			kept := sh.streams[:0]
			for _, s := range sh.streams {
				if !contains(ended, s) {
					kept = append(kept, s)
				}
			}
			clear(sh.streams[len(kept):])
			sh.streams = kept
			for _, s := range ended {
				close(s.done)
			}
		}
		if len(sh.streams) == 0 {
			sh.running = false
			sh.mu.Unlock()
			return
		}
		sh.mu.Unlock()
	}
}

func contains(ss []*Stream, s *Stream) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// frame sends s's frame for tick n and reports whether s goes on. Ticks
// the pacer missed move the timestamp on without sending.
func (s *Stream) frame(n int64) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	var missed int64 // ticks the pacer missed: time goes on, under send below
	spurt := false   // a prompt starts: its first frame is marked, under send below
	if s.started && n > s.tick+1 {
		missed = n - s.tick - 1
	}
	s.started, s.tick = true, n
	p := s.play
	payload := s.silence[:]
	if s.relaying.Load() {
		p = nil // relayed media plays instead; the playback waits
	}
	if p != nil {
		if p.off >= len(p.samples) {
			// The last frame went out a tick ago and has played.
			p.finish()
			s.play, p = nil, nil
		} else {
			f := p.samples[p.off:min(p.off+FrameSamples, len(p.samples))]
			Encode(s.codec, s.payload[:len(f)], f)
			copy(s.payload[len(f):], s.silence[len(f):]) // pad the last frame
			payload = s.payload[:]
			spurt = p.off == 0
			p.off += len(f)
		}
	}
	s.mu.Unlock()
	s.send.Lock()
	if missed > 0 {
		s.sender.Skip(missed * FrameSamples)
	}
	if spurt {
		s.sender.Spurt()
	}
	if s.relaying.Load() || !s.sending.Load() {
		s.sender.Skip(FrameSamples)
		s.send.Unlock()
		return true
	}
	s.relay.resume(s.sender)
	size, err := s.sender.MarshalFrame(s.packet[:], payload, FrameSamples)
	if err == nil {
		_, err = s.conn.WriteTo(s.packet[:size], s.remote.Load())
	}
	s.send.Unlock()
	if err == nil && s.sent != nil {
		s.sent.Add(1)
	}
	if err != nil {
		s.setErr(err)
	}
	return true
}

func (s *Stream) setErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}
