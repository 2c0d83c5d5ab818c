package serving

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/internal/storetest"
	"github.com/callflow/callflow/internal/tooltest"
	"github.com/callflow/callflow/telephony"
	"github.com/callflow/callflow/vm"
)

// BenchmarkCallStoreWork measures what the store does for each call, many
// calls at once as under a load: reserve the first minute, open the
// record, and at hang-up settle the minute, give back the rest and close
// the record — every step a durable SQLite transaction. It is the bound
// on the calls per second one serve process can answer (bench/serve
// measures the whole server). The README's figure comes from
//
//	go test ./telephony/serving -run '^$' -bench CallStoreWork -benchtime 5000x
func BenchmarkCallStoreWork(b *testing.B) {
	ctx := context.Background()
	dir := filepath.Join("..", "..", "examples", "acme")
	st := storetest.Open(b, filepath.Join(b.TempDir(), "bench.db"))
	tooltest.RequireSpeech(b)
	storetest.ApplyDir(b, st, dir)
	ledger, err := liveLedger(ctx, st)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ledger.Buy(ctx, "bench", billing.Credits(10_000_000, 0), "bench"); err != nil {
		b.Fatal(err)
	}
	builder := &Builder{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Recordings: b.TempDir()}
	live, err := builder.Build(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.SetParallelism(32) // calls in progress at once, per core
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("bench-%d", n.Add(1))
			hooks, end, err := live.Begin(context.Background(), telephony.CallInfo{ID: id, From: "+14155550000", Number: "+18005550199", Flow: "support"}, func(error) {})
			if err != nil {
				b.Error(err)
				return
			}
			answered(hooks)
			end(vm.Effect{Kind: vm.EffectHangup, Reason: vm.ReasonFlowEnd}, nil)
		}
	})
	b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "calls/s")
}
