package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/callflow/callflow/store"
)

// Writes that arrive together are committed together; one that fails
// must take none of the others with it, and each caller must get its own
// outcome.
func TestGroupCommit(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		post(t, s, "buy", "world", "org:available", 1000)
		refused := errors.New("refused by its guard")
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		const n = 300
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var guard store.Guard
				c := ctx
				switch i % 3 {
				case 1:
					guard = func(func(string) (int64, error)) ([]store.FollowUp, error) { return nil, refused }
				case 2:
					if i%2 == 0 {
						c = cancelled
					}
				}
				_, _, errs[i] = s.Post(c, store.Txn{Key: fmt.Sprint("w-", i), Kind: "test", Actor: "t",
					Postings: []store.Posting{{Account: "org:available", Amount: -1}, {Account: "revenue", Amount: 1}}}, guard)
			}()
		}
		wg.Wait()
		want := int64(1000)
		for i, err := range errs {
			switch {
			case i%3 == 1:
				if !errors.Is(err, refused) {
					t.Fatalf("write %d: %v; want its guard's refusal", i, err)
				}
			case i%3 == 2 && i%2 == 0:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("write %d with a cancelled context: %v", i, err)
				}
			default:
				if err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
				want--
			}
		}
		if b, err := s.Balance(ctx, "org:available"); err != nil || b != want {
			t.Fatalf("available = %d, %v; want %d (every successful write, and no other)", b, err, want)
		}
		if err := s.CheckLedger(ctx); err != nil {
			t.Fatal(err)
		}
		if writes, commits := s.WriteStats(); commits >= writes {
			t.Fatalf("no group formed: %d writes in %d commits; the test did not test grouping", writes, commits)
		} else {
			t.Logf("%d writes in %d commits", writes, commits)
		}
	})
}

// A write runs to its end once it has started, whatever its caller's
// context does then: cancelling a statement half-way would undo the
// writes that share its transaction.
func TestStartedWriteIgnoresCancellation(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		guard := func(func(string) (int64, error)) ([]store.FollowUp, error) {
			cancel() // the caller gives up while its write runs
			return nil, nil
		}
		if _, _, err := s.Post(ctx, store.Txn{Key: "k", Kind: "test", Actor: "t",
			Postings: []store.Posting{{Account: "a", Amount: -1}, {Account: "b", Amount: 1}}}, guard); err != nil {
			t.Fatalf("a write whose caller gave up half-way: %v", err)
		}
		if b, err := s.Balance(context.Background(), "b"); err != nil || b != 1 {
			t.Fatalf("b = %d, %v; want the write committed whole", b, err)
		}
		if err := s.CheckLedger(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}
