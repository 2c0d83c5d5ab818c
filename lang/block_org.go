package lang

import "github.com/hashicorp/hcl/v2"

var organizationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "name"},
		{Name: "country"},
		{Name: "currency"},
		{Name: "partner"},
		{Name: "managed_by_partner"},
		{Name: "support_number"},
		{Name: "sip_domain"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "outbound"}},
}

var outboundSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "blocked_countries"},
		{Name: "block_premium"},
	},
}

func decodeOrganization(block *hcl.Block) (*Organization, hcl.Diagnostics) {
	org := &Organization{DeclRange: block.DefRange, Currency: String{Value: DefaultOrganizationCurrency}}
	content, diags := block.Body.Content(organizationSchema)
	a := content.Attributes
	diags = append(diags, decodeString(a, "name", &org.Name)...)
	diags = append(diags, decodeString(a, "country", &org.Country)...)
	diags = append(diags, decodeString(a, "currency", &org.Currency)...)
	diags = append(diags, decodeBool(a, "partner", &org.Partner)...)
	diags = append(diags, decodeBool(a, "managed_by_partner", &org.ManagedByPartner)...)
	diags = append(diags, decodeString(a, "sip_domain", &org.SIPDomain)...)
	ref, d := decodeRef(a, "support_number")
	org.SupportNumber = ref
	diags = append(diags, d...)
	for _, b := range content.Blocks {
		if org.Outbound != nil {
			diags = append(diags, duplicateSingleton(b, org.Outbound.DeclRange, "An organization block"))
			continue
		}
		out, d := decodeOutbound(b)
		org.Outbound = out
		diags = append(diags, d...)
	}
	return org, diags
}

func decodeOutbound(block *hcl.Block) (*Outbound, hcl.Diagnostics) {
	out := &Outbound{DeclRange: block.DefRange}
	content, diags := block.Body.Content(outboundSchema)
	a := content.Attributes
	diags = append(diags, decodeBool(a, "block_premium", &out.BlockPremium)...)
	attr, ok := a["blocked_countries"]
	if !ok {
		return out, diags
	}
	out.BlockedCountriesRange = attr.Expr.Range()
	exprs, d := hcl.ExprList(attr.Expr)
	if d.HasErrors() {
		return out, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Invalid blocked_countries",
			Detail:  "blocked_countries lists ISO 3166-1 alpha-2 country codes in brackets, such as [\"KP\", \"CU\"].",
			Subject: attr.Expr.Range().Ptr(),
		})
	}
	for _, e := range exprs {
		var s String
		diags = append(diags, decodeString(hcl.Attributes{"blocked_countries": &hcl.Attribute{Name: "blocked_countries", Expr: e, Range: e.Range()}}, "blocked_countries", &s)...)
		if s.Set {
			out.BlockedCountries = append(out.BlockedCountries, s)
		}
	}
	return out, diags
}

var creditsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "low_balance"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "auto_recharge"}},
}

var autoRechargeSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "enabled"},
		{Name: "threshold", Required: true},
		{Name: "amount", Required: true},
	},
}

func decodeCredits(block *hcl.Block) (*Credits, hcl.Diagnostics) {
	cr := &Credits{DeclRange: block.DefRange, LowBalance: Amount{Micro: DefaultLowBalance}}
	content, diags := block.Body.Content(creditsSchema)
	diags = append(diags, decodeAmount(content.Attributes, "low_balance", &cr.LowBalance)...)
	for _, b := range content.Blocks {
		if cr.AutoRecharge != nil {
			diags = append(diags, duplicateSingleton(b, cr.AutoRecharge.DeclRange, "A credits block"))
			continue
		}
		ar := &AutoRecharge{DeclRange: b.DefRange, Enabled: Bool{Value: true}}
		c, d := b.Body.Content(autoRechargeSchema)
		diags = append(diags, d...)
		diags = append(diags, decodeBool(c.Attributes, "enabled", &ar.Enabled)...)
		diags = append(diags, decodeAmount(c.Attributes, "threshold", &ar.Threshold)...)
		diags = append(diags, decodeAmount(c.Attributes, "amount", &ar.Amount)...)
		cr.AutoRecharge = ar
	}
	return cr, diags
}

var recordingsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "plan"},
		{Name: "delete_after"},
	},
}

func decodeRecordings(block *hcl.Block) (*Recordings, hcl.Diagnostics) {
	rec := &Recordings{DeclRange: block.DefRange, Plan: String{Value: DefaultRecordingPlan}}
	content, diags := block.Body.Content(recordingsSchema)
	diags = append(diags, decodeString(content.Attributes, "plan", &rec.Plan)...)
	diags = append(diags, decodeString(content.Attributes, "delete_after", &rec.DeleteAfter)...)
	return rec, diags
}
