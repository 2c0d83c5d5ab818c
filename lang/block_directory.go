package lang

import "github.com/hashicorp/hcl/v2"

// This file decodes the directory blocks: numbers, users and groups.

var numberSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "e164", Required: true},
		{Name: "type", Required: true},
		{Name: "region"},
		{Name: "description"},
	},
}

func decodeNumber(block *hcl.Block) (*Number, hcl.Diagnostics) {
	n := &Number{Name: block.Labels[0], DeclRange: block.DefRange, NameRange: block.LabelRanges[0]}
	content, diags := block.Body.Content(numberSchema)
	a := content.Attributes
	diags = append(diags, decodeString(a, "e164", &n.E164)...)
	diags = append(diags, decodeString(a, "type", &n.Type)...)
	diags = append(diags, decodeString(a, "region", &n.Region)...)
	diags = append(diags, decodeString(a, "description", &n.Description)...)
	return n, diags
}

var userSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "display_name"},
		{Name: "email"},
		{Name: "allow_outgoing"},
		{Name: "record_outgoing"},
		{Name: "caller_id"},
		{Name: "allow_custom_caller_id"},
		{Name: "custom_caller_id"},
	},
}

func decodeUser(block *hcl.Block) (*User, hcl.Diagnostics) {
	u := &User{Name: block.Labels[0], DeclRange: block.DefRange, NameRange: block.LabelRanges[0]}
	content, diags := block.Body.Content(userSchema)
	a := content.Attributes
	diags = append(diags, decodeString(a, "display_name", &u.DisplayName)...)
	diags = append(diags, decodeString(a, "email", &u.Email)...)
	diags = append(diags, decodeBool(a, "allow_outgoing", &u.AllowOutgoing)...)
	diags = append(diags, decodeBool(a, "record_outgoing", &u.RecordOutgoing)...)
	diags = append(diags, decodeBool(a, "allow_custom_caller_id", &u.AllowCustomCallerID)...)
	ref, d := decodeRef(a, "caller_id")
	u.CallerID = ref
	diags = append(diags, d...)
	ref, d = decodeRef(a, "custom_caller_id")
	u.CustomCallerID = ref
	return u, append(diags, d...)
}

var groupSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "description"},
		{Name: "members"},
	},
}

func decodeGroup(block *hcl.Block) (*Group, hcl.Diagnostics) {
	g := &Group{Name: block.Labels[0], DeclRange: block.DefRange, NameRange: block.LabelRanges[0]}
	content, diags := block.Body.Content(groupSchema)
	diags = append(diags, decodeString(content.Attributes, "description", &g.Description)...)
	members, set, d := decodeRefList(content.Attributes, "members")
	g.Members, g.MembersSet = members, set
	return g, append(diags, d...)
}
