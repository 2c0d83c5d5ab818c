package lang

import (
	"fmt"
	"math/big"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// The helpers below read one attribute each. Expressions are evaluated with
// no variables and no functions: a configuration is data, and anything that
// is not a literal (apart from references, which are read as traversals)
// is reported where it was written.

// attrValue evaluates attr as a literal of type want. ok is false when the
// value cannot be used; diags then says why, unless the parser has said so
// already (an expression it could not read evaluates to an unknown value,
// and its syntax error is reported once, there).
func attrValue(attr *hcl.Attribute, want cty.Type, what string) (v cty.Value, ok bool, _ hcl.Diagnostics) {
	val, diags := attr.Expr.Value(nil)
	if !diags.HasErrors() && !val.IsWhollyKnown() {
		return cty.NilVal, false, nil
	}
	if diags.HasErrors() {
		for _, d := range diags {
			if d.Summary == "Variables not allowed" {
				d.Detail = fmt.Sprintf("The argument %q takes %s. References are only allowed where the language documents them; if you meant text, put it in quotes.", attr.Name, what)
			}
		}
		return cty.NilVal, false, diags
	}
	if val.IsNull() {
		return cty.NilVal, false, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Missing value",
			Detail:   fmt.Sprintf("The argument %q takes %s; null is not allowed. Remove the argument to use the default.", attr.Name, what),
			Subject:  attr.Expr.Range().Ptr(),
		}}
	}
	conv, err := convert.Convert(val, want)
	if err != nil || !conv.IsWhollyKnown() {
		return cty.NilVal, false, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Incorrect value type",
			Detail:   fmt.Sprintf("The argument %q takes %s.", attr.Name, what),
			Subject:  attr.Expr.Range().Ptr(),
		}}
	}
	return conv, true, nil
}

func decodeString(attrs hcl.Attributes, name string, dst *String) hcl.Diagnostics {
	attr, ok := attrs[name]
	if !ok {
		return nil
	}
	v, ok, diags := attrValue(attr, cty.String, "a string")
	if !ok {
		return diags
	}
	*dst = String{Value: v.AsString(), Set: true, Range: attr.Expr.Range()}
	return nil
}

func decodeBool(attrs hcl.Attributes, name string, dst *Bool) hcl.Diagnostics {
	attr, ok := attrs[name]
	if !ok {
		return nil
	}
	v, ok, diags := attrValue(attr, cty.Bool, "true or false")
	if !ok {
		return diags
	}
	*dst = Bool{Value: v.True(), Set: true, Range: attr.Expr.Range()}
	return nil
}

func decodeInt(attrs hcl.Attributes, name string, dst *Int) hcl.Diagnostics {
	attr, ok := attrs[name]
	if !ok {
		return nil
	}
	v, ok, diags := attrValue(attr, cty.Number, "a whole number")
	if !ok {
		return diags
	}
	bf := v.AsBigFloat()
	i, acc := bf.Int64()
	if !bf.IsInt() || acc != big.Exact {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Not a whole number",
			Detail:   fmt.Sprintf("The argument %q takes a whole number of seconds or items, such as 30.", attr.Name),
			Subject:  attr.Expr.Range().Ptr(),
		}}
	}
	*dst = Int{Value: i, Set: true, Range: attr.Expr.Range()}
	return nil
}

// microPerCredit is the number of micro-credits in one credit.
const microPerCredit = 1_000_000

// maxCredits bounds any single amount so that sums of micro-credits cannot
// overflow an int64.
const maxCredits = 1_000_000_000

func decodeAmount(attrs hcl.Attributes, name string, dst *Amount) hcl.Diagnostics {
	attr, ok := attrs[name]
	if !ok {
		return nil
	}
	v, ok, diags := attrValue(attr, cty.Number, "an amount of credits, such as 50 or 12.5")
	if !ok {
		return diags
	}
	bf := new(big.Float).SetPrec(256).Mul(v.AsBigFloat(), big.NewFloat(microPerCredit))
	micro, acc := bf.Int64()
	if !bf.IsInt() || acc != big.Exact || bf.Sign() < 0 || micro > maxCredits*microPerCredit {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid amount",
			Detail:   fmt.Sprintf("The argument %q takes a non-negative amount of credits with at most six decimal places, no more than %d.", attr.Name, maxCredits),
			Subject:  attr.Expr.Range().Ptr(),
		}}
	}
	*dst = Amount{Micro: micro, Set: true, Range: attr.Expr.Range()}
	return nil
}

// decodeRef reads an attribute written as a reference, KIND.NAME.
func decodeRef(attrs hcl.Attributes, name string) (*Ref, hcl.Diagnostics) {
	attr, ok := attrs[name]
	if !ok {
		return nil, nil
	}
	ref, diags := refFromExpr(attr.Expr, attr.Name)
	return &ref, diags
}

// decodeRefList reads an attribute written as a list of references.
func decodeRefList(attrs hcl.Attributes, name string) ([]Ref, bool, hcl.Diagnostics) {
	attr, ok := attrs[name]
	if !ok {
		return nil, false, nil
	}
	exprs, diags := hcl.ExprList(attr.Expr)
	if diags.HasErrors() {
		return nil, true, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid reference list",
			Detail:   fmt.Sprintf("The argument %q takes a list of references in brackets, such as [user.alice, user.bob].", attr.Name),
			Subject:  attr.Expr.Range().Ptr(),
		}}
	}
	refs := make([]Ref, 0, len(exprs))
	for _, e := range exprs {
		ref, d := refFromExpr(e, attr.Name)
		diags = append(diags, d...)
		refs = append(refs, ref)
	}
	return refs, true, diags
}

// refFromExpr reads one reference. On error it returns a Ref with an empty
// Kind and the expression's range: the attribute was written, so later
// checks must not also report it missing, and resolvers skip empty kinds
// because the error has been reported here already.
func refFromExpr(expr hcl.Expression, attrName string) (Ref, hcl.Diagnostics) {
	if len(expr.Variables()) == 0 {
		if v, d := expr.Value(nil); !d.HasErrors() && !v.IsKnown() {
			// The parser could not read the expression and has said so.
			return Ref{Range: expr.Range()}, nil
		}
	}
	trav, diags := hcl.AbsTraversalForExpr(expr)
	if diags.HasErrors() || len(trav) != 2 {
		detail := fmt.Sprintf("The argument %q takes a reference written KIND.NAME without quotes, such as user.alice or ivr.main.", attrName)
		if v, d := expr.Value(nil); !d.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
			detail += fmt.Sprintf(" Remove the quotes: write %s, not %q.", v.AsString(), v.AsString())
		}
		return Ref{Range: expr.Range()}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid reference",
			Detail:   detail,
			Subject:  expr.Range().Ptr(),
		}}
	}
	attr, ok := trav[1].(hcl.TraverseAttr)
	if !ok {
		return Ref{Range: expr.Range()}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid reference",
			Detail:   fmt.Sprintf("The argument %q takes a reference written KIND.NAME, such as user.alice; indexes such as [0] are not allowed.", attrName),
			Subject:  expr.Range().Ptr(),
		}}
	}
	return Ref{Kind: trav.RootName(), Name: attr.Name, Range: trav.SourceRange()}, nil
}

// decodePrompt reads the say/play pair that every prompt uses.
func decodePrompt(attrs hcl.Attributes, dst *Prompt) hcl.Diagnostics {
	var diags hcl.Diagnostics
	diags = append(diags, decodeString(attrs, "say", &dst.Say)...)
	diags = append(diags, decodeString(attrs, "play", &dst.Play)...)
	return diags
}
