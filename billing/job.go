package billing

import (
	"context"
	"strings"

	"github.com/callflow/callflow/live"
	"github.com/callflow/callflow/store"
)

// Job is what one run of the monthly billing job did.
type Job struct {
	Fees      []FeeResult
	Expired   int   // recordings deleted by retention
	Unpaid    int   // fees the balance could not pay; they stay due
	Failed    int   // fees that failed for another reason
	ExpireErr error // retention's error; the fees are charged regardless
	PruneErr  error // pruning zero balances failed; nothing is lost, it runs again next time

	// Model is the typed live model the job ran with; nil when nothing
	// is applied.
	Model *live.Model
	// Ledger is the ledger the job charged.
	Ledger *Ledger
}

// RunJob charges the monthly fees that are due under the live version
// and applies its recording retention. `callflow billing run` and the
// server's schedule both run it; each fee is keyed by (item, month), so
// running it again, or on several nodes at once, never charges twice.
func RunJob(ctx context.Context, st *store.Store) (*Job, error) {
	m, _, err := LiveModel(ctx, st)
	if err != nil {
		return nil, err
	}
	l := NewLedger(st, m)
	results, err := l.RunMonthly(ctx, MonthlyFees(m))
	if err != nil {
		return nil, err
	}
	job := &Job{Fees: results, Model: m, Ledger: l}
	// Retention runs whatever the fees did; its error is reported after
	// the fees, which are charged already.
	job.Expired, job.ExpireErr = NewRecordings(st, m).Expire(ctx)
	// The kept balances of calls that have ended are zero: forget them.
	_, job.PruneErr = st.PruneBalances(ctx)
	for _, r := range results {
		switch {
		case r.Outcome == "unpaid":
			job.Unpaid++
		case strings.HasPrefix(r.Outcome, "error"):
			job.Failed++
		}
	}
	return job, nil
}
