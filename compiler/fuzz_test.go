package compiler_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/lang"
)

// FuzzCheck feeds arbitrary bytes through parse and check. No input may
// panic, and every diagnostic must be well formed: a summary, and a range
// inside the input when it has one.
func FuzzCheck(f *testing.F) {
	seeds, _ := filepath.Glob("../examples/acme/*.hcl")
	more, _ := filepath.Glob("../examples/acme/flows/*.hcl")
	cases, _ := filepath.Glob("testdata/invalid/*.hcl")
	valid, _ := filepath.Glob("testdata/valid/*.hcl")
	for _, name := range append(append(append(seeds, more...), cases...), valid...) {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, diags := lang.NewParser().LoadSources([]lang.NamedSource{{Name: "fuzz.hcl", Src: src}})
		_, more := compiler.Check(cfg, compiler.Options{SkipFiles: true})
		diags = append(diags, more...)
		compiler.SortDiagnostics(diags)
		for _, d := range diags {
			if d.Summary == "" {
				t.Errorf("diagnostic without a summary: %#v", d)
			}
			if r := d.Subject; r != nil {
				if r.Filename != "fuzz.hcl" || r.Start.Byte < 0 || r.End.Byte > len(src) || r.Start.Byte > r.End.Byte {
					t.Errorf("diagnostic %q has a range outside the input: %v (input is %d bytes)", d.Summary, r, len(src))
				}
			}
		}
		if !diags.HasErrors() {
			// A configuration that checks cleanly can be drawn.
			m, _ := compiler.Check(cfg, compiler.Options{SkipFiles: true})
			for _, fl := range m.Flows {
				for _, format := range compiler.GraphFormats {
					if err := compiler.WriteGraph(discard{}, fl, format); err != nil {
						t.Error(err)
					}
				}
			}
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
