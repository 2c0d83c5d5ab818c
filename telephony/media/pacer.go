package media

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// FrameInterval is the time between two frames of media: 20 ms.
const FrameInterval = 20 * time.Millisecond

// A Pacer sends the frames of many playbacks every 20 ms from a few
// goroutines, one per shard, so that a call playing a prompt costs no
// timer and no wake-up of its own: at a few thousand calls, a timer per
// call is a fifth of a server's work. A shard's goroutine runs only while
// it has playbacks. The zero Pacer is ready to use.
type Pacer struct {
	once   sync.Once
	shards []*shard
	next   atomic.Uint32
}

// Playback is one prompt being played by a Pacer.
type Playback struct {
	// Samples are the prompt's audio, Codec the payload type it is sent
	// as (PCMU or PCMA).
	Samples []int16
	Codec   uint8
	// Send sends one encoded frame of samples samples. The pacer calls it
	// from its own goroutine, one frame at a time, from Start until Done
	// is closed; nothing else may use what it uses in that time.
	Send func(payload []byte, samples int) error

	off     int
	stopped atomic.Bool
	done    chan struct{}
	err     error
}

// Stop asks the pacer to send no more frames; Done is closed once it has
// stopped (within a frame interval).
func (p *Playback) Stop() { p.stopped.Store(true) }

// Done is closed when the playback has ended: every frame sent, stopped,
// or failed.
func (p *Playback) Done() <-chan struct{} { return p.done }

// Err is why the playback failed, once Done is closed; nil when it played
// to its end or was stopped.
func (p *Playback) Err() error { return p.err }

type shard struct {
	mu      sync.Mutex
	plays   []*Playback // under mu: the playbacks of the next tick
	spare   []*Playback // under mu: an empty slice to start the next tick's with
	running bool        // under mu: a goroutine is ticking for plays
	payload [FrameSamples]byte
}

// Start plays p: its first frame goes out at the shard's next tick, and
// one more every 20 ms.
func (pc *Pacer) Start(p *Playback) {
	pc.once.Do(func() {
		pc.shards = make([]*shard, runtime.GOMAXPROCS(0))
		for i := range pc.shards {
			pc.shards[i] = &shard{}
		}
	})
	p.done = make(chan struct{})
	if len(p.Samples) == 0 {
		close(p.done)
		return
	}
	sh := pc.shards[pc.next.Add(1)%uint32(len(pc.shards))]
	sh.mu.Lock()
	sh.plays = append(sh.plays, p)
	if !sh.running {
		sh.running = true
		go sh.run()
	}
	sh.mu.Unlock()
}

// run sends a frame of every playback each tick until none is left. It
// sends without holding the shard's lock, so that a Start never waits
// for a tick's sending; playbacks started meanwhile join the next tick.
func (sh *shard) run() {
	tick := time.NewTicker(FrameInterval)
	defer tick.Stop()
	for range tick.C {
		sh.mu.Lock()
		plays := sh.plays
		sh.plays = sh.spare[:0]
		sh.mu.Unlock()
		n := 0
		for _, p := range plays {
			if sh.frame(p) {
				plays[n] = p
				n++
			}
		}
		clear(plays[n:])
		sh.mu.Lock()
		added := sh.plays
		sh.plays = append(plays[:n], added...)
		clear(added)
		sh.spare = added[:0]
		if len(sh.plays) == 0 {
			sh.running = false
			sh.mu.Unlock()
			return
		}
		sh.mu.Unlock()
	}
}

// frame sends p's next frame and reports whether p goes on. A playback
// ends a tick after its last frame, when that frame has played.
func (sh *shard) frame(p *Playback) bool {
	if p.stopped.Load() || p.off >= len(p.Samples) {
		close(p.done)
		return false
	}
	f := p.Samples[p.off:min(p.off+FrameSamples, len(p.Samples))]
	Encode(p.Codec, sh.payload[:len(f)], f)
	if err := p.Send(sh.payload[:len(f)], len(f)); err != nil {
		p.err = err
		close(p.done)
		return false
	}
	p.off += len(f)
	return true
}
