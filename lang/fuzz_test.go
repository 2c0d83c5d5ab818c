package lang_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/callflow/callflow/lang"
)

// FuzzFormat checks that formatting never panics, keeps a file parseable,
// and is idempotent: formatting formatted output changes nothing.
func FuzzFormat(f *testing.F) {
	seeds, _ := filepath.Glob("../examples/acme/flows/*.hcl")
	cases, _ := filepath.Glob("testdata/invalid/*.hcl")
	for _, name := range append(seeds, cases...) {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		once, diags := lang.Format("fuzz.hcl", src)
		if diags.HasErrors() {
			return
		}
		twice, diags := lang.Format("fuzz.hcl", once)
		if diags.HasErrors() {
			t.Fatalf("formatted output does not parse: %v\n%s", diags, once)
		}
		if !bytes.Equal(once, twice) {
			t.Fatalf("formatting is not idempotent:\n--- once\n%s\n--- twice\n%s", once, twice)
		}
		// The formatted file must decode exactly as the original does.
		_, d1 := lang.NewParser().LoadSources([]lang.NamedSource{{Name: "a.hcl", Src: src}})
		_, d2 := lang.NewParser().LoadSources([]lang.NamedSource{{Name: "a.hcl", Src: once}})
		if len(d1) != len(d2) {
			t.Fatalf("formatting changed the diagnostics: %d before, %d after", len(d1), len(d2))
		}
	})
}
