package serving

import (
	"context"
	"time"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/store"
)

// StaleAfter is how long an open call's record may go without news
// before any node takes its server for gone: a running call's record is
// brought up to date every minute.
const StaleAfter = 5 * time.Minute

// Recover repairs what a crash of node left behind, before node takes
// calls again: it closes, at their last known time, the node's calls
// still open (as server-stopped) and any call not seen for StaleAfter
// (a node that crashed and never came back), and gives back the credits
// reserved for calls that are not running — those of the calls it closed,
// and any whose call has ended. Calls other nodes are running keep theirs.
// It also does the work a crash left due (an auto-recharge, a
// notification). It returns how many calls it closed and how many
// reservations it gave back.
func Recover(ctx context.Context, st *store.Store, node string) (closed, released int, err error) {
	if closed, err = st.CloseUnfinished(ctx, node, time.Now().Add(-StaleAfter)); err != nil {
		return 0, 0, err
	}
	ledger, err := liveLedger(ctx, st)
	if err != nil {
		return closed, 0, err
	}
	// What fails stays due for a later charge.
	ledger.FollowUp(ctx)
	released, err = releaseEnded(ctx, st, ledger)
	return closed, released, err
}

// RepairStale closes the calls of servers that are gone (not seen for
// StaleAfter) and gives back what they held; a running server calls it
// now and then (with the billing job). It returns what Recover does.
func RepairStale(ctx context.Context, st *store.Store) (closed, released int, err error) {
	if closed, err = st.CloseStale(ctx, time.Now().Add(-StaleAfter)); err != nil {
		return 0, 0, err
	}
	ledger, err := liveLedger(ctx, st)
	if err != nil {
		return closed, 0, err
	}
	released, err = releaseEnded(ctx, st, ledger)
	return closed, released, err
}

// liveLedger is the ledger as the live version configures it.
func liveLedger(ctx context.Context, st *store.Store) (*billing.Ledger, error) {
	m, _, err := billing.LiveModel(ctx, st)
	if err != nil {
		return nil, err
	}
	return billing.NewLedger(st, m), nil
}

// releaseEnded gives back the reservations of calls that are not open.
// Which calls are open is read after the reservations (see
// ReleaseReservations): a call's record is opened before its first
// reservation, so a reservation read earlier belongs to a call that was
// open by then, and is kept unless that call has ended.
func releaseEnded(ctx context.Context, st *store.Store, ledger *billing.Ledger) (int, error) {
	var open map[string]bool
	var openErr error
	released, err := ledger.ReleaseReservations(ctx, func(call string) bool {
		if open == nil && openErr == nil {
			open, openErr = st.OpenCalls(ctx)
		}
		return openErr != nil || open[call] // when unsure, keep it
	})
	if err == nil {
		err = openErr
	}
	return released, err
}
