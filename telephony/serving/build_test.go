package serving

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callflow/callflow/internal/storetest"
	"github.com/callflow/callflow/internal/tooltest"
	"github.com/callflow/callflow/store"
)

// A version whose typed live model is missing (applied by an older
// callflow) or damaged is not served: Build says why and what to do, and
// panics on nothing.
func TestBuildNeedsTheTypedModel(t *testing.T) {
	tooltest.RequireSpeech(t) // acme speaks
	ctx := context.Background()
	st := storetest.Open(t, filepath.Join(t.TempDir(), "callflow.db"))
	storetest.ApplyDir(t, st, filepath.Join("..", "..", "examples", "acme"))
	b := &Builder{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Recordings: t.TempDir()}
	l, err := b.Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := l.Table.Numbers["+18005550199"]; !ok || n.Flow != "support" || !n.Enabled || len(l.Table.Trunks) == 0 {
		t.Fatalf("built from the typed model: %+v, trunks %v", n, l.Table.Trunks)
	}

	reapply := func(model []byte) {
		t.Helper()
		cur, err := st.Live(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c := store.Change{Base: cur.Version.ID, Config: cur.Config, Live: model, Hash: cur.Version.Hash, Kind: "apply"}
		for name, v := range cur.Flows {
			c.Flows = append(c.Flows, store.FlowInput{Flow: name, Use: v})
		}
		if _, err := st.Apply(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	reapply(nil)
	_, err = b.Build(ctx)
	if err == nil || !strings.Contains(err.Error(), "older callflow") || !strings.Contains(err.Error(), "callflow apply") || !strings.Contains(err.Error(), "callflow serve DIR") {
		t.Errorf("a version without a typed model: %v; want it to say to apply again", err)
	}
	for _, damaged := range []string{`{"format_version":1,"model":{}}`, `{"format_version":7}`, `[`, `{"format_version":1,"model":null}`} {
		reapply([]byte(damaged))
		if _, err := b.Build(ctx); err == nil || !strings.Contains(err.Error(), "typed live model") {
			t.Errorf("model %s: %v; want a clear error", damaged, err)
		}
	}
}
