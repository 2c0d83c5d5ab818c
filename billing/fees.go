package billing

import (
	"context"
	"errors"
	"fmt"

	"github.com/callflow/callflow/store"
)

// FeeItem is something charged every calendar month (S1): a number, or
// the recording storage plan.
type FeeItem struct {
	// Key identifies what is charged, whatever it is called: "number:+1…"
	// for a number, "storage:50k" for a plan. A number renamed in the
	// configuration is not charged again; a plan changed in the month is
	// the new plan's fee.
	Key  string
	Item string // "number.support" or "recordings", for people
	What string // "toll_free US", "plan 50k"
	Fee  Micro
}

// FeeResult is what the billing job did with one fee.
type FeeResult struct {
	Item    string `json:"item"`
	Month   string `json:"month"`
	Fee     Micro  `json:"fee_micro"`
	Outcome string `json:"outcome"` // charged | already-charged | unpaid | free | error: …
}

// RunMonthly charges every item's fee for the calendar month of the
// ledger's clock, after first retrying the fees of earlier months that
// could not be paid. Each charge is keyed by what is charged and the
// month, so running the job again, or after a crash, never charges twice.
// A fee the balance cannot pay is not dropped: it is kept until paid, and
// the administrator is notified (S1). One item's failure never stops the
// others.
func (l *Ledger) RunMonthly(ctx context.Context, items []FeeItem) ([]FeeResult, error) {
	month := l.Clock.Now().UTC().Format("2006-01")
	var out []FeeResult
	unpaid, err := l.Store.UnpaidFees(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range unpaid {
		if f.Month == month {
			continue // charged below with this month's items
		}
		out = append(out, l.chargeFee(ctx, FeeItem{Item: f.Item, What: f.What, Fee: Micro(f.Amount)}, f.Key, f.Month))
	}
	for _, it := range items {
		if it.Fee == 0 {
			out = append(out, FeeResult{Item: it.Item, Month: month, Outcome: "free"})
			continue
		}
		out = append(out, l.chargeFee(ctx, it, fmt.Sprintf("fee:%s:%s", it.Key, month), month))
	}
	return out, nil
}

func (l *Ledger) chargeFee(ctx context.Context, it FeeItem, key, month string) FeeResult {
	r := FeeResult{Item: it.Item, Month: month, Fee: it.Fee}
	kind, revenue := KindNumberFee, Numbers
	if it.Item == "recordings" {
		kind, revenue = KindStorageFee, Storage
	}
	_, replay, err := l.debit(ctx, key, kind, "billing", fmt.Sprintf("%s (%s) fee for %s", it.Item, it.What, month), Available, revenue, it.Fee)
	switch {
	case errors.Is(err, store.ErrIdempotencyConflict):
		// This month's fee for it is paid, on the terms it had then.
		r.Outcome = "already-charged"
	case errors.Is(err, ErrInsufficient):
		r.Outcome = "unpaid"
		available, _, _ := l.Balance(ctx)
		msg := fmt.Sprintf("The %s fee of %s credits for %s (%s) could not be paid: the balance is %s. It stays due; buy credits, and the next billing run charges it.", month, it.Fee, it.Item, it.What, available)
		if err := l.Store.AddUnpaidFee(ctx, store.UnpaidFee{Key: key, Item: it.Item, What: it.What, Month: month, Amount: int64(it.Fee)}); err != nil {
			r.Outcome = "error: " + err.Error()
		} else if err := l.Store.Notify(ctx, "fee-unpaid", msg, "unpaid:"+key); err != nil {
			r.Outcome = "error: " + err.Error()
		}
		return r
	case err != nil:
		r.Outcome = "error: " + err.Error()
		return r
	case replay:
		r.Outcome = "already-charged"
	default:
		r.Outcome = "charged"
	}
	if err := l.Store.FeePaid(ctx, key); err != nil {
		r.Outcome = "error: " + err.Error()
	}
	return r
}
