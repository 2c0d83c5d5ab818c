package lang

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Test is a flow test: a `test "name" { ... }` block in a *_test.hcl file.
// It names a flow, scripts the world the call meets (the keys the caller
// presses, how each agent answers, what the caller does at a voicemail
// beep), and states the path the call must take and how it must end.
type Test struct {
	Name        string
	Flow        Ref
	Digits      String        // the keys pressed, in order, such as "1*"
	Agents      []AgentScript // how each user answers, in source order
	Voicemail   String        // leave | silent | storage-full
	QueueFull   Bool          // every queue is already full of other callers
	Path        []Ref         // the states the call must pass, in order
	PathSet     bool
	Ending      String // flow-end | connected | message | no-message
	ConnectedTo *Ref   // the user or group that answered, when Ending is connected
	DeclRange   hcl.Range
	NameRange   hcl.Range
}

// AgentScript is how one user answers each time they are rung: a list of
// behaviours (answers, busy, unavailable, no-answer), one per ring, the
// last repeating; "free" between two rings says the user became free while
// the caller waited in the queue.
type AgentScript struct {
	User       string
	Behaviours []string
	Range      hcl.Range // the user's name
	ValueRange hcl.Range // the behaviours
}

var testFileSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{{Type: "test", LabelNames: []string{"name"}}},
}

var testSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "flow", Required: true},
		{Name: "digits"},
		{Name: "agents"},
		{Name: "voicemail"},
		{Name: "queue_full"},
		{Name: "path"},
		{Name: "ending", Required: true},
		{Name: "connected_to"},
	},
}

// LoadTests reads every flow test file (*_test.hcl) under dir. The files
// are kept in the parser's cache beside the configuration's.
func (p *Parser) LoadTests(dir string) ([]*Test, hcl.Diagnostics) {
	names, err := TestFiles(dir)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read test files", Detail: err.Error()}}
	}
	files, diags := readFiles(names)
	tests, more := p.LoadTestSources(files)
	return tests, append(diags, more...)
}

// LoadTestSources decodes flow test files.
func (p *Parser) LoadTestSources(files []NamedSource) ([]*Test, hcl.Diagnostics) {
	var tests []*Test
	var diags hcl.Diagnostics
	for _, f := range files {
		body, d := p.parse(f)
		diags = append(diags, d...)
		if body == nil {
			continue
		}
		content, d := body.Content(testFileSchema)
		diags = append(diags, d...)
		for _, b := range content.Blocks {
			t, d := decodeTest(b)
			diags = append(diags, d...)
			tests = append(tests, t)
		}
	}
	SanitizeRanges(diags)
	return tests, diags
}

func decodeTest(block *hcl.Block) (*Test, hcl.Diagnostics) {
	t := &Test{Name: block.Labels[0], DeclRange: block.DefRange, NameRange: block.LabelRanges[0]}
	content, diags := block.Body.Content(testSchema)
	a := content.Attributes
	if ref, d := decodeRef(a, "flow"); ref != nil {
		t.Flow = *ref
		diags = append(diags, d...)
	}
	diags = append(diags, decodeString(a, "digits", &t.Digits)...)
	diags = append(diags, decodeString(a, "voicemail", &t.Voicemail)...)
	diags = append(diags, decodeBool(a, "queue_full", &t.QueueFull)...)
	diags = append(diags, decodeString(a, "ending", &t.Ending)...)
	path, set, d := decodeRefList(a, "path")
	t.Path, t.PathSet = path, set
	diags = append(diags, d...)
	ref, d := decodeRef(a, "connected_to")
	t.ConnectedTo = ref
	diags = append(diags, d...)
	if attr, ok := a["agents"]; ok {
		pairs, d := hcl.ExprMap(attr.Expr)
		if d.HasErrors() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid agents",
				Detail:   `agents maps user names to how they answer, such as { dana = "busy", erik = "answers" }, or a list per ring: { dana = ["busy", "answers"] }.`,
				Subject:  attr.Expr.Range().Ptr(),
			})
		}
		for _, kv := range pairs {
			user := hcl.ExprAsKeyword(kv.Key)
			if user == "" {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid agent name",
					Detail:   "Each key of agents is a user's name written bare, such as dana = \"busy\".",
					Subject:  kv.Key.Range().Ptr(),
				})
				continue
			}
			if prev := findAgent(t.Agents, user); prev != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate agent",
					Detail:   fmt.Sprintf("%s is already scripted at %s. To script several rings, list one behaviour per ring: %s = [\"busy\", \"answers\"].", user, prev.Range, user),
					Subject:  kv.Key.Range().Ptr(),
				})
				continue
			}
			script := AgentScript{User: user, Range: kv.Key.Range(), ValueRange: kv.Value.Range()}
			v, d := kv.Value.Value(nil)
			switch {
			case d.HasErrors():
				diags = append(diags, d...)
				continue
			case v.Type() == cty.String && !v.IsNull():
				script.Behaviours = []string{v.AsString()}
			case (v.Type().IsTupleType() || v.Type().IsListType()) && !v.IsNull() && v.LengthInt() > 0:
				for it := v.ElementIterator(); it.Next(); {
					_, ev := it.Element()
					if ev.IsNull() || ev.Type() != cty.String {
						script.Behaviours = nil
						break
					}
					script.Behaviours = append(script.Behaviours, ev.AsString())
				}
			}
			if script.Behaviours == nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid agent behaviour",
					Detail:   `An agent's behaviour is "answers", "busy", "unavailable" or "no-answer", or a non-empty list of them, one per ring, with "free" where a busy user becomes free during the queue.`,
					Subject:  kv.Value.Range().Ptr(),
				})
				continue
			}
			t.Agents = append(t.Agents, script)
		}
	}
	return t, diags
}

func findAgent(agents []AgentScript, user string) *AgentScript {
	for i := range agents {
		if agents[i].User == user {
			return &agents[i]
		}
	}
	return nil
}
