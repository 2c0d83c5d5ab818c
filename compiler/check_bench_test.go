package compiler_test

import (
	"os"
	"testing"

	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/internal/benchgen"
	"github.com/callflow/callflow/lang"
)

// BenchmarkValidate measures a full check of a generated 1,000-flow
// repository next to the bare HCL parse of the same files. The 10,000-flow
// figure in the README comes from `go run ./bench/validate`.
func BenchmarkValidate(b *testing.B) {
	dir := b.TempDir()
	shape := benchgen.Large
	shape.Flows = 1000
	if _, err := benchgen.Write(dir, shape); err != nil {
		b.Fatal(err)
	}
	names, err := lang.ConfigFiles(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("parse", func(b *testing.B) {
		for b.Loop() {
			p := hclparse.NewParser()
			for _, name := range names {
				src, err := os.ReadFile(name)
				if err != nil {
					b.Fatal(err)
				}
				if _, diags := p.ParseHCL(src, name); diags.HasErrors() {
					b.Fatal(diags)
				}
			}
		}
	})
	b.Run("validate", func(b *testing.B) {
		for b.Loop() {
			if _, _, diags := compiler.CheckDir(dir); len(diags) > 0 {
				b.Fatal(diags)
			}
		}
	})
}
