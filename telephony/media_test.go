package telephony_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callflow/callflow/internal/siptest"
	"github.com/callflow/callflow/telephony/media"
)

// RTP leaves every 20 ms for the whole call, whatever the flow does: a
// prompt, a 5 s wait for a key, a beep and a recording, the gaps between
// them, and the tail before the server's BYE. No gap between two packets
// the caller receives is over 60 ms, sequence numbers go up by one, and
// timestamps follow the clock.
func TestRTPNeverStops(t *testing.T) {
	addr, srv, live := startServerWith(t, "127.0.0.0/8")
	w := watch(srv, live)
	p := siptest.NewPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	status, call := p.Dial(ctx, addr, "+14155550105")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	if err := call.WaitBye(ctx); err != nil {
		t.Fatal(err)
	}
	e := w.end(t)
	if got := strings.Join(e.path, " "); got != "ivr.wait voicemail.box announce.late" {
		t.Fatalf("path %q: the flow did not wait, record and end", got)
	}
	pkts := call.Packets()
	if len(pkts) < 350 {
		t.Fatalf("%d packets in a call of over 7 s", len(pkts))
	}
	// A gap the server made shows in the timestamps too: its pacer moves
	// them on with the clock over a tick it missed. A gap with contiguous
	// timestamps was made after the packets left (this process, loaded by
	// the race detector and the other tests, read them late), and is
	// logged rather than failed.
	worst, late, silent := time.Duration(0), time.Duration(0), 0
	for i := 1; i < len(pkts); i++ {
		a, b := pkts[i-1], pkts[i]
		if b.Sequence != a.Sequence+1 {
			t.Fatalf("packet %d: sequence %d after %d", i, b.Sequence, a.Sequence)
		}
		sent := time.Duration(b.Timestamp-a.Timestamp) * time.Second / 8000
		gap := b.At.Sub(a.At)
		if sent > media.FrameInterval {
			worst = max(worst, sent, gap)
		} else {
			late = max(late, gap)
		}
		if b.Silent {
			silent++
		}
	}
	first, last := pkts[0], pkts[len(pkts)-1]
	wall := last.At.Sub(first.At)
	span := time.Duration(last.Timestamp-first.Timestamp) * time.Second / 8000
	t.Logf("%d packets (%d of silence) over %s; the widest gap the server made %s; the widest made after sending %s; timestamps span %s",
		len(pkts), silent, wall, worst, late, span)
	if worst > 60*time.Millisecond {
		t.Errorf("the server sent nothing for %s; at most 60 ms", worst)
	}
	if late > 60*time.Millisecond && worst == 0 {
		t.Logf("packets sent on time arrived up to %s apart: the receiving test was slow", late)
	}
	if d := span - wall; d < -60*time.Millisecond || d > 60*time.Millisecond {
		t.Errorf("timestamps span %s over %s of the clock", span, wall)
	}
	if silent < 250 {
		t.Errorf("%d frames of silence: the 5 s wait and the recording must be filled", silent)
	}
}
