// Package markertest runs diagnostics tests written as files with inline
// markers, in the style of Terraform's configs package: a line that a
// diagnostic must point at ends with a comment
//
//	key "1" { next = ivr.menu } # ERROR: Loop in flow
//
// and the test fails unless every marker is matched by a diagnostic with
// that severity and summary whose range starts on that line, and every
// diagnostic is matched by a marker. Several markers may share a line.
package markertest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// marker is one expected diagnostic.
type marker struct {
	file     string
	line     int
	severity string // "ERROR" or "WARNING"
	summary  string
}

func (m marker) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", m.file, m.line, m.severity, m.summary)
}

var markerRE = regexp.MustCompile(`#\s*(ERROR|WARNING):\s*([^#]*[^#\s])`)

// Run treats each entry of dir (a *.hcl file, or a directory of them) as
// one case, and compares the diagnostics load returns for it with its
// markers. A case must have at least one marker, so that a case whose
// check is deleted fails instead of passing silently.
func Run(t *testing.T, dir string, load func(path string) hcl.Diagnostics) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatalf("no cases in %s", dir)
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		t.Run(strings.TrimSuffix(e.Name(), ".hcl"), func(t *testing.T) {
			want, err := readMarkers(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 {
				t.Fatalf("%s has no # ERROR: or # WARNING: markers", path)
			}
			var got []marker
			for _, d := range load(path) {
				m := marker{severity: "WARNING", summary: d.Summary}
				if d.Severity == hcl.DiagError {
					m.severity = "ERROR"
				}
				if d.Subject != nil {
					m.file, m.line = d.Subject.Filename, d.Subject.Start.Line
				}
				got = append(got, m)
			}
			compare(t, want, got)
		})
	}
}

func readMarkers(path string) ([]marker, error) {
	var files []string
	if info, err := os.Stat(path); err != nil {
		return nil, err
	} else if info.IsDir() {
		err := filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".hcl") {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	} else {
		files = []string{path}
	}
	var ms []marker
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for i, line := range strings.Split(string(src), "\n") {
			for _, sm := range markerRE.FindAllStringSubmatch(line, -1) {
				ms = append(ms, marker{file: f, line: i + 1, severity: sm[1], summary: sm[2]})
			}
		}
	}
	return ms, nil
}

func compare(t *testing.T, want, got []marker) {
	t.Helper()
	key := func(m marker) string { return m.String() }
	count := map[string]int{}
	for _, m := range got {
		count[key(m)]++
	}
	var missing, unexpected []string
	for _, m := range want {
		if count[key(m)] > 0 {
			count[key(m)]--
		} else {
			missing = append(missing, key(m))
		}
	}
	for k, n := range count {
		for ; n > 0; n-- {
			unexpected = append(unexpected, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(unexpected)
	for _, m := range missing {
		t.Errorf("missing diagnostic: %s", m)
	}
	for _, u := range unexpected {
		t.Errorf("unexpected diagnostic: %s", u)
	}
}
