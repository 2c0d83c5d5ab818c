package lang

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Rates overrides entries of the rate card (S1): each map holds amounts
// of credits by key. Keys are checked by the compiler.
type Rates struct {
	NumberMonthly     []RateEntry // key "COUNTRY/type", "*" for any country
	IncomingPerMinute []RateEntry // key: number type
	OutgoingPerMinute []RateEntry // key: country, "*" for any other
	CreditValue       []RateEntry // key: ISO 4217 currency; a credit's worth in it
	DeclRange         hcl.Range
}

// RateEntry is one priced key.
type RateEntry struct {
	Key      string
	Amount   Amount
	KeyRange hcl.Range
}

var ratesSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "number_monthly"},
		{Name: "incoming_per_minute"},
		{Name: "outgoing_per_minute"},
		{Name: "credit_value"},
	},
}

func decodeRates(block *hcl.Block) (*Rates, hcl.Diagnostics) {
	r := &Rates{DeclRange: block.DefRange}
	content, diags := block.Body.Content(ratesSchema)
	for name, dst := range map[string]*[]RateEntry{
		"number_monthly":      &r.NumberMonthly,
		"incoming_per_minute": &r.IncomingPerMinute,
		"outgoing_per_minute": &r.OutgoingPerMinute,
		"credit_value":        &r.CreditValue,
	} {
		attr, ok := content.Attributes[name]
		if !ok {
			continue
		}
		entries, d := decodeRateMap(attr)
		diags = append(diags, d...)
		*dst = entries
	}
	return r, diags
}

// decodeRateMap reads { key = amount, ... }.
func decodeRateMap(attr *hcl.Attribute) ([]RateEntry, hcl.Diagnostics) {
	pairs, diags := hcl.ExprMap(attr.Expr)
	if diags.HasErrors() {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid rates",
			Detail:   fmt.Sprintf("%s is a map of prices in credits, such as { \"US/local\" = 1.00 }.", attr.Name),
			Subject:  attr.Expr.Range().Ptr(),
		}}
	}
	var out []RateEntry
	for _, kv := range pairs {
		k, d := kv.Key.Value(nil)
		if d.HasErrors() || k.IsNull() || !k.IsKnown() || k.Type() != cty.String {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Invalid rate key",
				Detail:  "A rate's key is text, such as \"US/local\", local or US.",
				Subject: kv.Key.Range().Ptr(),
			})
			continue
		}
		e := RateEntry{Key: k.AsString(), KeyRange: kv.Key.Range()}
		d = decodeAmount(hcl.Attributes{"rate": &hcl.Attribute{Name: attr.Name + "." + e.Key, Expr: kv.Value, Range: kv.Value.Range()}}, "rate", &e.Amount)
		diags = append(diags, d...)
		if e.Amount.Set {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, diags
}

// ParseRates reads a rate card file: one rates block, as in a
// configuration. The default rate card is such a file.
func ParseRates(name string, src []byte) (*Rates, hcl.Diagnostics) {
	cfg, diags := NewParser().LoadSources([]NamedSource{{Name: name, Src: src}})
	if cfg.Rates == nil && !diags.HasErrors() {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No rates block", Detail: name + " holds no rates block."})
	}
	return cfg.Rates, diags
}
