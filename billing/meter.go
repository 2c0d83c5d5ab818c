package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/callflow/callflow/vm"
)

// ErrCreditsExhausted stops a call whose next minute cannot be covered.
var ErrCreditsExhausted = errors.New("credits exhausted")

// Meter charges one call per started minute, at once, while it runs (S1).
// It keeps one minute reserved ahead: Start reserves the first minute
// (a call does not start unless it is covered); Tick, on every minute
// boundary, charges the minute that ended and reserves the next; Stop, at
// hang-up, charges the minute in progress and releases nothing else,
// since only that minute was held. Every step is keyed by call and minute,
// so a retried step never charges twice.
//
// The meter is a vm.Hook: once a minute cannot be reserved, every hook
// call returns ErrCreditsExhausted, and the machine ends the call.
// A Meter belongs to one call and is not safe for concurrent use; calls
// running at once share the ledger, whose reservations never overdraw.
type Meter struct {
	Ledger *Ledger
	CallID string
	Rate   Micro // per minute

	start    time.Time
	reserved int // minutes reserved so far (1 after Start)
	charged  int // minutes charged so far
	err      error
}

// Start reserves the call's first minute. It fails with
// ErrCreditsExhausted when the balance cannot cover it.
func (m *Meter) Start(ctx context.Context, now time.Time) error {
	m.start = now
	return m.reserve(ctx, 1)
}

// Tick charges every minute that has ended by now and keeps the next one
// reserved. It returns ErrCreditsExhausted when the next minute cannot be
// covered; the call must then end.
func (m *Meter) Tick(ctx context.Context, now time.Time) error {
	if m.err != nil {
		return m.err
	}
	ended := int(now.Sub(m.start) / time.Minute)
	for m.charged < ended {
		if err := m.charge(ctx, m.charged+1); err != nil {
			return err
		}
		if m.reserved < m.charged+1 {
			if err := m.reserve(ctx, m.charged+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// Stop charges the minute in progress at hang-up. Minutes are charged
// once they start: a call of 61 seconds costs two minutes.
func (m *Meter) Stop(ctx context.Context, now time.Time) error {
	if err := m.Tick(ctx, now); err != nil && !errors.Is(err, ErrCreditsExhausted) {
		return err
	}
	for m.charged < m.reserved {
		if err := m.charge(ctx, m.charged+1); err != nil {
			return err
		}
	}
	return nil
}

// Minutes returns how many minutes have been charged.
func (m *Meter) Minutes() int { return m.charged }

func (m *Meter) reserve(ctx context.Context, minute int) error {
	_, err := m.Ledger.debit(ctx, fmt.Sprintf("call:%s:reserve:%d", m.CallID, minute), KindReserve, m.CallID,
		fmt.Sprintf("minute %d of call %s", minute, m.CallID), Available, Reserved, m.Rate)
	if errors.Is(err, ErrInsufficient) {
		m.err = fmt.Errorf("%w: %v", ErrCreditsExhausted, err)
		return m.err
	}
	if err != nil {
		return err
	}
	m.reserved = minute
	return nil
}

// charge moves a reserved minute to revenue. The minute after it is
// reserved by Tick; charging the last one at hang-up reserves nothing.
func (m *Meter) charge(ctx context.Context, minute int) error {
	_, err := m.Ledger.debit(ctx, fmt.Sprintf("call:%s:settle:%d", m.CallID, minute), KindSettle, m.CallID,
		fmt.Sprintf("minute %d of call %s", minute, m.CallID), Reserved, Calls, m.Rate)
	if err != nil {
		return err
	}
	m.charged = minute
	return nil
}

// OnEffect implements vm.Hook: it stops the call once credits run out.
func (m *Meter) OnEffect(*vm.Machine, *vm.Effect) error { return m.err }

// OnResult implements vm.Hook.
func (m *Meter) OnResult(*vm.Machine, *vm.Effect, vm.Result) error { return m.err }
