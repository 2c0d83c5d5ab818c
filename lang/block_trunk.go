package lang

import "github.com/hashicorp/hcl/v2"

// Trunk is a carrier's SIP trunk: where the organisation's numbers are
// delivered from, and where outgoing calls go.
type Trunk struct {
	Name string
	// Address is the carrier's SIP address, host:port, for outgoing calls.
	Address String
	// InboundFrom lists the source networks (CIDR, or single addresses)
	// that may deliver calls to the organisation's numbers. An INVITE from
	// anywhere else is refused.
	InboundFrom      []String
	InboundFromRange hcl.Range
	Transport        String // udp | tcp; default udp
	DeclRange        hcl.Range
	NameRange        hcl.Range
}

var trunkSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "address", Required: true},
		{Name: "inbound_from", Required: true},
		{Name: "transport"},
	},
}

func decodeTrunk(block *hcl.Block) (*Trunk, hcl.Diagnostics) {
	t := &Trunk{Name: block.Labels[0], DeclRange: block.DefRange, NameRange: block.LabelRanges[0], Transport: String{Value: "udp"}}
	content, diags := block.Body.Content(trunkSchema)
	a := content.Attributes
	diags = append(diags, decodeString(a, "address", &t.Address)...)
	diags = append(diags, decodeString(a, "transport", &t.Transport)...)
	if attr, ok := a["inbound_from"]; ok {
		exprs, d := hcl.ExprList(attr.Expr)
		if d.HasErrors() {
			// Reported once, here; the list's elements are not read.
			return t, append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Invalid inbound_from",
				Detail:  "inbound_from lists the carrier's source networks, such as [\"203.0.113.0/24\", \"198.51.100.7\"].",
				Subject: attr.Expr.Range().Ptr(),
			})
		}
		t.InboundFromRange = attr.Expr.Range()
		for _, e := range exprs {
			var s String
			d := decodeString(hcl.Attributes{"inbound_from": &hcl.Attribute{Name: "inbound_from", Expr: e, Range: e.Range()}}, "inbound_from", &s)
			diags = append(diags, d...)
			if s.Set {
				t.InboundFrom = append(t.InboundFrom, s)
			}
		}
	}
	return t, diags
}
