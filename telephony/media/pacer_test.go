package media_test

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/callflow/callflow/telephony/media"
)

// Many playbacks at once each get every frame, in order, 20 ms apart; a
// stopped one ends within a frame; a failing one ends with its error; and
// once nothing plays, the pacer's goroutines are gone.
func TestPacer(t *testing.T) {
	before := runtime.NumGoroutine()
	var pc media.Pacer
	const plays, frames = 50, 10
	type sent struct {
		n     int
		at    []time.Time
		sizes []int
	}
	got := make([]*sent, plays)
	var ps []*media.Playback
	for i := range plays {
		s := &sent{}
		got[i] = s
		p := &media.Playback{Samples: make([]int16, frames*media.FrameSamples-80), Codec: media.PayloadPCMU,
			Send: func(payload []byte, samples int) error {
				s.n++
				s.at = append(s.at, time.Now())
				s.sizes = append(s.sizes, samples)
				return nil
			}}
		pc.Start(p)
		ps = append(ps, p)
	}
	stopped := &media.Playback{Samples: make([]int16, 100*media.FrameSamples), Codec: media.PayloadPCMA, Send: func([]byte, int) error { return nil }}
	pc.Start(stopped)
	boom := errors.New("network down")
	failing := &media.Playback{Samples: make([]int16, 100*media.FrameSamples), Codec: media.PayloadPCMU, Send: func([]byte, int) error { return boom }}
	pc.Start(failing)

	stopped.Stop()
	for _, p := range append(ps, stopped, failing) {
		select {
		case <-p.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("a playback did not end")
		}
	}
	if !errors.Is(failing.Err(), boom) {
		t.Errorf("the failing playback's error: %v", failing.Err())
	}
	for i, s := range got {
		if s.n != frames || s.sizes[frames-1] != media.FrameSamples-80 {
			t.Fatalf("playback %d: %d frames, last of %v samples; want %d, the last short", i, s.n, s.sizes, frames)
		}
		// Paced: the frames span at least 9 intervals (less a little
		// for the ticker's jitter), not a burst.
		if span := s.at[frames-1].Sub(s.at[0]); span < 9*media.FrameInterval-10*time.Millisecond {
			t.Fatalf("playback %d: %d frames in %s; want 20 ms apart", i, frames, span)
		}
	}
	// The pacer's goroutines end once they find nothing to play.
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond) // polling the goroutine count
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after every playback ended, %d before", n, before)
	}
}
