package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/callflow/callflow/internal/storetest"
	"github.com/callflow/callflow/store"
)

func each(t *testing.T, fn func(t *testing.T, s *store.Store, dsn string)) { storetest.Each(t, fn) }

func openAt(t *testing.T, dsn string) *store.Store { return storetest.Open(t, dsn) }

func flow(name, def string) store.FlowInput {
	return store.FlowInput{Flow: name, Definition: []byte(def), Program: []byte("prog:" + def), Hash: "h:" + def}
}

func change(base int64, config string, flows ...store.FlowInput) store.Change {
	return store.Change{Base: base, Config: []byte(config), Hash: "h:" + config, AppliedBy: "tester", GitCommit: "abc123", Kind: "apply", Flows: flows}
}

func TestApplyAndLive(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		live, err := s.Live(ctx)
		if err != nil || live.Version.ID != 0 || len(live.Flows) != 0 {
			t.Fatalf("empty store: live %+v, %v", live, err)
		}
		v1, err := s.Apply(ctx, change(0, `{"v":1}`, flow("support", "a"), flow("sales", "b")))
		if err != nil {
			t.Fatal(err)
		}
		if v1.ID != 1 {
			t.Fatalf("first version is %d", v1.ID)
		}
		// A version applied without a typed live model (as by an older
		// callflow) has none: the runtime says to apply again.
		if live, err := s.Live(ctx); err != nil || live.Model != nil {
			t.Errorf("version 1 has model %q, %v; want none", live.Model, err)
		}
		// Only sales changes: support keeps its flow version.
		c := change(1, `{"v":2}`, flow("support", "a"), flow("sales", "c"))
		c.Live = []byte(`{"format_version":1}`)
		if _, err := s.Apply(ctx, c); err != nil {
			t.Fatal(err)
		}
		live, err = s.Live(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if live.Version.ID != 2 || string(live.Config) != `{"v":2}` || live.Version.AppliedBy != "tester" || live.Version.GitCommit != "abc123" {
			t.Errorf("live %+v config %s", live.Version, live.Config)
		}
		if string(live.Model) != `{"format_version":1}` {
			t.Errorf("live model %q, want what was applied", live.Model)
		}
		if live.Flows["support"] != 1 || live.Flows["sales"] != 2 {
			t.Errorf("live flows %v, want support 1, sales 2", live.Flows)
		}
		fv, err := s.FlowVersion(ctx, "sales", 2)
		if err != nil || string(fv.Program) != "prog:c" || string(fv.Definition) != "c" {
			t.Errorf("sales v2: %+v %v", fv, err)
		}
		if _, err := s.FlowVersion(ctx, "sales", 9); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing version: %v", err)
		}
		vs, err := s.Versions(ctx)
		if err != nil || len(vs) != 2 || vs[0].ID != 1 || vs[1].ID != 2 {
			t.Errorf("versions %+v %v", vs, err)
		}
		// Removing a flow: version 3 has no sales.
		if _, err := s.Apply(ctx, change(2, `{"v":3}`, flow("support", "a"))); err != nil {
			t.Fatal(err)
		}
		if live, _ := s.Live(ctx); len(live.Flows) != 1 {
			t.Errorf("after removing sales, live flows are %v", live.Flows)
		}
		hist, err := s.FlowHistory(ctx, "sales")
		if err != nil || len(hist) != 2 {
			t.Errorf("sales history %+v %v", hist, err)
		}
	})
}

func TestStaleChangeIsRefused(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		if _, err := s.Apply(ctx, change(0, `{}`, flow("f", "a"))); err != nil {
			t.Fatal(err)
		}
		_, err := s.Apply(ctx, change(0, `{"x":1}`, flow("f", "b")))
		if !errors.Is(err, store.ErrStale) || !strings.Contains(err.Error(), "planned against version 0, and version 1 is live") {
			t.Fatalf("stale apply: %v", err)
		}
		if live, _ := s.Live(ctx); live.Version.ID != 1 {
			t.Errorf("a refused apply changed the live version to %d", live.Version.ID)
		}
	})
}

// Applies at once: each is serialised; exactly one of those planned
// against the same version wins, and the stored state is one of them.
func TestConcurrentApplies(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store, dsn string) {
		ctx := context.Background()
		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				// Each applier has its own connection pool, as separate
				// processes would.
				other, err := store.Open(ctx, dsn)
				if err != nil {
					errs[i] = err
					return
				}
				defer other.Close()
				def := fmt.Sprint("def", i)
				_, errs[i] = other.Apply(ctx, change(0, fmt.Sprintf(`{"i":%d}`, i), flow("f", def), flow("g", def)))
			}(i)
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if won >= 0 {
					t.Fatalf("appliers %d and %d both won", won, i)
				}
				won = i
			case !errors.Is(err, store.ErrStale):
				t.Errorf("applier %d: %v", i, err)
			}
		}
		if won < 0 {
			t.Fatal("no applier won")
		}
		live, err := s.Live(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(live.Config) != fmt.Sprintf(`{"i":%d}`, won) {
			t.Errorf("live config %s is not the winner's (%d)", live.Config, won)
		}
		for _, f := range []string{"f", "g"} {
			fv, err := s.FlowVersion(ctx, f, live.Flows[f])
			if err != nil || string(fv.Definition) != fmt.Sprint("def", won) {
				t.Errorf("flow %s is %q, not the winner's: state is mixed (%v)", f, fv.Definition, err)
			}
		}
	})
}

func TestDraftsAndPublish(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		if _, err := s.Apply(ctx, change(0, `{"v":1}`, flow("f", "a"))); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Draft(ctx, "f"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no draft yet: %v", err)
		}
		saved, err := s.SaveDrafts(ctx, 1, []store.FlowInput{flow("f", "b")}, "tester", "")
		if err != nil || saved["f"] != 2 {
			t.Fatalf("save draft: %v %v", saved, err)
		}
		if live, _ := s.Live(ctx); live.Version.ID != 1 || live.Flows["f"] != 1 {
			t.Fatalf("a draft changed what is live: %+v", live)
		}
		d, err := s.Draft(ctx, "f")
		if err != nil || string(d.Definition) != "b" {
			t.Fatalf("draft %+v %v", d, err)
		}
		// Publishing points the new version at the draft's flow version.
		c := change(1, `{"v":2}`, store.FlowInput{Flow: "f", Use: d.Version})
		c.Kind, c.ClearDrafts = "publish", []string{"f"}
		if _, err := s.Apply(ctx, c); err != nil {
			t.Fatal(err)
		}
		if live, _ := s.Live(ctx); live.Flows["f"] != 2 {
			t.Errorf("after publish live flows are %v", live.Flows)
		}
		if _, err := s.Draft(ctx, "f"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the draft survived its publication: %v", err)
		}
		// A rollback points at an old version again.
		c = change(2, `{"v":1}`, store.FlowInput{Flow: "f", Use: 1})
		c.Kind = "rollback"
		if _, err := s.Apply(ctx, c); err != nil {
			t.Fatal(err)
		}
		if live, _ := s.Live(ctx); live.Flows["f"] != 1 || live.Version.Kind != "rollback" {
			t.Errorf("after rollback: %+v", live)
		}
		bad := change(3, `{}`, store.FlowInput{Flow: "f", Use: 42})
		if _, err := s.Apply(ctx, bad); err == nil {
			t.Error("a change may not use a flow version that does not exist")
		}
	})
}

func TestSchemaVersions(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store, dsn string) {
		ctx := context.Background()
		// Opening again migrates nothing and keeps the data.
		if _, err := s.Apply(ctx, change(0, `{}`, flow("f", "a"))); err != nil {
			t.Fatal(err)
		}
		again := openAt(t, dsn)
		if live, err := again.Live(ctx); err != nil || live.Version.ID != 1 {
			t.Fatalf("reopened: %+v %v", live, err)
		}
		setSchemaVersion(t, dsn, store.SchemaVersion+1)
		_, err := store.Open(ctx, dsn)
		if !errors.Is(err, store.ErrNewerSchema) || !strings.Contains(err.Error(), "Upgrade callflow") {
			t.Fatalf("a newer schema must be refused clearly: %v", err)
		}
	})
}

func setSchemaVersion(t *testing.T, dsn string, v int) {
	t.Helper()
	execRaw(t, dsn, fmt.Sprintf("UPDATE store_meta SET value = '%d' WHERE key = 'schema_version'", v))
}

// execRaw runs statements on the store's database directly, as damage or
// an older callflow would.
func execRaw(t *testing.T, dsn string, stmts ...string) {
	t.Helper()
	driver := "sqlite"
	if strings.HasPrefix(dsn, "postgres") {
		driver = "pgx"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestNotAStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.db")
	if err := os.WriteFile(path, []byte("these are my notes, not a database\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := store.Open(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "not a callflow store") {
		t.Fatalf("opening a text file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "these are my notes, not a database\n" {
		t.Error("opening a file that is not a store changed it")
	}
	if _, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "no", "such", "dir", "x.db")); err == nil {
		t.Error("a store in a missing directory must be an error")
	}
}

// A flow changed and changed back is its old version again, not a new one.
func TestSameDefinitionSameVersion(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		for i, def := range []string{"a", "b", "a"} {
			if _, err := s.Apply(ctx, change(int64(i), fmt.Sprintf(`{"%d":1}`, i), flow("f", def))); err != nil {
				t.Fatal(err)
			}
		}
		live, _ := s.Live(ctx)
		hist, _ := s.FlowHistory(ctx, "f")
		if live.Flows["f"] != 1 || len(hist) != 2 {
			t.Errorf("live version %d, %d versions stored; want version 1 of 2", live.Flows["f"], len(hist))
		}
		if s.ID() == "" || s.ID() == openAt(t, filepath.Join(t.TempDir(), "other.db")).ID() {
			t.Error("every store has an identity of its own")
		}
	})
}

// File names may hold characters that mean something in a URI.
func TestOddFileNames(t *testing.T) {
	for _, name := range []string{"store#2.db", "what?.db", "50%41.db"} {
		dir := t.TempDir()
		path := filepath.Join(dir, name)
		s := openAt(t, path)
		if _, err := s.Apply(context.Background(), change(0, `{}`, flow("f", "a"))); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: the store is not where it was asked to be: %v", name, err)
		}
	}
}

// A change planned against other content under the same version number
// — a store restored from a backup — is stale.
func TestStaleByContent(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		if _, err := s.Apply(ctx, change(0, `{"v":1}`, flow("f", "a"))); err != nil {
			t.Fatal(err)
		}
		c := change(1, `{"v":2}`, flow("f", "b"))
		c.BaseHash = "h:" + `{"v":0}`
		if _, err := s.Apply(ctx, c); !errors.Is(err, store.ErrStale) || !strings.Contains(err.Error(), "restored from a backup") {
			t.Fatalf("a change planned against other content: %v", err)
		}
		c.BaseHash = "h:" + `{"v":1}`
		if _, err := s.Apply(ctx, c); err != nil {
			t.Fatal(err)
		}
	})
}
