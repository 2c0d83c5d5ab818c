package store_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callflow/callflow/internal/storetest"
	"github.com/callflow/callflow/store"
)

// OnWrite is told of every write, with how long it took.
func TestOnWrite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store, _ string) {
		var n, total atomic.Int64
		s.OnWrite(func(d time.Duration) { n.Add(1); total.Add(int64(d)) })
		now := time.Now()
		for i := range 3 {
			if err := s.SaveCall(context.Background(), store.Call{ID: string(rune('a' + i)), Direction: "incoming", StartedAt: now, LastSeenAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		if n.Load() != 3 || total.Load() <= 0 {
			t.Errorf("OnWrite told of %d writes taking %s; want 3, taking some time", n.Load(), time.Duration(total.Load()))
		}
	})
}
