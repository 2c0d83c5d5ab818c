package plan

import (
	"context"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/store"
)

// Ledger builds the organisation's ledger from what is live: its
// auto-recharge setting (off for partners) and its currency.
func Ledger(ctx context.Context, st *store.Store) (*billing.Ledger, *Snapshot, error) {
	live, err := st.Live(ctx)
	if err != nil {
		return nil, nil, err
	}
	snap := Empty()
	if live.Version.ID != 0 {
		if snap, err = ParseSnapshot(live.Config); err != nil {
			return nil, nil, err
		}
	}
	l := &billing.Ledger{Store: st, Clock: billing.SystemClock{}, Payments: billing.Invoice{}}
	if low, err := billing.ParseCredits(snap.Credits["low_balance"]); err == nil {
		l.LowBalance = low
	}
	partner := snap.Organization["partner"] == "true" || snap.Organization["managed_by_partner"] == "true"
	if snap.Credits["auto_recharge"] == "true" && !partner {
		threshold, err1 := billing.ParseCredits(snap.Credits["auto_recharge.threshold"])
		amount, err2 := billing.ParseCredits(snap.Credits["auto_recharge.amount"])
		if err1 == nil && err2 == nil {
			l.AutoRecharge = billing.AutoRecharge{Enabled: true, Threshold: threshold, Amount: amount}
		}
	}
	return l, snap, nil
}

// Recordings is the organisation's recording storage under the live
// configuration's plan and retention.
func Recordings(st *store.Store, snap *Snapshot) *billing.Recordings {
	p := snap.Recordings["plan"]
	if p == "" {
		p = "free"
	}
	return &billing.Recordings{Store: st, Clock: billing.SystemClock{}, Plan: p, DeleteAfter: snap.Recordings["delete_after"]}
}
