package lang_test

import (
	"os"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/callflow/callflow/internal/markertest"
	"github.com/callflow/callflow/lang"
)

// TestInvalid decodes every case in testdata/invalid and matches its
// diagnostics with the case's # ERROR: markers.
func TestInvalid(t *testing.T) {
	markertest.Run(t, "testdata/invalid", func(path string) hcl.Diagnostics {
		p := lang.NewParser()
		if info, err := os.Stat(path); err == nil && info.IsDir() {
			_, diags := p.LoadDir(path)
			return diags
		}
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, diags := p.LoadSources([]lang.NamedSource{{Name: path, Src: src}})
		return diags
	})
}

func TestSyntaxErrorHasLocation(t *testing.T) {
	_, diags := lang.NewParser().LoadDir("testdata/invalid/syntax_error.hcl")
	if !diags.HasErrors() {
		t.Fatal("loading a file as a directory must fail")
	}
	src, _ := os.ReadFile("testdata/invalid/syntax_error.hcl")
	_, diags = lang.NewParser().LoadSources([]lang.NamedSource{{Name: "x.hcl", Src: src}})
	if !diags.HasErrors() {
		t.Fatal("an unterminated string must be an error")
	}
	for _, d := range diags {
		if d.Subject == nil || d.Subject.Filename != "x.hcl" || d.Subject.Start.Line < 2 {
			t.Errorf("diagnostic %q has no usable location: %v", d.Summary, d.Subject)
		}
	}
}
