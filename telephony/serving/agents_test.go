package serving_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callflow/callflow/internal/audiotest"
	"github.com/callflow/callflow/internal/baresiptest"
	"github.com/callflow/callflow/store"
)

// registerAnn starts a baresip phone for ann that answers by itself, and
// registers it in the store as the registrar would.
func registerAnn(t *testing.T, e *env) *baresiptest.Phone {
	t.Helper()
	phone := baresiptest.New(t, baresiptest.Options{Server: e.addr.String(), User: "ann", Regint: -1, AnswerMode: "auto"})
	_, err := e.st.Register(context.Background(), store.RegisterRequest{
		User: "ann", CallID: "test-registration", CSeq: 1,
		Contacts: []store.ContactUpdate{{URI: "sip:ann@" + phone.SIPAddr(), Expires: time.Hour}},
		Source:   phone.SIPAddr(), Transport: "udp", Now: time.Now(), MaxBindings: 10,
	})
	must(t, err)
	return phone
}

// bridged calls the menu, presses 2 for ann, talks for a few seconds and
// hangs up; it returns the call's record.
func bridged(t *testing.T, e *env, ann *baresiptest.Phone) store.Call {
	t.Helper()
	ctx := timeout(t)
	call := e.dial(ctx, numMenu)
	must(t, call.Press('2'))
	if _, err := ann.Wait(ctx, "CALL_ESTABLISHED"); err != nil {
		t.Fatalf("ann's phone did not answer: %v", err)
	}
	must(t, call.SpeakSamples(ctx, audiotest.Speech(3*8000, 7)))
	must(t, call.HangUp(ctx))
	rec := e.record(ctx)
	if rec.Ending != "connected" || rec.Agent != "ann" || rec.AnsweredAt.IsZero() || rec.AnsweredAt.Before(rec.StartedAt) {
		t.Errorf("record: ending %q, agent %q, answered %s (started %s); want connected, ann, after the start", rec.Ending, rec.Agent, rec.AnsweredAt, rec.StartedAt)
	}
	return rec
}

func TestBridgedCallIsRecordedOnTwoChannels(t *testing.T) {
	e := newEnv(t, setup{})
	ann := registerAnn(t, e)
	rec := bridged(t, e, ann)
	if rec.RecordingS < 3 || rec.Note != "" {
		t.Errorf("recorded %d s, note %q; want at least 3 s and no note", rec.RecordingS, rec.Note)
	}
	r, err := e.st.Recording(context.Background(), "rec-"+rec.ID)
	must(t, err)
	if r.Kind != "call" || r.CallID != rec.ID {
		t.Errorf("recording %+v: want a call recording of %s", r, rec.ID)
	}
	chans, hz, err := audiotest.ReadWAV(r.Path)
	must(t, err)
	if len(chans) != 2 || hz != 8000 {
		t.Fatalf("the recording has %d channels at %d Hz, want 2 at 8000", len(chans), hz)
	}
	// The caller's speech is on the first channel.
	got, err := audiotest.Compare(audiotest.Speech(3*8000, 7), chans[0], 8000)
	must(t, err)
	if got.Worst() < 20 {
		t.Errorf("the caller's channel: %v %.0f (%d samples)", got, got.SNR, len(chans[0]))
	}
	// The minutes of the bridged call were charged.
	if rec.Credits != int64(rate) {
		t.Errorf("charged %d, want one minute (%d)", rec.Credits, rate)
	}
}

func TestBridgedCallWithTheStoragePlanFull(t *testing.T) {
	e := newEnv(t, setup{})
	ctx := context.Background()
	// The free plan's 1,000 minutes are used up.
	must(t, e.st.AddRecording(ctx, store.Recording{ID: "old", CallID: "old", Kind: "voicemail", Seconds: 1000 * 60, CreatedAt: time.Now()}, 1000*60))
	ann := registerAnn(t, e)
	rec := bridged(t, e, ann)
	if rec.RecordingS != 0 || !strings.Contains(rec.Note, "storage plan is full") {
		t.Errorf("recorded %d s, note %q; want nothing recorded and a note that the plan is full", rec.RecordingS, rec.Note)
	}
	if _, err := e.st.Recording(ctx, "rec-"+rec.ID); err == nil {
		t.Error("a recording was kept with the storage plan full")
	}
	notes, err := e.st.Notifications(ctx)
	must(t, err)
	found := false
	for _, n := range notes {
		found = found || n.Kind == "storage-full"
	}
	if !found {
		t.Errorf("the administrator was not notified that storage is full: %+v", notes)
	}
}
