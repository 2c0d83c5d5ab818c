package compiler_test

import (
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/internal/markertest"
	"github.com/callflow/callflow/lang"
)

// TestInvalid checks every case in testdata/invalid and matches its
// diagnostics with the case's # ERROR: and # WARNING: markers.
func TestInvalid(t *testing.T) {
	markertest.Run(t, "testdata/invalid", func(path string) hcl.Diagnostics {
		return checkPath(t, path)
	})
}

// checkPath checks a directory, or a single file on its own.
func checkPath(t *testing.T, path string) hcl.Diagnostics {
	t.Helper()
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		_, _, diags := compiler.CheckDir(path)
		return diags
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := lang.NewParser().LoadSources([]lang.NamedSource{{Name: path, Src: src}})
	_, more := compiler.Check(cfg, compiler.Options{})
	return append(diags, more...)
}

func TestExampleIsValid(t *testing.T) {
	_, _, diags := compiler.CheckDir("../examples/acme")
	for _, d := range diags {
		t.Errorf("examples/acme: %s", d)
	}
}

// detailOf returns the detail of the one diagnostic with this summary on
// this line.
func detailOf(t *testing.T, diags hcl.Diagnostics, summary string, line int) string {
	t.Helper()
	for _, d := range diags {
		if d.Summary == summary && d.Subject != nil && d.Subject.Start.Line == line {
			return d.Detail
		}
	}
	t.Fatalf("no %q diagnostic on line %d in %v", summary, line, diags)
	return ""
}

func TestDetails(t *testing.T) {
	tests := []struct {
		file, summary string
		line          int
		want          []string
	}{
		{"loops.hcl", "Loop in flow", 21, []string{"announce.a → ivr.b → announce.a", "S24"}},
		{"loops.hcl", "Loop in flow", 25, []string{"announce.c → announce.c"}},
		{"loops.hcl", "Loop in flow", 38, []string{"announce.x → announce.y → announce.x"}},
		{"start_undeclared.hcl", "Reference to undeclared state", 8, []string{"Did you mean announce.welcome?"}},
		{"states_undeclared.hcl", "Reference to undeclared state", 14, []string{"Did you mean announce.main?"}},
		{"states_undeclared.hcl", "Reference to undeclared state", 15, []string{"Did you mean announce.main?"}},
		{"users.hcl", "Reference to undeclared number", 29, []string{"Did you mean number.main?"}},
		{"users.hcl", "Reference to undeclared user", 39, []string{"Did you mean user.alice?"}},
		{"groups.hcl", "Reference to undeclared group", 26, []string{"Did you mean group.billing?"}},
		{"numbers.hcl", "Number type does not match the number", 28, []string{"toll_free", `type = "toll_free"`}},
		{"numbers.hcl", "Invalid number type", 33, []string{`"local", "mobile", "toll_free"`}},
		{"too_many_keys.hcl", "Too many IVR keys", 22, []string{"at most 11"}},
		{"too_many_connections_into.hcl", "Too many connections into one state", 21, []string{"announce.bye", "10"}},
		{"voicemail_limits.hcl", "Voicemail longer than two minutes", 10, []string{"120"}},
	}
	for _, tt := range tests {
		diags := checkPath(t, "testdata/invalid/"+tt.file)
		detail := detailOf(t, diags, tt.summary, tt.line)
		for _, w := range tt.want {
			if !strings.Contains(detail, w) {
				t.Errorf("%s:%d %q: detail %q does not contain %q", tt.file, tt.line, tt.summary, detail, w)
			}
		}
	}
}

// TestValid checks that every case in testdata/valid, each at the edge of
// a rule, has no diagnostics at all.
func TestValid(t *testing.T) {
	entries, err := os.ReadDir("testdata/valid")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			for _, d := range checkPath(t, "testdata/valid/"+e.Name()) {
				t.Errorf("%s", d)
			}
		})
	}
}
