package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/vm"
)

// ErrCreditsExhausted stops a call whose next minute cannot be covered.
var ErrCreditsExhausted = errors.New("credits exhausted")

// reservedPrefix names the per-call accounts that hold credits reserved
// for calls in progress: "org:reserved:<call id>". Each call draws only
// on its own reservation, so no call can spend another's.
const reservedPrefix = Reserved + ":"

// Meter charges one call per started minute, at once, while it runs (S1).
// It keeps one minute reserved ahead in the call's own account: Start
// reserves the first minute (a call is not answered unless it is
// covered); Confirm, when the caller acknowledges the answer, starts the
// call's minutes; Tick, on every minute boundary, charges the minute that
// ended and reserves the next; Stop, at hang-up, charges the minute in
// progress, if the call entered it, and gives back whatever the call
// still holds. A call that is never confirmed is never charged.
// Every step is keyed by call and minute, so a retried step never charges
// twice, and a call id must not be reused.
//
// The meter is a vm.Hook: once a minute cannot be covered, every hook
// call returns ErrCreditsExhausted, and the machine ends the call. A
// Meter belongs to one call and is not safe for concurrent use; calls
// running at once share the ledger, whose reservations never overdraw.
type Meter struct {
	Ledger *Ledger
	CallID string
	Rate   Micro // per minute
	// Open, when set, is the call's record, written in the same commit
	// as its first reservation: a call's credit is never held without a
	// record that says which node runs it, and it costs one write.
	Open *store.Call

	start     time.Time
	reserved  int  // minutes reserved so far (1 after Start)
	charged   int  // minutes charged so far
	confirmed bool // the caller acknowledged the answer: minutes run
	stopped   bool
	// exhausted holds ErrCreditsExhausted once a minute cannot be
	// covered; the call's machine reads it (OnEffect) while a timer ticks
	// the meter, so it is atomic.
	exhausted atomic.Pointer[error]
}

func (m *Meter) account() string { return reservedPrefix + m.CallID }

// Start reserves the call's first minute and starts its minutes at now,
// for a call that is confirmed as it begins. It fails with
// ErrCreditsExhausted when the balance cannot cover the minute.
func (m *Meter) Start(ctx context.Context, now time.Time) error {
	if err := m.Reserve(ctx, now); err != nil {
		return err
	}
	m.Confirm(now)
	return nil
}

// Reserve reserves the call's first minute before it is answered; its
// minutes start with Confirm. It fails with ErrCreditsExhausted when the
// balance cannot cover the minute.
func (m *Meter) Reserve(ctx context.Context, now time.Time) error {
	m.start = now
	return m.reserve(ctx, 1)
}

// Confirm starts the call's minutes at now: the caller acknowledged the
// answer (its ACK arrived).
func (m *Meter) Confirm(now time.Time) {
	m.start, m.confirmed = now, true
}

// Tick charges every minute that has ended by now and keeps the next one
// reserved. It returns ErrCreditsExhausted when a minute cannot be
// covered; the call must then end.
func (m *Meter) Tick(ctx context.Context, now time.Time) error {
	if err := m.err(); m.stopped || err != nil {
		return err
	}
	if !m.confirmed {
		return nil // no minute runs before the caller confirmed the call
	}
	ended := int(now.Sub(m.start) / time.Minute)
	for m.charged < ended {
		if m.reserved < m.charged+1 {
			if err := m.reserve(ctx, m.charged+1); err != nil {
				return err
			}
		}
		if err := m.charge(ctx, m.charged+1, nil); err != nil {
			return err
		}
	}
	// Keep the minute in progress covered. A reservation that failed for
	// any reason is tried again on the next tick.
	if m.reserved < m.charged+1 {
		return m.reserve(ctx, m.charged+1)
	}
	return nil
}

// Stop ends the call at now: it charges the minute in progress when the
// call entered it (a call of 61 seconds costs two minutes, one of exactly
// 60 seconds one) and gives back whatever the call still holds. Stop is
// idempotent; Tick after Stop does nothing.
func (m *Meter) Stop(ctx context.Context, now time.Time) error {
	return m.StopRecord(ctx, now, nil)
}

// StopRecord is Stop that also closes the call's record: closing, given
// the minutes the call was charged in all, returns the record, which is
// written in the same commit as the meter's last posting (or alone, when
// the meter has nothing left to post). With closing nil it is Stop.
func (m *Meter) StopRecord(ctx context.Context, now time.Time, closing func(minutes int) store.Call) error {
	if m.stopped {
		return nil
	}
	if err := m.Tick(ctx, now); err != nil && !errors.Is(err, ErrCreditsExhausted) {
		return err
	}
	inProgress := m.confirmed && m.charged < m.reserved && now.After(m.start.Add(time.Duration(m.charged)*time.Minute))
	minutes := m.charged
	if inProgress {
		minutes++
	}
	// Every minute reserved and not charged is given back; when there is
	// none, the charge of the minute in progress is the last posting.
	release := m.reserved > minutes
	var record *store.Call
	if closing != nil {
		r := closing(minutes)
		record = &r
	}
	if inProgress {
		var withRecord *store.Call
		if !release {
			withRecord = record
		}
		err := m.charge(ctx, m.charged+1, withRecord)
		switch {
		case err == nil && withRecord != nil:
			record = nil // written with the charge
		case err != nil && !errors.Is(err, ErrCreditsExhausted):
			return err
		case err != nil && closing != nil:
			r := closing(m.charged) // the minute was not charged after all
			record = &r
		}
	}
	// Every minute reserved was charged: the call's account is empty,
	// and there is nothing to give back (or to read).
	if release {
		if err := m.Ledger.release(ctx, m.CallID, record); err != nil {
			return err
		}
		record = nil
	}
	if record != nil {
		if err := m.Ledger.Store.SaveCall(ctx, *record); err != nil {
			return err
		}
	}
	m.stopped = true
	return nil
}

// Confirmed reports whether the call's minutes have started.
func (m *Meter) Confirmed() bool { return m.confirmed }

// Minutes returns how many minutes have been charged.
func (m *Meter) Minutes() int { return m.charged }

func (m *Meter) reserve(ctx context.Context, minute int) error {
	var open *store.Call
	if minute == 1 {
		open = m.Open
	}
	_, _, err := m.Ledger.debitWith(ctx, open, fmt.Sprintf("call:%s:reserve:%d", m.CallID, minute), KindReserve, m.CallID,
		fmt.Sprintf("minute %d of call %s", minute, m.CallID), Available, m.account(), m.Rate)
	if err != nil {
		return m.fail(err)
	}
	m.reserved = minute
	return nil
}

// charge moves one reserved minute from the call's account to revenue,
// writing the call's record with it when record is not nil.
func (m *Meter) charge(ctx context.Context, minute int, record *store.Call) error {
	_, _, err := m.Ledger.debitWith(ctx, record, fmt.Sprintf("call:%s:settle:%d", m.CallID, minute), KindSettle, m.CallID,
		fmt.Sprintf("minute %d of call %s", minute, m.CallID), m.account(), Calls, m.Rate)
	if err != nil {
		return m.fail(err)
	}
	m.charged = minute
	return nil
}

// fail records that credits ran out, so that the hooks stop the call.
func (m *Meter) fail(err error) error {
	if errors.Is(err, ErrInsufficient) {
		err = fmt.Errorf("%w: %v", ErrCreditsExhausted, err)
		m.exhausted.Store(&err)
		return err
	}
	return err
}

// OnEffect implements vm.Hook: it stops the call once credits run out.
func (m *Meter) OnEffect(*vm.Machine, *vm.Effect) error { return m.err() }

// OnResult implements vm.Hook.
func (m *Meter) OnResult(*vm.Machine, *vm.Effect, vm.Result) error { return m.err() }

// err is ErrCreditsExhausted (wrapped) once credits ran out, else nil.
func (m *Meter) err() error {
	if e := m.exhausted.Load(); e != nil {
		return *e
	}
	return nil
}

// release gives back whatever a call's account still holds, writing
// the call's record with it when record is not nil.
func (l *Ledger) release(ctx context.Context, callID string, record *store.Call) error {
	account := reservedPrefix + callID
	held, err := l.Store.Balance(ctx, account)
	if err != nil {
		return err
	}
	if held == 0 {
		if record != nil {
			return l.Store.SaveCall(ctx, *record)
		}
		return nil
	}
	_, _, err = l.Store.Post(ctx, store.Txn{
		Key: "call:" + callID + ":release", Kind: KindRelease, Actor: callID, Call: record,
		Memo: "unused reservation of call " + callID, CreatedAt: l.Clock.Now(),
		Postings: []store.Posting{{Account: account, Amount: -held}, {Account: Available, Amount: held}},
	}, func(balance func(string) (int64, error)) ([]store.FollowUp, error) {
		// Nothing may have moved since held was read; if it did, the
		// call is still being metered, and giving back what was read
		// would be wrong.
		if now, err := balance(account); err != nil || now != held {
			return nil, fmt.Errorf("call %s: its reservation changed from %d to %d while it was being given back: %v", callID, held, now, err)
		}
		return nil, nil
	})
	return err
}

// ReleaseReservations gives back the reservations of calls that are not
// running — after a crash, their meters never stopped. running reports
// whether a call is in progress; it is first called after the
// reservations have been read, so that a call that began since is not
// mistaken for one that ended. It returns how many calls it released.
func (l *Ledger) ReleaseReservations(ctx context.Context, running func(callID string) bool) (int, error) {
	held, err := l.Store.Balances(ctx, reservedPrefix)
	if err != nil {
		return 0, err
	}
	n := 0
	for account := range held {
		call := strings.TrimPrefix(account, reservedPrefix)
		if running(call) {
			continue
		}
		if err := l.release(ctx, call, nil); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
