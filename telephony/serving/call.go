package serving

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony"
	"github.com/callflow/callflow/telephony/prompt"
	"github.com/callflow/callflow/vm"
)

// begin opens a call's record and reserves its first minute; the
// returned hooks start its minutes when the machine answers (after the
// caller's ACK). The record comes first, so that every credit reserved
// for a call belongs to a record that says which node runs it (see
// Recover). ctx bounds the store's work: a store that does not answer in
// time fails the call, which is refused.
func (b *Builder) begin(ctx context.Context, c telephony.CallInfo, stop func(error), l *telephony.Live, ledger *billing.Ledger, rate billing.Micro, flowVersion int64) ([]vm.Hook, func(vm.Effect, error), error) {
	now := time.Now()
	path := &telephony.PathHook{Program: l.Programs[c.Flow]}
	rec := store.Call{ID: c.ID, Direction: "incoming", From: c.From, To: c.Number, Flow: c.Flow, FlowVersion: flowVersion, StartedAt: now, LastSeenAt: now, Node: b.Node}
	if n, ok := l.Table.Numbers[c.Number]; ok {
		rec.NumberName = n.Name
	}
	if err := b.Store.SaveCall(ctx, rec); err != nil {
		return nil, nil, fmt.Errorf("opening the call's record: %w", err)
	}
	// From here on the call's own work does not give up with ctx: a
	// reservation or a record that was started is finished.
	work := context.WithoutCancel(ctx)
	meter := &billing.Meter{Ledger: ledger, CallID: c.ID, Rate: rate}
	if err := meter.Reserve(ctx, now); err != nil {
		// Refused: the record says why, and the meter holds nothing.
		rec.EndedAt, rec.Ending = now, "refused-server-error"
		refusal := err
		if errors.Is(err, billing.ErrCreditsExhausted) {
			rec.Ending = "no-credits"
			refusal = &telephony.ErrRefused{Status: 402, Reason: "Payment Required"}
		}
		if err := b.Store.SaveCall(work, rec); err != nil {
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
		switch err := meter.Tick(work, t); {
		case errors.Is(err, billing.ErrCreditsExhausted):
			b.Log.Warn("credits exhausted: ending the call", "call", c.ID)
			stop(err)
		case err != nil:
			// The minute is charged at the next tick, or at hang-up.
			b.Log.Error("meter", "call", c.ID, "err", err)
		}
		rec.LastSeenAt, rec.Path = t, path.Path()
		if err := b.Store.SaveCall(work, rec); err != nil {
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
		if err := meter.Stop(work, t); err != nil {
			b.Log.Error("meter", "call", c.ID, "err", err)
		}
		rec.Path, rec.EndedAt, rec.LastSeenAt = path.Path(), t, t
		rec.Ending = ending(final, cause)
		rec.Credits = int64(rate) * int64(meter.Minutes())
		if s, ok := b.recorded.LoadAndDelete(c.ID); ok {
			rec.RecordingS = s.(int64)
		}
		if err := b.Store.SaveCall(work, rec); err != nil {
			b.Log.Error("call record", "call", c.ID, "err", err)
		}
	}
	return []vm.Hook{confirm, meter, path}, end, nil
}

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

// ending is what a call record says about how the call ended: the
// telephony ending, or credits-exhausted when the meter stopped it.
func ending(final vm.Effect, cause error) string {
	if errors.Is(cause, billing.ErrCreditsExhausted) {
		return "credits-exhausted"
	}
	return telephony.Ending(final, cause)
}

// save keeps a voicemail message as a WAV file in b.Recordings, within
// the storage plan, and remembers its length for the call's record.
func (b *Builder) save(recordings *billing.Recordings, callID string, a prompt.Audio) (bool, error) {
	if err := os.MkdirAll(b.Recordings, 0o755); err != nil {
		return false, err
	}
	path := filepath.Join(b.Recordings, safeName(callID)+".wav")
	f, err := os.Create(path)
	if err != nil {
		return false, err
	}
	if err := prompt.EncodeWAV(f, a); err != nil {
		f.Close()
		return false, err
	}
	f.Close()
	// Whole seconds, rounded up: a message of 0.4 s takes a second
	// of the plan, so that no message is free of the quota.
	seconds := int64((a.Duration() + time.Second - 1) / time.Second)
	saved, err := recordings.Save(context.Background(), store.Recording{ID: "rec-" + callID, CallID: callID, Kind: "voicemail", Path: path, Seconds: seconds})
	if !saved {
		os.Remove(path)
	} else {
		b.recorded.Store(callID, seconds)
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
