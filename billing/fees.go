package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// FeeItem is something charged every calendar month (S1): a number, or
// the recording storage plan.
type FeeItem struct {
	Item string // "number.support" or "recordings"
	What string // "toll_free US", "plan 50k"
	Fee  Micro
}

// FeeResult is what the billing job did with one item this month.
type FeeResult struct {
	Item    string `json:"item"`
	Fee     Micro  `json:"fee_micro"`
	Outcome string `json:"outcome"` // charged | already-charged | unpaid | free
}

// RunMonthly charges every item's fee for the calendar month of the
// ledger's clock. Each charge is keyed by (item, month), so running the
// job again, or after a crash, never charges twice. A fee the balance
// cannot pay is not dropped: the item gets a notification and the job
// goes on with the others (S1).
func (l *Ledger) RunMonthly(ctx context.Context, items []FeeItem) ([]FeeResult, error) {
	month := l.Clock.Now().UTC().Format("2006-01")
	var out []FeeResult
	for _, it := range items {
		r := FeeResult{Item: it.Item, Fee: it.Fee}
		if it.Fee == 0 {
			r.Outcome = "free"
			out = append(out, r)
			continue
		}
		kind, revenue := KindNumberFee, Numbers
		if !strings.HasPrefix(it.Item, "number.") {
			kind, revenue = KindStorageFee, Storage
		}
		key := fmt.Sprintf("fee:%s:%s", it.Item, month)
		before, _, _ := l.Balance(ctx)
		_, err := l.debit(ctx, key, kind, "billing", fmt.Sprintf("%s %s fee for %s", it.Item, it.What, month), Available, revenue, it.Fee)
		after, _, _ := l.Balance(ctx)
		switch {
		case errors.Is(err, ErrInsufficient):
			r.Outcome = "unpaid"
			msg := fmt.Sprintf("The %s fee of %s credits for %s (%s) could not be paid: the balance is %s. Buy credits, then run callflow billing run again.", month, it.Fee, it.Item, it.What, before)
			if nerr := l.Store.Notify(ctx, "fee-unpaid", msg, "unpaid:"+key); nerr != nil {
				return out, nerr
			}
		case err != nil:
			return out, err
		case before == after:
			r.Outcome = "already-charged"
		default:
			r.Outcome = "charged"
		}
		out = append(out, r)
	}
	return out, nil
}
