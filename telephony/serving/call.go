package serving

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/internal/wav"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony"
	"github.com/callflow/callflow/telephony/prompt"
	"github.com/callflow/callflow/telephony/session"
	"github.com/callflow/callflow/vm"
)

// begin opens a call's record and reserves its first minute, in one
// write, so that every credit reserved for a call belongs to a record
// that says which node runs it (see Recover); the returned hooks start
// its minutes when the machine answers (after the caller's ACK), and its
// end settles the meter and closes the record, again in one write. ctx
// bounds the store's work: a store that does not answer in time fails
// the call, which is refused.
func (b *Builder) begin(ctx context.Context, c telephony.CallInfo, stop func(error), l *telephony.Live, ledger *billing.Ledger, rate billing.Micro, flowVersion int64) ([]vm.Hook, func(vm.Effect, error), error) {
	now := time.Now()
	path := &telephony.PathHook{Program: l.Programs[c.Flow]}
	rec := store.Call{ID: c.ID, Direction: "incoming", From: c.From, To: c.Number, Flow: c.Flow, FlowVersion: flowVersion, StartedAt: now, LastSeenAt: now, Node: b.Node}
	if n, ok := l.Table.Numbers[c.Number]; ok {
		rec.NumberName = n.Name
	}
	// From here on the call's own work does not give up with ctx (a
	// reservation or a record that was started is finished), but each
	// step has a deadline of its own: a store that does not answer leaves
	// the minute to the next tick, or the call to crash repair.
	work := context.WithoutCancel(ctx)
	step := func() (context.Context, context.CancelFunc) { return context.WithTimeout(work, writeDeadline) }
	opening := rec
	meter := &billing.Meter{Ledger: ledger, CallID: c.ID, Rate: rate, Open: &opening}
	if err := meter.Reserve(ctx, now); err != nil {
		// Refused: the record says why, and the meter holds nothing.
		rec.EndedAt, rec.Ending = now, "refused-server-error"
		refusal := err
		if errors.Is(err, billing.ErrCreditsExhausted) {
			rec.Ending = "no-credits"
			refusal = &telephony.ErrRefused{Status: 402, Reason: "Payment Required"}
		}
		sctx, cancel := step()
		defer cancel()
		if err := b.Store.SaveCall(sctx, rec); err != nil {
			b.Log.Error("call record", "call", c.ID, "err", err)
		}
		return nil, nil, refusal
	}
	// Every minute the meter charges and the record is brought up to date,
	// from a timer rather than a goroutine of the call's own; the timer,
	// the confirmation and the call's end take turns with the meter, which
	// is not safe for concurrent use.
	every := b.every
	if every == 0 {
		every = time.Minute
	}
	var mu sync.Mutex
	ended, minutes := false, 0
	var timer *time.Timer
	var confirmed time.Time
	var minute func()
	minute = func() {
		mu.Lock()
		defer mu.Unlock()
		if ended {
			return
		}
		t := time.Now()
		sctx, cancel := step()
		defer cancel()
		switch err := meter.Tick(sctx, t); {
		case errors.Is(err, billing.ErrCreditsExhausted):
			b.Log.Warn("credits exhausted: ending the call", "call", c.ID)
			stop(err)
		case err != nil:
			// The minute is charged at the next tick, or at hang-up.
			b.Log.Error("meter", "call", c.ID, "err", err)
		}
		rec.LastSeenAt, rec.Path = t, path.Path()
		if err := b.Store.SaveCall(sctx, rec); err != nil {
			b.Log.Error("call record", "call", c.ID, "err", err)
		}
		minutes++
		timer.Reset(time.Until(confirmed.Add(time.Duration(minutes+1) * every)))
	}
	confirm := answerHook(func() {
		mu.Lock()
		defer mu.Unlock()
		if ended || meter.Confirmed() {
			return
		}
		confirmed = time.Now()
		meter.Confirm(confirmed)
		timer = time.AfterFunc(every, minute)
	})
	end := func(final vm.Effect, cause error) {
		mu.Lock()
		defer mu.Unlock()
		ended = true
		if timer != nil {
			timer.Stop()
		}
		t := time.Now()
		sctx, cancel := step()
		defer cancel()
		rec.Path, rec.EndedAt, rec.LastSeenAt = path.Path(), t, t
		rec.Ending = ending(final, cause)
		if s, ok := b.recorded.LoadAndDelete(c.ID); ok {
			rec.RecordingS = s.(int64)
		}
		if n, ok := b.notes.LoadAndDelete(c.ID); ok {
			rec.Note = n.(string)
		}
		closing := func(minutes int) store.Call {
			rec.Credits = int64(rate) * int64(minutes)
			return rec
		}
		if err := meter.StopRecord(sctx, t, closing); err != nil {
			b.Log.Error("meter", "call", c.ID, "err", err)
			// The record closes all the same; crash repair gives back
			// what the meter still holds.
			if err := b.Store.SaveCall(sctx, closing(meter.Minutes())); err != nil {
				b.Log.Error("call record", "call", c.ID, "err", err)
			}
		}
	}
	agent := report{
		connected: func(user string, at time.Time) {
			mu.Lock()
			defer mu.Unlock()
			rec.Agent, rec.AnsweredAt = user, at
		},
		queued: func(d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			rec.QueueWait += d
		},
	}
	return []vm.Hook{confirm, meter, path, agent}, end, nil
}

// writeDeadline bounds each store step of a call in progress: a minute's
// charge, its record's update, its end.
const writeDeadline = 10 * time.Second

// answerHook calls its function when the machine answers the call: the
// server runs the machine once the caller has confirmed the answer.
type answerHook func()

func (h answerHook) OnEffect(_ *vm.Machine, e *vm.Effect) error {
	if e.Kind == vm.EffectAnswer {
		h()
	}
	return nil
}

func (answerHook) OnResult(*vm.Machine, *vm.Effect, vm.Result) error { return nil }

func (report) OnEffect(*vm.Machine, *vm.Effect) error            { return nil }
func (report) OnResult(*vm.Machine, *vm.Effect, vm.Result) error { return nil }

// ending is what a call record says about how the call ended: the
// telephony ending, or credits-exhausted when the meter stopped it.
func ending(final vm.Effect, cause error) string {
	if errors.Is(cause, billing.ErrCreditsExhausted) {
		return "credits-exhausted"
	}
	return telephony.Ending(final, cause)
}

// record opens a voicemail message of a call: a WAV file in b.Recordings,
// written as the caller speaks, so that a long message costs no memory.
func (b *Builder) record(recordings *billing.Recordings, callID string) (session.Recorder, error) {
	f, err := b.openRecording(recordings, callID, "voicemail", 1)
	if err != nil {
		return nil, err
	}
	return &message{f}, nil
}

// message is a voicemail message being recorded to its file.
type message struct{ *recordingFile }

func (m *message) Write(samples []int16) error { return m.w.Write(samples) }

func (m *message) Seconds() float64 { return float64(m.w.Frames()) / prompt.Rate }

func (m *message) Discard() { m.discard() }

func (m *message) Keep() (bool, error) { return m.keep() }

// recordingFile is a recording being written to its WAV file in
// b.Recordings: beside its final name, and renamed when it is kept.
type recordingFile struct {
	b          *Builder
	recordings *billing.Recordings
	callID     string
	kind       string // voicemail | call
	path       string
	f          *os.File
	w          *wav.Writer
}

// openRecording starts the recording of kind of a call, in channels.
func (b *Builder) openRecording(recordings *billing.Recordings, callID, kind string, channels int) (*recordingFile, error) {
	if err := os.MkdirAll(b.Recordings, 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(b.Recordings, "."+safeName(callID)+"-*.wav")
	if err != nil {
		return nil, err
	}
	w, err := wav.NewWriter(f, prompt.Rate, channels)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &recordingFile{b: b, recordings: recordings, callID: callID, kind: kind,
		path: filepath.Join(b.Recordings, safeName(callID)+".wav"), f: f, w: w}, nil
}

func (r *recordingFile) discard() {
	r.w.Close()
	r.f.Close()
	os.Remove(r.f.Name())
}

// keep closes the recording and keeps it within the storage plan: whole
// seconds, rounded up, so that a message of 0.4 s takes a second of the
// plan and no recording is free of the quota. It reports whether the plan
// had room; a recording of nothing is not kept, and not an error.
func (r *recordingFile) keep() (bool, error) {
	err := r.w.Close()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(r.f.Name())
		return false, err
	}
	seconds := (r.w.Frames() + prompt.Rate - 1) / prompt.Rate
	if seconds == 0 {
		os.Remove(r.f.Name())
		return false, nil
	}
	if err := os.Rename(r.f.Name(), r.path); err != nil {
		os.Remove(r.f.Name())
		return false, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeDeadline)
	defer cancel()
	saved, err := r.recordings.Save(ctx, store.Recording{ID: "rec-" + r.callID, CallID: r.callID, Kind: r.kind, Path: r.path, Seconds: seconds})
	if !saved {
		os.Remove(r.path)
	} else {
		r.b.recorded.Store(r.callID, seconds)
	}
	return saved, err
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}
