package media_test

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/callflow/callflow/internal/wav"
	"github.com/callflow/callflow/telephony/media"
)

// frames collects what a Recorder writes.
type frames struct {
	samples []int16
	writes  int
}

func (f *frames) Write(s []int16) error {
	f.samples = append(f.samples, s...)
	f.writes++
	return nil
}

// voice is side's sample at frame k of the recording: never silence.
func voice(side media.Side, k int) int16 {
	v := int16(k%1000 + 1)
	if side == media.SideB {
		return -v
	}
	return v
}

func voiceFrame(side media.Side, frame int) []int16 {
	s := make([]int16, media.FrameSamples)
	for i := range s {
		s[i] = voice(side, frame*media.FrameSamples+i)
	}
	return s
}

// Both sides land where their time says: the agent's leg starts later
// than the caller's, goes quiet for 600 ms, arrives jittered and out of
// order, and its channel holds silence exactly where it sent nothing.
func TestRecorderAligns(t *testing.T) {
	var out frames
	r := media.NewRecorder(&out)
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	at := func(frame int, jitter time.Duration) time.Time {
		return t0.Add(time.Duration(frame)*media.FrameInterval + jitter)
	}
	const total = 100
	agent := func(f int) bool { return f >= 10 && (f < 40 || f >= 70) }
	tsA, tsB := uint32(1000), uint32(4_294_960_000) // b's timestamps wrap
	for f := range total {
		if err := r.Write(media.SideA, tsA+uint32(f*media.FrameSamples), voiceFrame(media.SideA, f), at(f, 0)); err != nil {
			t.Fatal(err)
		}
		if !agent(f) {
			continue
		}
		g := f
		switch f {
		case 20:
			continue // sent after 21, out of order
		case 21:
			g = 20
		case 22:
			// 21 now, late by 30 ms
			if err := r.Write(media.SideB, tsB+uint32(21*media.FrameSamples), voiceFrame(media.SideB, 21), at(22, 10*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
		}
		// Late by up to 14 ms, but for the first packet, which places
		// the side.
		jitter := time.Duration((f-10)%3) * 7 * time.Millisecond
		if err := r.Write(media.SideB, tsB+uint32(g*media.FrameSamples), voiceFrame(media.SideB, g), at(f, jitter)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got := len(out.samples) / 2; got != total*media.FrameSamples {
		t.Fatalf("%d frames recorded, want %d", got, total*media.FrameSamples)
	}
	if s := r.Seconds(); s != 2 {
		t.Errorf("Seconds %v, want 2", s)
	}
	for k := 0; k < total*media.FrameSamples; k++ {
		wantB := int16(0)
		if agent(k / media.FrameSamples) {
			wantB = voice(media.SideB, k)
		}
		if a, b := out.samples[2*k], out.samples[2*k+1]; a != voice(media.SideA, k) || b != wantB {
			t.Fatalf("frame %d (packet %d): %d, %d; want %d, %d", k, k/media.FrameSamples, a, b, voice(media.SideA, k), wantB)
		}
	}
	if out.writes > 25 {
		t.Errorf("%d writes for 2 s of audio: the recorder should write in batches", out.writes)
	}
}

// A side whose timestamps jump (a phone that restarted its stream) is
// placed by its arrival; one the other side leaves more than half a
// second behind becomes silence there, and what then arrives for that
// time is dropped, not written out of place.
func TestRecorderResyncsAndBoundsLag(t *testing.T) {
	var out frames
	r := media.NewRecorder(&out)
	t0 := time.Now()
	at := func(frame int) time.Time { return t0.Add(time.Duration(frame) * media.FrameInterval) }
	for f := range 100 {
		r.Write(media.SideA, uint32(f*media.FrameSamples), voiceFrame(media.SideA, f), at(f))
		ts := uint32(f * media.FrameSamples)
		if f >= 50 {
			ts += 3_000_000 // a jump of six minutes
		}
		if f != 60 {
			r.Write(media.SideB, ts, voiceFrame(media.SideB, f), at(f))
		}
	}
	// Frame 60 of b comes 1.2 s late: a second after its time was written.
	r.Write(media.SideB, 60*media.FrameSamples+3_000_000, voiceFrame(media.SideB, 60), at(100))
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got := len(out.samples) / 2; got != 100*media.FrameSamples {
		t.Fatalf("%d frames recorded, want %d", got, 100*media.FrameSamples)
	}
	for k := 0; k < 100*media.FrameSamples; k++ {
		wantB := voice(media.SideB, k)
		if k/media.FrameSamples == 60 {
			wantB = 0
		}
		if b := out.samples[2*k+1]; b != wantB {
			t.Fatalf("frame %d (packet %d) of b: %d, want %d", k, k/media.FrameSamples, b, wantB)
		}
	}
}

// An hour of a bridged call is recorded to a two-channel WAV file in the
// memory of a second of it.
func TestRecorderHourInFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 115 MB")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "call.wav"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	runtime.GC()
	var before, peak runtime.MemStats
	runtime.ReadMemStats(&before)
	w, err := wav.NewWriter(f, media.SampleRate, 2)
	if err != nil {
		t.Fatal(err)
	}
	r := media.NewRecorder(w)
	const packets = 3600 * 50
	t0 := time.Now()
	a, b := make([]int16, media.FrameSamples), make([]int16, media.FrameSamples)
	for p := range packets {
		for i := range a {
			k := p*media.FrameSamples + i
			a[i], b[i] = voice(media.SideA, k), voice(media.SideB, k)
		}
		when := t0.Add(time.Duration(p) * media.FrameInterval)
		if err := r.Write(media.SideA, uint32(p*media.FrameSamples), a, when); err != nil {
			t.Fatal(err)
		}
		if err := r.Write(media.SideB, uint32(p*media.FrameSamples+12345), b, when.Add(3*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if p%(60*50) == 0 {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.HeapInuse {
				peak = m
			}
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if grew := int64(peak.HeapInuse) - int64(before.HeapInuse); grew > 4<<20 {
		t.Errorf("heap in use grew by %d bytes recording an hour", grew)
	}
	t.Logf("heap in use: %d bytes before, %d at most while recording an hour", before.HeapInuse, peak.HeapInuse)
	// b's first packet came 3 ms (24 frames) after a's, and b ends as
	// much later.
	const recorded = packets*media.FrameSamples + 24
	if s := r.Seconds(); s != float64(recorded)/media.SampleRate {
		t.Errorf("Seconds %v, want 3600.003", s)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	rd, err := wav.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if rd.Format.Channels != 2 || rd.Format.Rate != media.SampleRate || rd.Frames() != recorded {
		t.Fatalf("read back as %+v, %d frames", rd.Format, rd.Frames())
	}
	buf := make([]float64, 2*4096)
	for k := 0; ; {
		n, err := rd.ReadSamples(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i, k = i+2, k+1 {
			// b arrived 3 ms later: 24 frames later in the recording.
			wantA, wantB := int16(0), int16(0)
			if k < packets*media.FrameSamples {
				wantA = voice(media.SideA, k)
			}
			if k >= 24 {
				wantB = voice(media.SideB, k-24)
			}
			if int16(buf[i]*32768) != wantA || int16(buf[i+1]*32768) != wantB {
				t.Fatalf("frame %d: %v %v", k, buf[i]*32768, buf[i+1]*32768)
			}
		}
	}
}
