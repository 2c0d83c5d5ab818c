package serving

import (
	"context"
	"time"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/live"
	"github.com/callflow/callflow/outbound"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony"
)

// outboundCalls are the version's outgoing calls (S25): their policy
// (package outbound), and each allowed call's meter and record.
type outboundCalls struct {
	b      *Builder
	model  *live.Model
	ledger *billing.Ledger
}

// check decides whether user may call dialled, and how.
func (o *outboundCalls) check(user, dialled string) outbound.Decision {
	return outbound.Check(o.model, user, dialled)
}

// refused records a call the policy refused (S29: a call to China is
// recorded as refused), charged nothing.
func (o *outboundCalls) refused(ctx context.Context, id string, d outbound.Decision) {
	now := time.Now()
	rec := store.Call{ID: id, Direction: "outgoing", Agent: d.User, From: d.CallerID, To: d.Destination.E164,
		StartedAt: now, LastSeenAt: now, EndedAt: now, Ending: "refused-" + string(d.Refusal), Node: o.b.Node}
	if rec.To == "" {
		rec.To = d.Dialled
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeDeadline)
	defer cancel()
	if err := o.b.Store.SaveCall(sctx, rec); err != nil {
		o.b.Log.Error("call record", "call", id, "err", err)
	}
}

// begin opens an allowed call's record and reserves its first minute at
// the destination's rate: a call starts only when that minute is
// covered (S1). confirm starts its minutes once the callee answered; end
// settles and closes it with its ending. record says whether the call is
// recorded (the user's record_outgoing).
func (o *outboundCalls) begin(ctx context.Context, id string, d outbound.Decision, stop func(error)) (confirm func(), end func(string), record bool, err error) {
	now := time.Now()
	rec := store.Call{ID: id, Direction: "outgoing", Agent: d.User, From: d.CallerID, To: d.Destination.E164,
		StartedAt: now, LastSeenAt: now, Node: o.b.Node}
	for _, n := range o.model.Numbers {
		if n.E164 == d.CallerID {
			rec.NumberName = n.Name
		}
	}
	m, err := o.b.meterCall(ctx, rec, o.ledger, billing.Micro(d.RatePerMinute), stop, nil)
	if err != nil {
		return nil, nil, false, err
	}
	u, _ := o.model.User(d.User)
	answered := func() {
		// The callee answered: for the history, the call was answered
		// then (S28), and its minutes start.
		m.mu.Lock()
		m.rec.AnsweredAt = time.Now()
		m.mu.Unlock()
		m.confirm()
	}
	return answered, m.end, u.RecordOutgoing, nil
}

// outboundOf is the Live's outgoing-call hooks.
func (b *Builder) outboundOf(m *live.Model, ledger *billing.Ledger) telephony.Outbound {
	o := &outboundCalls{b: b, model: m, ledger: ledger}
	return telephony.Outbound{Check: o.check, Refused: o.refused, Begin: o.begin}
}
