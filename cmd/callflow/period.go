package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/store"
)

// periodFlags are --period, --from and --to.
type periodFlags struct{ period, from, to string }

func (p *periodFlags) add(cmd *cobra.Command, def string) {
	cmd.PreRunE = func(*cobra.Command, []string) error {
		_, _, err := p.resolve(time.Now())
		return err
	}
	cmd.Flags().StringVar(&p.period, "period", def, "one of "+strings.Join(billing.Periods, ", ")+", or all")
	cmd.Flags().StringVar(&p.from, "from", "", "start date, YYYY-MM-DD (with --to)")
	cmd.Flags().StringVar(&p.to, "to", "", "end date, YYYY-MM-DD, included")
}

// resolve returns [from, to) for the flags.
func (p *periodFlags) resolve(now time.Time) (time.Time, time.Time, error) {
	if p.from != "" || p.to != "" {
		if p.from == "" || p.to == "" {
			return time.Time{}, time.Time{}, usagef("--from and --to go together")
		}
		from, err1 := time.ParseInLocation("2006-01-02", p.from, now.Location())
		to, err2 := time.ParseInLocation("2006-01-02", p.to, now.Location())
		if err1 != nil || err2 != nil {
			return time.Time{}, time.Time{}, usagef("--from and --to are dates written YYYY-MM-DD, such as 2026-11-01")
		}
		if to.Before(from) {
			return time.Time{}, time.Time{}, usagef("--to %s is before --from %s", p.to, p.from)
		}
		return from, to.AddDate(0, 0, 1), nil
	}
	if p.period == "all" {
		return time.Time{}, now.AddDate(100, 0, 0), nil
	}
	from, to, err := billing.PeriodRange(p.period, now)
	if err != nil {
		return from, to, usagef("--period: %v", err)
	}
	return from, to, nil
}

// ledger resolves the period and opens the organisation's ledger.
func (p *periodFlags) ledger(ctx context.Context, st *store.Store) (*billing.Ledger, time.Time, time.Time, error) {
	from, to, err := p.resolve(time.Now())
	if err != nil {
		return nil, from, to, err
	}
	l, _, err := liveLedger(ctx, st)
	return l, from, to, err
}
