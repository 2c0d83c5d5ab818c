package billing

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Periods are the named periods of `credits usage` (S5).
var Periods = []string{"this-quarter", "last-quarter", "this-month", "last-month", "this-week", "last-week"}

// PeriodRange returns [from, to) of a named period around now, in now's
// time zone. Weeks start on Monday.
func PeriodRange(name string, now time.Time) (time.Time, time.Time, error) {
	y, m, d := now.Date()
	loc := now.Location()
	day := time.Date(y, m, d, 0, 0, 0, 0, loc)
	switch name {
	case "this-month", "last-month":
		from := time.Date(y, m, 1, 0, 0, 0, 0, loc)
		if name == "last-month" {
			from = from.AddDate(0, -1, 0)
		}
		return from, from.AddDate(0, 1, 0), nil
	case "this-quarter", "last-quarter":
		from := time.Date(y, m-(m-1)%3, 1, 0, 0, 0, 0, loc)
		if name == "last-quarter" {
			from = from.AddDate(0, -3, 0)
		}
		return from, from.AddDate(0, 3, 0), nil
	case "this-week", "last-week":
		from := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
		if name == "last-week" {
			from = from.AddDate(0, 0, -7)
		}
		return from, from.AddDate(0, 0, 7), nil
	}
	return time.Time{}, time.Time{}, fmt.Errorf("unknown period %q; use one of %v, or --from and --to", name, Periods)
}

// Usage is what was bought and used in a period (S5).
type Usage struct {
	From   time.Time        `json:"from"`
	To     time.Time        `json:"to"`
	Bought Micro            `json:"bought_micro"`
	Used   Micro            `json:"used_micro"`
	ByKind map[string]Micro `json:"used_by_kind_micro"`
}

// UsageKinds are the kinds of use, in the order reports show them.
var UsageKinds = []string{"calls", "numbers", "storage"}

var usageAccount = map[string]string{Calls: "calls", Numbers: "numbers", Storage: "storage"}

// Usage adds up the credits bought and used in [from, to). Credits
// reserved for calls count as used once they are charged.
func (l *Ledger) Usage(ctx context.Context, from, to time.Time) (Usage, error) {
	u := Usage{From: from, To: to, ByKind: map[string]Micro{}}
	for _, k := range UsageKinds {
		u.ByKind[k] = 0
	}
	txns, err := l.Store.Txns(ctx, "", from, to)
	if err != nil {
		return u, err
	}
	for _, t := range txns {
		for _, p := range t.Postings {
			switch {
			case t.Kind == KindPurchase && p.Account == Available:
				u.Bought += Micro(p.Amount)
			case usageAccount[p.Account] != "":
				u.Used += Micro(p.Amount)
				u.ByKind[usageAccount[p.Account]] += Micro(p.Amount)
			}
		}
	}
	return u, nil
}

// Purchase is one line of the purchase history (S6).
type Purchase struct {
	Date   time.Time `json:"date"`
	User   string    `json:"user"`
	Amount Micro     `json:"credits_micro"`
	Memo   string    `json:"memo"`
}

// Purchases lists purchases in [from, to), newest first.
func (l *Ledger) Purchases(ctx context.Context, from, to time.Time) ([]Purchase, error) {
	txns, err := l.Store.Txns(ctx, KindPurchase, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]Purchase, 0, len(txns))
	for _, t := range txns {
		p := Purchase{Date: t.CreatedAt, User: t.Actor, Memo: t.Memo}
		for _, e := range t.Postings {
			if e.Account == Available {
				p.Amount = Micro(e.Amount)
			}
		}
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Date.After(out[j].Date) })
	return out, nil
}
