// Package tooltest lets tests use the programs `make test` installs from
// Debian (espeak-ng, sipp, sox…): with CI set, a missing one fails the
// test; elsewhere the test is skipped with what to install.
package tooltest

import (
	"os"
	"os/exec"
	"testing"
)

// Require returns the path of program, or ends the test: a failure in CI,
// a skip elsewhere. pkg is the Debian package that has it.
func Require(t testing.TB, program, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing: make test installs it (apt-get install %s)", program, pkg)
	}
	t.Skipf("%s is not installed: apt-get install %s", program, pkg)
	return ""
}

// RequireSpeech ends the test, as Require does, unless the tools that
// prepare spoken prompts are installed: espeak-ng, which speaks at
// 22.05 kHz, and sox, which converts that to the 8 kHz of calls.
func RequireSpeech(t testing.TB) {
	t.Helper()
	Require(t, "espeak-ng", "espeak-ng")
	Require(t, "sox", "sox")
}
