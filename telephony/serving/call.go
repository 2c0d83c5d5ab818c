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

// begin opens a call's record and reserves its first minute (see
// meterCall); the returned hooks start its minutes when the machine
// answers (after the caller's ACK), and its end settles the meter and
// closes the record.
func (b *Builder) begin(ctx context.Context, c telephony.CallInfo, stop func(error), l *telephony.Live, ledger *billing.Ledger, rate billing.Micro, flowVersion int64) ([]vm.Hook, func(vm.Effect, error), error) {
	now := time.Now()
	path := &telephony.PathHook{Program: l.Programs[c.Flow]}
	rec := store.Call{ID: c.ID, Direction: "incoming", From: c.From, To: c.Number, Flow: c.Flow, FlowVersion: flowVersion, StartedAt: now, LastSeenAt: now, Node: b.Node}
	if n, ok := l.Table.Numbers[c.Number]; ok {
		rec.NumberName = n.Name
	}
	m, err := b.meterCall(ctx, rec, ledger, rate, stop, path.Path)
	if err != nil {
		return nil, nil, err
	}
	confirm := answerHook(m.confirm)
	end := func(final vm.Effect, cause error) { m.end(ending(final, cause)) }
	return []vm.Hook{confirm, m.meter, path, m.report()}, end, nil
}

// metered is a call's record and meter, from its first reserved minute
// to its end: every minute the meter charges and the record is brought up
// to date, from a timer rather than a goroutine of the call's own; the
// timer, the confirmation and the end take turns with the meter, which
// is not safe for concurrent use.
type metered struct {
	b     *Builder
	meter *billing.Meter
	rate  billing.Micro
	stop  func(error)
	path  func() []string // the states passed so far; nil for none
	work  context.Context // the call's store work, which outlives the INVITE's

	mu        sync.Mutex
	rec       store.Call // guarded by mu
	ended     bool       // guarded by mu
	minutes   int        // guarded by mu
	timer     *time.Timer
	confirmed time.Time
}

// meterCall opens a call's record and reserves its first minute at rate,
// in one write, so that every credit reserved for a call belongs to a
// record that says which node runs it (see Recover). ctx bounds the
// store's work: a store that does not answer in time fails the call,
// which is refused. A call refused for want of credits gets an
// ErrRefused with 402; its record says why.
func (b *Builder) meterCall(ctx context.Context, rec store.Call, ledger *billing.Ledger, rate billing.Micro, stop func(error), path func() []string) (*metered, error) {
	// From here on the call's own work does not give up with ctx (a
	// reservation or a record that was started is finished), but each
	// step has a deadline of its own: a store that does not answer leaves
	// the minute to the next tick, or the call to crash repair.
	m := &metered{b: b, rate: rate, stop: stop, path: path, work: context.WithoutCancel(ctx), rec: rec}
	opening := rec
	m.meter = &billing.Meter{Ledger: ledger, CallID: rec.ID, Rate: rate, Open: &opening}
	if err := m.meter.Reserve(ctx, rec.StartedAt); err != nil {
		// Refused: the record says why, and the meter holds nothing.
		rec.EndedAt, rec.Ending = rec.StartedAt, "refused-server-error"
		refusal := err
		if errors.Is(err, billing.ErrCreditsExhausted) {
			rec.Ending = "no-credits"
			refusal = &telephony.ErrRefused{Status: 402, Reason: "Payment Required"}
		}
		sctx, cancel := m.step()
		defer cancel()
		if err := b.Store.SaveCall(sctx, rec); err != nil {
			b.Log.Error("call record", "call", rec.ID, "err", err)
		}
		return nil, refusal
	}
	return m, nil
}

func (m *metered) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(m.work, writeDeadline)
}

func (m *metered) passed() []string {
	if m.path == nil {
		return nil
	}
	return m.path()
}

func (m *metered) every() time.Duration {
	if m.b.every == 0 {
		return time.Minute
	}
	return m.b.every
}

// confirm starts the call's minutes: it was answered and confirmed.
func (m *metered) confirm() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ended || m.meter.Confirmed() {
		return
	}
	m.confirmed = time.Now()
	m.meter.Confirm(m.confirmed)
	m.timer = time.AfterFunc(m.every(), m.minute)
}

// minute charges a minute and brings the record up to date.
func (m *metered) minute() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ended {
		return
	}
	t := time.Now()
	sctx, cancel := m.step()
	defer cancel()
	switch err := m.meter.Tick(sctx, t); {
	case errors.Is(err, billing.ErrCreditsExhausted):
		m.b.Log.Warn("credits exhausted: ending the call", "call", m.rec.ID)
		m.stop(err)
	case err != nil:
		// The minute is charged at the next tick, or at hang-up.
		m.b.Log.Error("meter", "call", m.rec.ID, "err", err)
	}
	m.rec.LastSeenAt, m.rec.Path = t, m.passed()
	if err := m.b.Store.SaveCall(sctx, m.rec); err != nil {
		m.b.Log.Error("call record", "call", m.rec.ID, "err", err)
	}
	m.minutes++
	m.timer.Reset(time.Until(m.confirmed.Add(time.Duration(m.minutes+1) * m.every())))
}

// end settles the meter and closes the record, in one write, with the
// call's ending.
func (m *metered) end(ending string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ended = true
	if m.timer != nil {
		m.timer.Stop()
	}
	t := time.Now()
	sctx, cancel := m.step()
	defer cancel()
	rec := &m.rec
	rec.Path, rec.EndedAt, rec.LastSeenAt = m.passed(), t, t
	rec.Ending = ending
	if s, ok := m.b.recorded.LoadAndDelete(rec.ID); ok {
		rec.RecordingS = s.(int64)
	}
	if n, ok := m.b.notes.LoadAndDelete(rec.ID); ok {
		rec.Note = n.(string)
	}
	closing := func(minutes int) store.Call {
		rec.Credits = int64(m.rate) * int64(minutes)
		return *rec
	}
	if err := m.meter.StopRecord(sctx, t, closing); err != nil {
		m.b.Log.Error("meter", "call", rec.ID, "err", err)
		// The record closes all the same; crash repair gives back
		// what the meter still holds.
		if err := m.b.Store.SaveCall(sctx, closing(m.meter.Minutes())); err != nil {
			m.b.Log.Error("call record", "call", rec.ID, "err", err)
		}
	}
}

// report is what the call's agents tell its record.
func (m *metered) report() report {
	return report{
		connected: func(user string, at time.Time) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.rec.Agent, m.rec.AnsweredAt = user, at
		},
		queued: func(d time.Duration) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.rec.QueueWait += d
		},
	}
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
