package serving

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/internal/storetest"
	"github.com/callflow/callflow/internal/wav"
)

// A voicemail message goes to its file as it is spoken: an hour of it,
// fed faster than real time in 20 ms frames as the session writes them,
// takes the memory a ten-second one does; kept, it is a WAV file of an
// hour that counts 3,600 s of the storage plan.
func TestAnHourOfMessageInFlatMemory(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, filepath.Join(t.TempDir(), "callflow.db"))
	b := &Builder{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Recordings: t.TempDir()}
	recordings := billing.NewRecordings(st, nil)
	recordings.Plan = "50k" // room for an hour

	frame := make([]int16, 160)
	for i := range frame {
		frame[i] = int16(i * 100)
	}
	heapAfter := func(id string, frames int) uint64 {
		rec, err := b.record(recordings, id)
		if err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range frames {
			if err := rec.Write(frame); err != nil {
				t.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if saved, err := rec.Keep(); err != nil || !saved {
			t.Fatalf("kept: %v %v", saved, err)
		}
		return max(after.HeapInuse, before.HeapInuse) - before.HeapInuse
	}
	short := heapAfter("short", 500)    // 10 s
	long := heapAfter("long", 50*60*60) // an hour
	t.Logf("heap grown by %d bytes over 10 s, %d over an hour", short, long)
	if long > 1<<20 {
		t.Errorf("an hour of message grew the heap by %d bytes; a message must stream to disk", long)
	}

	f, err := os.Open(filepath.Join(b.Recordings, "long.wav"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := wav.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Frames(); got != 50*60*60*160 {
		t.Errorf("the kept file holds %d frames, want an hour's", got)
	}
	recs, err := st.Recordings(ctx)
	if err != nil || len(recs) != 2 || recs[0].Seconds+recs[1].Seconds != 3600+10 {
		t.Errorf("recordings %+v %v; want 10 s and 3,600 s", recs, err)
	}
}
