package lang

import (
	"sort"

	"github.com/hashicorp/hcl/v2"
)

var flowSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "description"},
		{Name: "numbers"},
		{Name: "start"},
		{Name: "enabled"},
	},
	Blocks: stateBlockHeaders(),
}

func stateBlockHeaders() []hcl.BlockHeaderSchema {
	var hs []hcl.BlockHeaderSchema
	for _, k := range StateKinds {
		hs = append(hs, hcl.BlockHeaderSchema{Type: string(k), LabelNames: []string{"name"}})
	}
	return hs
}

func decodeFlow(block *hcl.Block) (*Flow, hcl.Diagnostics) {
	f := &Flow{
		Name:      block.Labels[0],
		DeclRange: block.DefRange,
		NameRange: block.LabelRanges[0],
		Enabled:   Bool{Value: true},
	}
	content, diags := block.Body.Content(flowSchema)
	a := content.Attributes
	diags = append(diags, decodeString(a, "description", &f.Description)...)
	diags = append(diags, decodeBool(a, "enabled", &f.Enabled)...)
	numbers, _, d := decodeRefList(a, "numbers")
	f.Numbers = numbers
	diags = append(diags, d...)
	start, d := decodeRef(a, "start")
	f.Start = start
	diags = append(diags, d...)
	for _, b := range content.Blocks {
		s, d := decodeState(b)
		diags = append(diags, d...)
		f.States = append(f.States, s)
	}
	return f, diags
}

// Every state accepts every connection attribute and key blocks, so that
// a connection a kind does not have (a voicemail with "next", keys on an
// announce) gets the compiler's explanation of the rule rather than a bare
// "Unsupported argument".
func stateSchema(attrs ...string) *hcl.BodySchema {
	s := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "key", LabelNames: []string{"key"}}}}
	for _, name := range append(attrs, ConnectionOutcomes...) {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: name})
	}
	return s
}

var (
	announceSchema      = stateSchema("say", "play")
	ivrSchema           = stateSchema("say", "play", "timeout")
	transferUserSchema  = require(withBlock(stateSchema("user", "ring_timeout", "record"), "queue"), "user")
	transferGroupSchema = require(stateSchema("group", "ring", "ring_timeout", "record"), "group")
	voicemailSchema     = stateSchema("say", "play", "max_length", "timeout")
)

func withBlock(s *hcl.BodySchema, block string) *hcl.BodySchema {
	s.Blocks = append(s.Blocks, hcl.BlockHeaderSchema{Type: block})
	return s
}

var keySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "next", Required: true}},
}

var queueSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "max_waiting", Required: true},
		{Name: "say"},
		{Name: "play"},
		{Name: "music"},
		{Name: "repeat"},
	},
}

func decodeState(block *hcl.Block) (*State, hcl.Diagnostics) {
	s := &State{
		Kind:      StateKind(block.Type),
		Name:      block.Labels[0],
		DeclRange: block.DefRange,
		NameRange: block.LabelRanges[0],
	}
	var schema *hcl.BodySchema
	switch s.Kind {
	case Announce:
		schema = announceSchema
	case IVR:
		schema = ivrSchema
	case TransferUser:
		schema = transferUserSchema
	case TransferGroup:
		schema = transferGroupSchema
	case Voicemail:
		schema = voicemailSchema
	}
	content, diags := block.Body.Content(schema)
	a := content.Attributes

	diags = append(diags, decodePrompt(a, &s.Prompt)...)
	for _, name := range ConnectionOutcomes {
		attr, ok := a[name]
		if !ok {
			continue
		}
		ref, d := refFromExpr(attr.Expr, name)
		diags = append(diags, d...)
		s.Conns = append(s.Conns, Connection{Outcome: name, Target: ref, Range: attr.Range})
	}

	switch s.Kind {
	case IVR:
		s.IVR = &IVROptions{Timeout: Int{Value: DefaultIVRTimeout}}
		diags = append(diags, decodeInt(a, "timeout", &s.IVR.Timeout)...)
	case TransferUser:
		o := &TransferUserOptions{RingTimeout: Int{Value: DefaultRingTimeout}}
		ref, d := decodeRef(a, "user")
		diags = append(diags, d...)
		if ref != nil {
			o.User = *ref
		}
		diags = append(diags, decodeInt(a, "ring_timeout", &o.RingTimeout)...)
		diags = append(diags, decodeBool(a, "record", &o.Record)...)
		for _, b := range content.Blocks {
			if b.Type != "queue" {
				continue
			}
			if o.Queue != nil {
				diags = append(diags, duplicateSingleton(b, o.Queue.DeclRange, "A transfer_user state"))
				continue
			}
			q := &Queue{DeclRange: b.DefRange, Repeat: Int{Value: DefaultQueueRepeat}}
			c, d := b.Body.Content(queueSchema)
			diags = append(diags, d...)
			diags = append(diags, decodeInt(c.Attributes, "max_waiting", &q.MaxWaiting)...)
			diags = append(diags, decodePrompt(c.Attributes, &q.Prompt)...)
			diags = append(diags, decodeString(c.Attributes, "music", &q.Music)...)
			diags = append(diags, decodeInt(c.Attributes, "repeat", &q.Repeat)...)
			o.Queue = q
		}
		s.TransferUser = o
	case TransferGroup:
		o := &TransferGroupOptions{RingTimeout: Int{Value: DefaultRingTimeout}, Ring: String{Value: DefaultGroupRing}}
		ref, d := decodeRef(a, "group")
		diags = append(diags, d...)
		if ref != nil {
			o.Group = *ref
		}
		diags = append(diags, decodeString(a, "ring", &o.Ring)...)
		diags = append(diags, decodeInt(a, "ring_timeout", &o.RingTimeout)...)
		diags = append(diags, decodeBool(a, "record", &o.Record)...)
		s.TransferGroup = o
	case Voicemail:
		o := &VoicemailOptions{MaxLength: Int{Value: DefaultVoicemailLength}, Timeout: Int{Value: DefaultVoicemailTimeout}}
		diags = append(diags, decodeInt(a, "max_length", &o.MaxLength)...)
		diags = append(diags, decodeInt(a, "timeout", &o.Timeout)...)
		s.Voicemail = o
	}

	for _, b := range content.Blocks {
		if b.Type != "key" {
			continue
		}
		c, d := b.Body.Content(keySchema)
		diags = append(diags, d...)
		attr, ok := c.Attributes["next"]
		if !ok {
			continue
		}
		ref, d := refFromExpr(attr.Expr, "next")
		diags = append(diags, d...)
		s.Conns = append(s.Conns, Connection{
			Outcome: "key", Key: b.Labels[0], KeyRange: b.LabelRanges[0],
			Target: ref, Range: attr.Range,
		})
	}
	sort.SliceStable(s.Conns, func(i, j int) bool {
		return s.Conns[i].Range.Start.Byte < s.Conns[j].Range.Start.Byte
	})
	return s, diags
}

func require(s *hcl.BodySchema, names ...string) *hcl.BodySchema {
	for i := range s.Attributes {
		for _, n := range names {
			if s.Attributes[i].Name == n {
				s.Attributes[i].Required = true
			}
		}
	}
	return s
}
