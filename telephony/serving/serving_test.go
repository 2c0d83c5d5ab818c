package serving_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/internal/siptest"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony/prompt"
)

// These tests run the whole serving path: a repository written to disk
// (WAV prompts included), checked, planned and applied to a SQLite store,
// with its numbers taken from the trunk inventory and its prompts
// prepared; credits bought through the ledger; the Live that
// serving.Builder makes from the store, served by a telephony.Server on
// loopback; and a SIP caller (internal/siptest) that dials, listens,
// presses keys and speaks. Each test checks what the caller experienced
// and then what the store holds: the call's record, the recordings and
// the ledger.

// An announcement plays to its end and leads to the next one; the last
// one hangs up.
func TestAnnouncePlaysThenNext(t *testing.T) {
	t.Parallel()
	ctx := timeout(t)
	e := newEnv(t, setup{})
	c := e.dial(ctx, numHello)
	must(t, c.WaitBye(ctx))
	if got, want := c.SpurtFrames(), []int{promptFrames["hello"], promptFrames["bye"]}; !slices.Equal(got, want) {
		t.Errorf("heard spurts of %v frames, want %v", got, want)
	}
	e.checkRecord(e.record(ctx), numHello, []string{"announce.hello", "announce.bye"}, "flow-end")
	e.checkLedger(ctx, 1)
}

// A key pressed by RFC 4733 during the menu stops it (barge-in) and leads
// to the key's state.
func TestIVRKeyByRTPStopsThePrompt(t *testing.T) {
	t.Parallel()
	ctx := timeout(t)
	e := newEnv(t, setup{})
	c := e.dial(ctx, numMenu)
	must(t, c.WaitFrames(ctx, 10))
	must(t, c.Press('1'))
	must(t, c.WaitBye(ctx))
	got := c.SpurtFrames()
	if len(got) != 2 || got[0] >= promptFrames["menu"] || got[1] != promptFrames["one"] {
		t.Errorf("heard spurts of %v frames; want the menu (%d frames) cut short, then %d frames of \"one\"", got, promptFrames["menu"], promptFrames["one"])
	}
	e.checkRecord(e.record(ctx), numMenu, []string{"ivr.menu", "announce.one"}, "flow-end")
	e.checkLedger(ctx, 1)
}

// A key sent as SIP INFO works as an RFC 4733 one: it stops the menu and
// leads to a transfer, which takes on_unavailable since no phone is
// registered.
func TestIVRKeyByINFOToTransferUser(t *testing.T) {
	t.Parallel()
	ctx := timeout(t)
	e := newEnv(t, setup{})
	c := e.dial(ctx, numMenu)
	must(t, c.WaitFrames(ctx, 10))
	status, err := c.PressINFO(ctx, '2')
	must(t, err)
	if status != 200 {
		t.Errorf("INFO: status %d, want 200", status)
	}
	must(t, c.WaitBye(ctx))
	got := c.SpurtFrames()
	if len(got) != 2 || got[0] >= promptFrames["menu"] || got[1] != promptFrames["sorry"] {
		t.Errorf("heard spurts of %v frames; want the menu cut short, then %d frames of \"sorry\"", got, promptFrames["sorry"])
	}
	e.checkRecord(e.record(ctx), numMenu, []string{"ivr.menu", "transfer_user.ann", "announce.sorry"}, "flow-end")
	e.checkLedger(ctx, 1)
}

// A group transfer takes on_unavailable too.
func TestIVRKeyToTransferGroup(t *testing.T) {
	t.Parallel()
	ctx := timeout(t)
	e := newEnv(t, setup{})
	c := e.dial(ctx, numMenu)
	must(t, c.WaitFrames(ctx, 5))
	must(t, c.Press('3'))
	must(t, c.WaitBye(ctx))
	if got := c.SpurtFrames(); len(got) != 2 || got[1] != promptFrames["sorry"] {
		t.Errorf("heard spurts of %v frames; want the menu, then %d frames of \"sorry\"", got, promptFrames["sorry"])
	}
	e.checkRecord(e.record(ctx), numMenu, []string{"ivr.menu", "transfer_group.sales", "announce.sorry"}, "flow-end")
	e.checkLedger(ctx, 1)
}

// A key with no connection stops the menu too, and takes the time-out
// branch at once: the menu is not replayed and the time-out is not
// waited for.
func TestIVRKeyWithoutConnectionTakesTimeout(t *testing.T) {
	t.Parallel()
	ctx := timeout(t)
	e := newEnv(t, setup{})
	c := e.dial(ctx, numMenu)
	must(t, c.WaitFrames(ctx, 10))
	must(t, c.Press('9'))
	must(t, c.WaitBye(ctx))
	s := c.Spurts()
	if len(s) != 2 || s[0].Frames >= promptFrames["menu"] || s[1].Frames != promptFrames["late"] {
		t.Fatalf("heard spurts of %v frames; want the menu cut short, then %d frames of \"late\"", c.SpurtFrames(), promptFrames["late"])
	}
	if gap := s[1].First.Sub(s[0].Last); gap > 2*time.Second {
		t.Errorf("\"late\" began %s after the menu stopped; the key leads there at once, not after the 5 s time-out", gap)
	}
	e.checkRecord(e.record(ctx), numMenu, []string{"ivr.menu", "announce.late"}, "flow-end")
	e.checkLedger(ctx, 1)
}

// With no key, the menu takes on_timeout 5 s (the default) after its
// prompt ends.
func TestIVRTimesOutFiveSecondsAfterThePrompt(t *testing.T) {
	t.Parallel()
	ctx := timeout(t)
	e := newEnv(t, setup{})
	c := e.dial(ctx, numMenu)
	must(t, c.WaitBye(ctx))
	s := c.Spurts()
	if len(s) != 2 || s[0].Frames != promptFrames["menu"] || s[1].Frames != promptFrames["late"] {
		t.Fatalf("heard spurts of %v frames; want the whole menu (%d), then \"late\" (%d)", c.SpurtFrames(), promptFrames["menu"], promptFrames["late"])
	}
	if gap := s[1].First.Sub(s[0].Last); gap < 4950*time.Millisecond || gap > 5750*time.Millisecond {
		t.Errorf("\"late\" began %s after the menu ended; want 5 s", gap)
	}
	e.checkRecord(e.record(ctx), numMenu, []string{"ivr.menu", "announce.late"}, "flow-end")
	e.checkLedger(ctx, 1)
}

// waitForTheBeep waits until the voicemail's prompt (frames long; 0 for
// none) and the beep have been heard.
func waitForTheBeep(ctx context.Context, t *testing.T, c *siptest.Call, frames int) {
	t.Helper()
	spurt := 0
	if frames > 0 {
		must(t, c.WaitSpurt(ctx, 0, frames))
		spurt = 1
	}
	must(t, c.WaitSpurt(ctx, spurt, beepFrames))
}

// pressHash ends a message with # and wants the call to end at once: the
// voicemail's max_length (5 s) is far off.
func pressHash(ctx context.Context, t *testing.T, c *siptest.Call) {
	t.Helper()
	must(t, c.Press('#'))
	soon, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.WaitBye(soon); err != nil {
		t.Fatalf("# did not end the message: %v", err)
	}
}

// A voicemail plays its prompt and a beep, records until #, saves the
// message as a WAV file and hangs up; the record holds the message's
// length.
func TestVoicemailSavedOnHash(t *testing.T) {
	t.Parallel()
	ctx := timeout(t)
	e := newEnv(t, setup{})
	c := e.dial(ctx, numBox)
	waitForTheBeep(ctx, t, c, promptFrames["box"])
	must(t, c.Speak(ctx, 80)) // 1.6 s
	pressHash(ctx, t, c)
	if got, want := c.SpurtFrames(), []int{promptFrames["box"], beepFrames}; !slices.Equal(got, want) {
		t.Errorf("heard spurts of %v frames, want the prompt and the beep, %v", got, want)
	}
	rec := e.record(ctx)
	e.checkRecord(rec, numBox, []string{"voicemail.box"}, "message")
	if rec.RecordingS != 2 {
		t.Errorf("the record says %d s recorded; 1.6 s were spoken, which counts as 2", rec.RecordingS)
	}
	msgs := e.savedMessages(ctx)
	if len(msgs) != 1 || msgs[0].CallID != rec.ID || msgs[0].Kind != "voicemail" || msgs[0].Seconds != 2 {
		t.Fatalf("recordings %+v; want one voicemail of 2 s (1.6 s, rounded up) for call %s", msgs, rec.ID)
	}
	audio, err := prompt.Load(msgs[0].Path)
	must(t, err)
	if d := audio.Duration(); d < 1400*time.Millisecond || d > 1600*time.Millisecond {
		t.Errorf("the message lasts %s; 1.6 s were spoken", d)
	}
	e.checkLedger(ctx, 1)
}

// A voicemail stops recording at its max_length and keeps what was said.
func TestVoicemailStopsAtMaxLength(t *testing.T) {
	t.Parallel()
	ctx := timeout(t)
	e := newEnv(t, setup{})
	c := e.dial(ctx, numQuick)
	waitForTheBeep(ctx, t, c, 0)
	speaking, stopSpeaking := context.WithCancel(ctx)
	defer stopSpeaking()
	spoke := make(chan error, 1)
	go func() { spoke <- c.Speak(speaking, 250) }() // 5 s, unless the call ends
	must(t, c.WaitBye(ctx))
	stopSpeaking()
	must(t, <-spoke)
	rec := e.record(ctx)
	e.checkRecord(rec, numQuick, []string{"voicemail.quick"}, "message")
	msgs := e.savedMessages(ctx)
	if len(msgs) != 1 || msgs[0].CallID != rec.ID || msgs[0].Seconds != rec.RecordingS {
		t.Fatalf("recordings %+v; want one for call %s of the record's %d s", msgs, rec.ID, rec.RecordingS)
	}
	audio, err := prompt.Load(msgs[0].Path)
	must(t, err)
	if d := audio.Duration(); d < 700*time.Millisecond || d > 1200*time.Millisecond {
		t.Errorf("the message lasts %s; max_length is 1 s", d)
	}
	e.checkLedger(ctx, 1)
}

// When max_length passes and nothing was said, the voicemail takes
// on_timeout, as # with nothing said does.
func TestVoicemailSilenceTakesTimeout(t *testing.T) {
	t.Parallel()
	ctx := timeout(t)
	e := newEnv(t, setup{})
	c := e.dial(ctx, numQuick)
	must(t, c.WaitBye(ctx))
	if got, want := c.SpurtFrames(), []int{beepFrames, promptFrames["goodbye"]}; !slices.Equal(got, want) {
		t.Errorf("heard spurts of %v frames, want the beep and goodbye, %v", got, want)
	}
	rec := e.record(ctx)
	e.checkRecord(rec, numQuick, []string{"voicemail.quick", "announce.goodbye"}, "flow-end")
	if rec.RecordingS != 0 || len(e.savedMessages(ctx)) != 0 {
		t.Errorf("%d s recorded, %d messages; want none", rec.RecordingS, len(e.savedMessages(ctx)))
	}
	e.checkLedger(ctx, 1)
}

// The voicemail state's own time-out cuts a message off and takes
// on_timeout.
func TestVoicemailStateTimesOut(t *testing.T) {
	t.Parallel()
	ctx := timeout(t)
	e := newEnv(t, setup{})
	c := e.dial(ctx, numCut)
	speaking, stopSpeaking := context.WithCancel(ctx)
	defer stopSpeaking()
	waitForTheBeep(ctx, t, c, 0)
	spoke := make(chan error, 1)
	go func() { spoke <- c.Speak(speaking, 250) }()
	must(t, c.WaitBye(ctx))
	stopSpeaking()
	must(t, <-spoke)
	s := c.Spurts()
	if len(s) != 2 || s[0].Frames != beepFrames || s[1].Frames != promptFrames["goodbye"] {
		t.Fatalf("heard spurts of %v frames; want the beep and goodbye", c.SpurtFrames())
	}
	// The state's 2 s began with the beep.
	if d := s[1].First.Sub(s[0].First); d < 1950*time.Millisecond || d > 2750*time.Millisecond {
		t.Errorf("goodbye began %s after the beep; the state times out after 2 s", d)
	}
	rec := e.record(ctx)
	e.checkRecord(rec, numCut, []string{"voicemail.cut", "announce.goodbye"}, "flow-end")
	if rec.RecordingS != 0 || len(e.savedMessages(ctx)) != 0 {
		t.Errorf("%d s recorded, %d messages; a message cut off by the time-out is not kept", rec.RecordingS, len(e.savedMessages(ctx)))
	}
	e.checkLedger(ctx, 1)
}

// With the storage plan full, a message is not saved: no file, no
// recording, the call ends as no-message, and the administrator is told.
func TestVoicemailRefusedWhenStorageIsFull(t *testing.T) {
	t.Parallel()
	ctx := timeout(t)
	e := newEnv(t, setup{})
	// The free plan holds 1,000 minutes; fill it.
	full := billing.StoragePlans["free"].Minutes * 60
	saved, err := billing.NewRecordings(e.st, e.model).Save(ctx, store.Recording{ID: "old", CallID: "old", Kind: "voicemail", Seconds: full})
	must(t, err)
	if !saved {
		t.Fatal("the recording that fills the plan was not saved")
	}
	c := e.dial(ctx, numBox)
	waitForTheBeep(ctx, t, c, promptFrames["box"])
	must(t, c.Speak(ctx, 40)) // 0.8 s: under a second still takes one
	pressHash(ctx, t, c)
	rec := e.record(ctx)
	e.checkRecord(rec, numBox, []string{"voicemail.box"}, "no-message")
	if rec.RecordingS != 0 {
		t.Errorf("the record says %d s recorded; nothing was saved", rec.RecordingS)
	}
	if msgs := e.savedMessages(ctx); len(msgs) != 0 {
		t.Errorf("recordings %+v; want none saved with the plan full", msgs)
	}
	if files := e.wavFiles(); len(files) != 0 {
		t.Errorf("the recordings directory holds %v; a refused message leaves no file", files)
	}
	if used, err := e.st.RecordedSeconds(ctx); err != nil || used != full {
		t.Errorf("%d s recorded (%v), want %d", used, err, full)
	}
	notes, err := e.st.Notifications(ctx)
	must(t, err)
	if !slices.ContainsFunc(notes, func(n store.Notification) bool { return n.Kind == "storage-full" }) {
		t.Errorf("notifications %+v; want one that storage is full", notes)
	}
	e.checkLedger(ctx, 1)
}

// Calls the organisation does not take are refused before they are
// answered, with nothing recorded and nothing charged.
func TestRefusals(t *testing.T) {
	t.Parallel()
	ctx := timeout(t)
	e := newEnv(t, setup{})
	p := siptest.NewPhone(t, siptest.WithNumber(caller))
	for number, want := range map[string]int{
		numUnknown: 404, // not ours
		numClosed:  480, // its flow is disabled
	} {
		if status, _ := p.Dial(ctx, e.addr, number); status != want {
			t.Errorf("%s: status %d, want %d", number, status, want)
		}
	}
	// A server whose trunk is elsewhere refuses this caller, whatever it
	// dials.
	strange := newEnv(t, setup{network: "203.0.113.0/24"})
	for _, number := range []string{numHello, numUnknown} {
		if status, _ := p.Dial(ctx, strange.addr, number); status != 403 {
			t.Errorf("a stranger dialling %s: status %d, want 403", number, status)
		}
	}
	e.checkRefused(ctx)
	strange.checkRefused(ctx)
}

// A call is refused with 402 when the credits do not cover its first
// minute; nothing is charged or held.
func TestRefusedWithoutCredits(t *testing.T) {
	t.Parallel()
	ctx := timeout(t)
	e := newEnv(t, setup{credits: rate / 2})
	status, c := siptest.NewPhone(t, siptest.WithNumber(caller)).Dial(ctx, e.addr, numHello)
	if status != 402 {
		t.Errorf("status %d, want 402", status)
	}
	if c.Frames() != 0 {
		t.Errorf("heard %d frames of a refused call", c.Frames())
	}
	e.checkRefused(ctx)
	if got := e.srv.Metrics.Outcomes(); got["refused-402"] != 1 {
		t.Errorf("outcomes %v, want one refused-402", got)
	}
}

// A caller may hang up in any state. The server sends no BYE of its own,
// and the record is closed as caller-hung-up with the first minute
// charged and nothing held. (A transfer cannot be in progress yet: with
// no phone registered it takes on_unavailable at once.)
func TestCallerHangsUp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		number string
		path   []string
		// before hangs up once the call is in the state.
		before  func(ctx context.Context, t *testing.T, c *siptest.Call)
		seconds int64 // recorded
	}{{
		name: "announce", number: numLong, path: []string{"announce.long"},
		before: func(ctx context.Context, t *testing.T, c *siptest.Call) { must(t, c.WaitFrames(ctx, 10)) },
	}, {
		name: "ivr prompt", number: numMenu, path: []string{"ivr.menu"},
		before: func(ctx context.Context, t *testing.T, c *siptest.Call) { must(t, c.WaitFrames(ctx, 10)) },
	}, {
		name: "ivr waiting for a key", number: numMenu, path: []string{"ivr.menu"},
		before: func(ctx context.Context, t *testing.T, c *siptest.Call) {
			must(t, c.WaitFrames(ctx, promptFrames["menu"]))
		},
	}, {
		name: "voicemail prompt", number: numBox, path: []string{"voicemail.box"},
		before: func(ctx context.Context, t *testing.T, c *siptest.Call) { must(t, c.WaitFrames(ctx, 3)) },
	}, {
		// A caller who hangs up after speaking has left a message.
		name: "voicemail recording", number: numBox, path: []string{"voicemail.box"}, seconds: 2,
		before: func(ctx context.Context, t *testing.T, c *siptest.Call) {
			waitForTheBeep(ctx, t, c, promptFrames["box"])
			must(t, c.Speak(ctx, 80))
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := timeout(t)
			e := newEnv(t, setup{})
			c := e.dial(ctx, tc.number)
			tc.before(ctx, t, c)
			must(t, c.HangUp(ctx))
			rec := e.record(ctx)
			e.checkRecord(rec, tc.number, tc.path, "caller-hung-up")
			if rec.RecordingS != tc.seconds {
				t.Errorf("%d s recorded, want %d", rec.RecordingS, tc.seconds)
			}
			if msgs := e.savedMessages(ctx); int64(len(msgs)) != min(tc.seconds, 1) {
				t.Errorf("recordings %+v; want %d", msgs, min(tc.seconds, 1))
			}
			e.checkLedger(ctx, 1)
			select {
			case <-c.Bye():
				t.Error("the server sent BYE for a call the caller hung up")
			default:
			}
		})
	}
}

// A server shutting down waits for its calls until the grace period is
// over, then hangs up what is left: every caller gets BYE, and every
// record says server-stopped with nothing held.
func TestShutdownHangsUpCalls(t *testing.T) {
	t.Parallel()
	ctx := timeout(t)
	e := newEnv(t, setup{})
	long, menu, box := e.dial(ctx, numLong), e.dial(ctx, numMenu), e.dial(ctx, numBox)
	must(t, long.WaitFrames(ctx, 5))
	must(t, menu.WaitFrames(ctx, promptFrames["menu"])) // waiting for a key
	waitForTheBeep(ctx, t, box, promptFrames["box"])    // recording
	grace, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := e.srv.Shutdown(grace); err == nil {
		t.Error("Shutdown returned no error; calls were still running at its deadline")
	}
	for _, c := range []*siptest.Call{long, menu, box} {
		must(t, c.WaitBye(ctx))
	}
	paths := map[string][]string{numLong: {"announce.long"}, numMenu: {"ivr.menu"}, numBox: {"voicemail.box"}}
	for range 3 {
		rec := e.record(ctx)
		e.checkRecord(rec, rec.To, paths[rec.To], "server-stopped")
		delete(paths, rec.To)
	}
	if len(paths) != 0 {
		t.Errorf("no record for the calls to %v", paths)
	}
	e.checkLedger(ctx, 3)
	if got := e.srv.Metrics.Outcomes(); got["server-stopped"] != 3 {
		t.Errorf("outcomes %v, want three server-stopped", got)
	}
}
