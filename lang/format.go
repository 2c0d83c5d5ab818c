package lang

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Format returns src in canonical layout: two-space indentation, aligned
// equals signs, normalised spacing. It refuses a file with syntax errors,
// because rewriting a file whose structure is unclear could lose what the
// author meant; the diagnostics say where the errors are.
func Format(name string, src []byte) ([]byte, hcl.Diagnostics) {
	if d := checkText(NamedSource{Name: name, Src: src}); d != nil {
		return nil, hcl.Diagnostics{d}
	}
	if _, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos); diags.HasErrors() {
		return nil, diags
	}
	return hclwrite.Format(src), nil
}
