package serving

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/internal/storetest"
	"github.com/callflow/callflow/internal/tooltest"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony"
	"github.com/callflow/callflow/vm"
)

// After a crash, a node closes its own open calls, and those of a node
// not heard from for StaleAfter, and gives back what their meters held;
// calls another node is running keep their records open and their credits
// reserved. A running server repairs stale calls too.
func TestRecoverTouchesOnlyItsNode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store, _ string) {
		ctx := context.Background()
		ledger, err := liveLedger(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ledger.Buy(ctx, "buy", billing.Credits(10, 0), "t"); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		rate := billing.Credits(1, 0)
		gone := start.Add(-StaleAfter - time.Minute) // the last news of node c
		for _, c := range []struct {
			id, node string
			seen     time.Time
		}{{"mine", "a", start}, {"theirs", "b", start}, {"ended", "b", start}, {"lost", "c", gone}} {
			if err := st.SaveCall(ctx, store.Call{ID: c.id, Direction: "incoming", StartedAt: c.seen, LastSeenAt: c.seen, Node: c.node}); err != nil {
				t.Fatal(err)
			}
			m := &billing.Meter{Ledger: ledger, CallID: c.id, Rate: rate}
			if err := m.Start(ctx, start); err != nil {
				t.Fatal(err)
			}
		}
		// "ended" was closed, but its node died before giving its credit back.
		if err := st.SaveCall(ctx, store.Call{ID: "ended", Direction: "incoming", StartedAt: start, EndedAt: start.Add(time.Second), Node: "b", Ending: "flow-end"}); err != nil {
			t.Fatal(err)
		}

		closed, released, err := Recover(ctx, st, "a")
		if err != nil || closed != 2 || released != 3 {
			t.Fatalf("Recover(a) = %d closed, %d released, %v; want 2 (mine, lost) and 3 (mine, lost, ended)", closed, released, err)
		}
		open, err := st.OpenCalls(ctx)
		if err != nil || len(open) != 1 || !open["theirs"] {
			t.Fatalf("open calls after a's repair: %v %v; want b's running call only", open, err)
		}
		held, err := st.Balances(ctx, billing.Reserved+":")
		if err != nil || len(held) != 1 || held[billing.Reserved+":theirs"] != int64(rate) {
			t.Fatalf("reserved after a's repair: %v %v; want only b's running call's minute", held, err)
		}
		if avail, _, err := ledger.Balance(ctx); err != nil || avail != billing.Credits(9, 0) {
			t.Fatalf("available = %s, %v; want 9 (one minute still held for b)", avail, err)
		}
		// Later b goes quiet: a running server closes its call.
		if err := st.SaveCall(ctx, store.Call{ID: "theirs", Direction: "incoming", StartedAt: gone, LastSeenAt: gone, Node: "b"}); err != nil {
			t.Fatal(err)
		}
		if closed, released, err := RepairStale(ctx, st); err != nil || closed != 1 || released != 1 {
			t.Fatalf("RepairStale = %d closed, %d released, %v; want b's call and its minute", closed, released, err)
		}
		if avail, _, err := ledger.Balance(ctx); err != nil || avail != billing.Credits(10, 0) {
			t.Fatalf("available = %s, %v; want all 10 back", avail, err)
		}
		if err := st.CheckLedger(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// A running call's record is brought up to date as it goes (every minute;
// here every 50 ms), so that a crash loses only its last moments; the
// call's end stops the updates, and the record is closed once.
func TestRunningCallRecordKeepsUp(t *testing.T) {
	tooltest.RequireSpeech(t) // acme speaks
	ctx := context.Background()
	st := storetest.Open(t, filepath.Join(t.TempDir(), "callflow.db"))
	storetest.ApplyDir(t, st, filepath.Join("..", "..", "examples", "acme"))
	ledger, err := liveLedger(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.Buy(ctx, "buy", billing.Credits(10, 0), "t"); err != nil {
		t.Fatal(err)
	}
	b := &Builder{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Recordings: t.TempDir(), every: 50 * time.Millisecond}
	live, err := b.Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hooks, end, err := live.Begin(context.Background(), telephony.CallInfo{ID: "c1", From: "+14155550000", Number: "+18005550199", Flow: "support"}, func(error) {})
	if err != nil {
		t.Fatal(err)
	}
	answered(hooks) // the caller's ACK arrived: the call's minutes run
	record := func() store.Call {
		t.Helper()
		cs, err := st.Calls(ctx, store.CallFilter{})
		if err != nil || len(cs) != 1 {
			t.Fatalf("calls: %v %v", cs, err)
		}
		return cs[0]
	}
	first := record()
	for deadline := time.Now().Add(5 * time.Second); !record().LastSeenAt.After(first.LastSeenAt.Add(100 * time.Millisecond)); {
		if time.Now().After(deadline) {
			t.Fatalf("the running call's record was not brought up to date: last seen %s, started %s", record().LastSeenAt, first.StartedAt)
		}
		time.Sleep(10 * time.Millisecond) // polling the store
	}
	end(vm.Effect{Kind: vm.EffectHangup, Reason: vm.ReasonFlowEnd}, nil)
	closed := record()
	if closed.EndedAt.IsZero() || closed.Ending != "flow-end" || closed.Credits <= 0 {
		t.Fatalf("the closed record: %+v; want it ended, flow-end, its first minute charged", closed)
	}
	if held, err := st.Balances(ctx, billing.Reserved+":"); err != nil || len(held) != 0 {
		t.Fatalf("still reserved after the call: %v %v", held, err)
	}
}

// answered shows a call's hooks the machine's answer, as the server's
// session does once the caller confirmed the call.
func answered(hooks []vm.Hook) {
	for _, h := range hooks {
		h.OnEffect(nil, &vm.Effect{Kind: vm.EffectAnswer})
	}
}
