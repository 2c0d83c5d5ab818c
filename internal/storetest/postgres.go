package storetest

import (
	"os"
	"testing"
)

// Postgres returns the URL of a fresh schema in the test PostgreSQL
// (CALLFLOW_TEST_POSTGRES), dropped when the test ends. Without one the
// test fails in CI and is skipped elsewhere.
func Postgres(t *testing.T) string {
	t.Helper()
	pg := os.Getenv(EnvPostgres)
	if pg == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: CI must run this test against PostgreSQL (make test starts one)", EnvPostgres)
		}
		t.Skipf("%s is not set: this test needs PostgreSQL (make test starts one)", EnvPostgres)
	}
	return freshSchema(t, pg)
}
