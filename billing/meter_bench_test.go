package billing_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/internal/storetest"
)

// BenchmarkSettle measures metered minute settlements with SQLite: each
// operation is one minute boundary of a running call, which charges the
// minute that ended and reserves the next, each a durable, idempotent
// ledger transaction. The README's figure comes from
//
//	go test ./billing -run '^$' -bench Settle -benchtime 2000x
func BenchmarkSettle(b *testing.B) {
	ctx := context.Background()
	s := storetest.Open(b, filepath.Join(b.TempDir(), "bench.db"))
	l := &billing.Ledger{Store: s, Clock: billing.SystemClock{}, Payments: billing.Invoice{}}
	if _, err := l.Buy(ctx, "b", billing.Credits(1_000_000, 0), "bench"); err != nil {
		b.Fatal(err)
	}
	m := &billing.Meter{Ledger: l, CallID: "bench", Rate: billing.Credits(0, 2)}
	if err := m.Start(ctx, start); err != nil {
		b.Fatal(err)
	}
	minute := 0
	for b.Loop() {
		minute++
		if err := m.Tick(ctx, start.Add(time.Duration(minute)*time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(minute)/b.Elapsed().Seconds(), "settlements/s")
}
