package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/callflow/callflow/store"
)

func post(t *testing.T, s *store.Store, key, from, to string, amount int64) {
	t.Helper()
	_, _, err := s.Post(context.Background(), store.Txn{Key: key, Kind: "test", Actor: "t",
		Postings: []store.Posting{{Account: from, Amount: -amount}, {Account: to, Amount: amount}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
}

// Balances are kept as postings are made; they must always equal the sum
// of the postings, an account back at zero must vanish from Balances, and
// a store from before kept balances must get them when it is upgraded.
func TestKeptBalances(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store, dsn string) {
		ctx := context.Background()
		post(t, s, "buy", "world", "org:available", 100)
		for i := range 20 {
			call := fmt.Sprintf("org:reserved:call-%d", i)
			post(t, s, fmt.Sprintf("reserve-%d", i), "org:available", call, 3)
			post(t, s, fmt.Sprintf("settle-%d", i), call, "revenue", 2)
			if i%2 == 0 {
				post(t, s, fmt.Sprintf("release-%d", i), call, "org:available", 1)
			}
		}
		post(t, s, "buy", "world", "org:available", 100) // a replay changes nothing
		if err := s.CheckLedger(ctx); err != nil {
			t.Fatal(err)
		}
		if b, err := s.Balance(ctx, "org:available"); err != nil || b != 100-20*3+10 {
			t.Fatalf("available = %d, %v; want %d", b, err, 100-20*3+10)
		}
		held, err := s.Balances(ctx, "org:reserved:")
		if err != nil || len(held) != 10 {
			t.Fatalf("reservations still holding: %v %v; want the 10 not released", held, err)
		}
		if b, err := s.Balance(ctx, "org:reserved:call-0"); err != nil || b != 0 {
			t.Fatalf("a released reservation holds %d, %v", b, err)
		}

		// The accounts back at zero are pruned, and nothing changes.
		if n, err := s.PruneBalances(ctx); err != nil || n != 10 {
			t.Fatalf("pruned %d, %v; want the 10 released reservations", n, err)
		}
		if err := s.CheckLedger(ctx); err != nil {
			t.Fatal(err)
		}
		if b, err := s.Balance(ctx, "org:reserved:call-0"); err != nil || b != 0 {
			t.Fatalf("a pruned account holds %d, %v", b, err)
		}

		// A kept balance that disagrees with the postings is found.
		execRaw(t, dsn, "UPDATE ledger_balances SET balance = balance + 1 WHERE account = 'revenue'")
		if err := s.CheckLedger(ctx); err == nil || !strings.Contains(err.Error(), "revenue") {
			t.Fatalf("a damaged balance went unnoticed: %v", err)
		}

		// A store of schema 7 had no kept balances (nor stored prompts,
		// nor typed live models, nor agents): upgrading computes them.
		execRaw(t, dsn, "DROP TABLE agent_calls", "DROP TABLE logins", "DROP TABLE registrations", "DROP TABLE credentials",
			"ALTER TABLE calls DROP COLUMN note", "ALTER TABLE calls DROP COLUMN queue_wait_ms",
			"ALTER TABLE config_versions DROP COLUMN live", "DROP TABLE flow_prompts", "DROP TABLE prompt_audio", "DROP INDEX calls_open", "ALTER TABLE calls DROP COLUMN node", "DROP INDEX ledger_outbox_due", "DROP TABLE ledger_balances",
			"CREATE INDEX ledger_entries_account ON ledger_entries (account)")
		setSchemaVersion(t, dsn, 7)
		s.Close()
		upgraded := openAt(t, dsn)
		if err := upgraded.CheckLedger(ctx); err != nil {
			t.Fatalf("after the upgrade: %v", err)
		}
		if b, err := upgraded.Balance(ctx, "org:available"); err != nil || b != 50 {
			t.Fatalf("after the upgrade, available = %d, %v; want 50", b, err)
		}
	})
}

// Posting a key again is a replay whatever the balances are now: a fee
// paid once stays paid when the job runs again on a lower balance, and is
// not refused by its guard.
func TestReplayIsNotGuardedAgain(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		txn := store.Txn{Key: "fee", Kind: "test", Actor: "t", Postings: []store.Posting{{Account: "org:available", Amount: -5}, {Account: "revenue", Amount: 5}}}
		allow := func(func(string) (int64, error)) ([]store.FollowUp, error) { return nil, nil }
		first, replay, err := s.Post(ctx, txn, allow)
		if err != nil || replay {
			t.Fatalf("first post: %v, replay %v", err, replay)
		}
		refuse := func(func(string) (int64, error)) ([]store.FollowUp, error) { return nil, fmt.Errorf("not enough") }
		again, replay, err := s.Post(ctx, txn, refuse)
		if err != nil || !replay || again.ID != first.ID {
			t.Fatalf("posting the key again: %+v, replay %v, %v; want the first transaction, as a replay", again, replay, err)
		}
		if _, _, err := s.Post(ctx, store.Txn{Key: "other", Kind: "test", Actor: "t", Postings: txn.Postings}, refuse); err == nil {
			t.Fatal("a new key refused by its guard was posted")
		}
		if b, _ := s.Balance(ctx, "revenue"); b != 5 {
			t.Fatalf("revenue = %d; want 5, once", b)
		}
	})
}
