package media

import (
	"errors"
	"sync"
	"time"
)

// FrameWriter takes whole frames of interleaved samples, as
// internal/wav's Writer does for a two-channel file.
type FrameWriter interface {
	Write(samples []int16) error
}

// Recorder records a bridged call as two channels, the caller's (SideA)
// and the agent's (SideB), interleaved and aligned in time, streamed to
// a FrameWriter as the audio arrives. It implements BridgeRecorder.
//
// Each side's samples are placed by their RTP timestamps, from where the
// side's first packet arrived in the recording's time (the recording
// starts with the first packet of either side): so a packet late by
// network jitter still lands in its place, and a gap (a lost packet,
// a phone that sends nothing on hold or in silence) is silence on its
// channel. A side whose timestamps jump by more than a second from where
// its arrival says it is (a new SSRC, a phone that restarted) is placed
// again by its arrival.
//
// It keeps at most a second of audio (32 KB): a side that falls more
// than half a second behind the other is written as silence up to there,
// and what arrives too late for its place is dropped. An hour costs the
// memory of a minute.
//
// Write and Seconds are safe for concurrent use, as the bridge's two
// readers need. Close writes the rest; it does not close the
// FrameWriter.
type Recorder struct {
	mu     sync.Mutex
	w      FrameWriter         // guarded by mu
	start  time.Time           // guarded by mu: the first packet's arrival
	ring   [2 * recRing]int16  // guarded by mu: frames from written on, interleaved
	out    [2 * recBatch]int16 // guarded by mu: frames on their way to w
	sides  [2]recorderSide     // guarded by mu
	done   int64               // guarded by mu: frames written to w
	err    error               // guarded by mu: the first error of w
	closed bool                // guarded by mu
}

type recorderSide struct {
	started bool
	// offset is added to the side's RTP timestamp to give its place, in
	// frames from the recording's start.
	offset int64
	last   uint32 // the last timestamp, to unwrap 32-bit timestamps
	base   int64  // the unwrapped last timestamp
	end    int64  // the frame after the side's last sample
}

const (
	recRing  = SampleRate     // frames kept: a second
	recLag   = SampleRate / 2 // a side this far behind is silence there
	recBatch = SampleRate / 10
	// recResync is how far (in frames) a side's timestamp may be from
	// its arrival before it is placed again.
	recResync = SampleRate
)

// ErrRecorderClosed is returned by Write after Close.
var ErrRecorderClosed = errors.New("media: recorder is closed")

// NewRecorder records into w, which must take two-channel 8 kHz frames:
// a wav.Writer made with wav.NewWriter(f, 8000, 2).
func NewRecorder(w FrameWriter) *Recorder { return &Recorder{w: w} }

// Write records one packet's samples of side, which carried timestamp
// and arrived at at. It returns the FrameWriter's first error, after
// which nothing more is recorded.
func (r *Recorder) Write(side Side, timestamp uint32, samples []int16, at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrRecorderClosed
	}
	if r.err != nil {
		return r.err
	}
	if r.start.IsZero() {
		r.start = at
	}
	s := &r.sides[side]
	arrived := int64(at.Sub(r.start)) * SampleRate / int64(time.Second)
	var ts int64
	if !s.started {
		s.started, s.last, s.base = true, timestamp, int64(timestamp)
		ts = s.base
		s.offset = arrived - ts
	} else {
		s.base += int64(int32(timestamp - s.last))
		s.last = timestamp
		ts = s.base
	}
	pos := ts + s.offset
	// A packet's place trails its arrival by its delay; one far from
	// its arrival is a new start.
	if d := pos - arrived; d > recResync || d < -recResync {
		s.offset = arrived - ts
		pos = arrived
	}
	if pos < r.done { // too late for its place: what is left of it
		cut := r.done - pos
		if cut >= int64(len(samples)) {
			return nil
		}
		samples, pos = samples[cut:], r.done
	}
	end := pos + int64(len(samples))
	// Room in the ring: a side this far ahead writes the other's lag as
	// silence.
	if end-r.done > recRing {
		r.flush(end - recRing)
	}
	for i, v := range samples {
		r.ring[2*((pos+int64(i))%recRing)+int64(side)] = v
	}
	s.end = max(s.end, end)
	// What both sides have reached is final; so is what one side trails
	// the other by more than recLag.
	a, b := r.sides[0].end, r.sides[1].end
	if ready := max(min(a, b), max(a, b)-recLag); ready-r.done >= recBatch {
		r.flush(ready)
	}
	return r.err
}

// flush writes the frames up to upTo and clears their places in the ring.
func (r *Recorder) flush(upTo int64) {
	for r.done < upTo && r.err == nil {
		n := min(upTo-r.done, recBatch, recRing-r.done%recRing)
		from := 2 * (r.done % recRing)
		chunk := r.ring[from : from+2*n]
		copy(r.out[:], chunk)
		clear(chunk)
		r.err = r.w.Write(r.out[:2*n])
		r.done += n
	}
}

// Seconds is how long the recording written so far is.
func (r *Recorder) Seconds() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return float64(r.done) / SampleRate
}

// Close writes what is left, up to the later side's last sample, and
// returns the FrameWriter's first error. Write refuses everything after.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrRecorderClosed
	}
	r.closed = true
	r.flush(max(r.sides[0].end, r.sides[1].end))
	return r.err
}
