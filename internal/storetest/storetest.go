// Package storetest opens fresh stores for tests: SQLite always, and
// PostgreSQL when CALLFLOW_TEST_POSTGRES names a database (`make test`
// starts one). In CI, PostgreSQL is required. ApplyDir fills one with a
// repository.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/numbers"
	"github.com/callflow/callflow/plan"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony/prompt"
)

// EnvPostgres names a PostgreSQL database for tests.
const EnvPostgres = "CALLFLOW_TEST_POSTGRES"

// Each runs fn once per backend, each time with a fresh, empty store and
// the DSN that opens it again.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store, dsn string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		dsn := filepath.Join(t.TempDir(), "callflow.db")
		fn(t, Open(t, dsn), dsn)
	})
	pg := os.Getenv(EnvPostgres)
	switch {
	case pg != "":
		t.Run("postgres", func(t *testing.T) {
			dsn := freshSchema(t, pg)
			fn(t, Open(t, dsn), dsn)
		})
	case os.Getenv("CI") != "":
		t.Fatalf("%s is not set: CI must run the store tests against PostgreSQL (make test starts one)", EnvPostgres)
	default:
		t.Logf("%s is not set: testing SQLite only (make test starts PostgreSQL for these tests)", EnvPostgres)
	}
}

// Open opens a store that is closed when the test ends.
func Open(t testing.TB, dsn string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// freshSchema creates a schema of its own for one test and returns a URL
// whose connections use it.
func freshSchema(t *testing.T, base string) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", base); err == nil {
			db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// ApplyDir checks the repository dir, plans it against st and applies
// it, as `callflow apply --auto-approve` would: its numbers come from its
// inventory.csv, and its prompts are prepared (spoken ones need
// espeak-ng) into a cache in the test's temporary directory.
func ApplyDir(tb testing.TB, st *store.Store, dir string) store.Version {
	tb.Helper()
	ctx := context.Background()
	m, _, diags := compiler.CheckDir(dir)
	if diags.HasErrors() {
		tb.Fatal(diags)
	}
	p, err := plan.Make(ctx, st, m, dir, "")
	if err != nil {
		tb.Fatal(err)
	}
	inv, err := numbers.LoadInventory(filepath.Join(dir, numbers.InventoryFile))
	if err != nil {
		tb.Fatal(err)
	}
	applied, err := plan.Apply(ctx, st, p, plan.Options{AppliedBy: "test", Numbers: inv, Prompts: &prompt.Cache{Dir: tb.TempDir()}})
	if err != nil {
		tb.Fatal(err)
	}
	return applied.Version
}
