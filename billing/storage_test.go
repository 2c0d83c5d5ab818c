package billing_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/internal/storetest"
	"github.com/callflow/callflow/store"
)

func TestStorageQuota(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store, dsn string) {
		ctx := context.Background()
		c := &clock{now: start}
		r := &billing.Recordings{Store: s, Clock: c, Plan: "free"}
		// 990 minutes kept; a 9-minute recording fits, then nothing more.
		if ok, err := r.Save(ctx, store.Recording{ID: "a", CallID: "c1", Kind: "call", Seconds: 990 * 60}); !ok || err != nil {
			t.Fatalf("first recording: %v %v", ok, err)
		}
		if ok, err := r.Save(ctx, store.Recording{ID: "b", CallID: "c2", Kind: "voicemail", Seconds: 9 * 60}); !ok || err != nil {
			t.Fatalf("second recording: %v %v", ok, err)
		}
		u, err := r.Usage(ctx)
		if err != nil || u.UsedMin != 999 || u.LeftMin != 1 || u.LimitMin != 1000 {
			t.Fatalf("usage %+v %v", u, err)
		}
		// Recordings racing for the last minute: at most one fits.
		var wg sync.WaitGroup
		saved := make([]bool, 6)
		for i := range saved {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				own := &billing.Recordings{Store: storetest.Open(t, dsn), Clock: c, Plan: "free"}
				saved[i], _ = own.Save(ctx, store.Recording{ID: fmt.Sprint("race-", i), CallID: "c", Kind: "call", Seconds: 50})
			}(i)
		}
		wg.Wait()
		n := 0
		for _, ok := range saved {
			if ok {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d of the racing recordings were saved; one fits", n)
		}
		if u, _ := r.Usage(ctx); u.UsedSeconds > 1000*60 {
			t.Errorf("storage passed its plan: %+v", u)
		}
		notes, _ := s.Notifications(ctx)
		if len(notes) != 1 || notes[0].Kind != "storage-full" {
			t.Errorf("one storage-full notification a month: %+v", notes)
		}
	})
}

func TestExpireKeepsAuditRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		c := &clock{now: start}
		dir := t.TempDir()
		old := filepath.Join(dir, "old.wav")
		young := filepath.Join(dir, "young.wav")
		os.WriteFile(old, []byte("RIFF"), 0o644)
		os.WriteFile(young, []byte("RIFF"), 0o644)
		r := &billing.Recordings{Store: s, Clock: c, Plan: "50k", DeleteAfter: "3mo"}
		r.Save(ctx, store.Recording{ID: "old", CallID: "c1", Kind: "call", Path: old, Seconds: 60, CreatedAt: start.AddDate(0, -4, 0)})
		r.Save(ctx, store.Recording{ID: "young", CallID: "c2", Kind: "call", Path: young, Seconds: 60, CreatedAt: start.AddDate(0, -2, 0)})
		n, err := r.Expire(ctx)
		if err != nil || n != 1 {
			t.Fatalf("expired %d, %v", n, err)
		}
		if _, err := os.Stat(old); !os.IsNotExist(err) {
			t.Error("the expired recording's audio is still there")
		}
		if _, err := os.Stat(young); err != nil {
			t.Error("a young recording's audio was removed")
		}
		all, err := s.Recordings(ctx)
		if err != nil || len(all) != 2 || all[0].ID != "old" || all[0].DeletedAt.IsZero() || all[0].DeletedWhy != "delete_after = 3mo" || !all[1].DeletedAt.IsZero() {
			t.Errorf("the expired recording keeps an audit row: %+v %v", all, err)
		}
		if u, _ := r.Usage(ctx); u.UsedSeconds != 60 {
			t.Errorf("expired recordings must not count: %+v", u)
		}
		// Running again deletes nothing more; keeping recordings deletes none.
		if n, _ := r.Expire(ctx); n != 0 {
			t.Errorf("second run expired %d", n)
		}
		c.Add(365 * 24 * time.Hour)
		keep := &billing.Recordings{Store: s, Clock: c, Plan: "50k"}
		if n, _ := keep.Expire(ctx); n != 0 {
			t.Errorf("without delete_after nothing is deleted, but %d were", n)
		}
	})
}
