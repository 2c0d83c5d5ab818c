package compiler

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/callflow/callflow/lang"
)

// Agent behaviours, voicemail actions and endings a flow test may name.
// Package sim runs them; they are listed here so that tests are checked
// before anything runs.
var (
	TestBehaviours = []string{"answers", "busy", "unavailable", "no-answer", "free"}
	TestVoicemail  = []string{"leave", "silent", "storage-full"}
	TestEndings    = []string{"flow-end", "connected", "message", "no-message"}
)

// CheckTests checks flow tests against a checked model: the flow, the
// states of the path, the agents and the expected ending must all exist.
func CheckTests(m *Model, tests []*lang.Test) hcl.Diagnostics {
	c := &checker{m: m}
	names := map[string]*lang.Test{}
	for _, t := range tests {
		if prev, ok := names[t.Name]; ok {
			c.errorf(t.NameRange, "Duplicate test name",
				"A test named %q is already declared at %s. Rename one, so that results name one test each.", t.Name, prev.NameRange)
		}
		names[t.Name] = t
		f, ok := resolve(c, t.Flow, "flow", m.Flows, "flow")
		if ok {
			for _, ref := range t.Path {
				c.resolveState(f, ref, "path")
			}
		}
		for _, r := range t.Digits.Value {
			if !(r >= '0' && r <= '9') && r != '*' {
				c.errorf(t.Digits.Range, "Invalid digits",
					"digits lists the keys the caller presses, in order: 0 to 9 and *. %q is not one of them.", r)
				break
			}
		}
		for _, a := range t.Agents {
			if _, ok := m.Users[a.User]; !ok {
				names := make([]string, 0, len(m.Users))
				for n := range m.Users {
					names = append(names, n)
				}
				c.errorf(a.Range, "Reference to undeclared user", "No user named %q is declared.%s", a.User, didYouMean(a.User, names, ""))
			}
			for _, b := range a.Behaviours {
				c.checkEnum(lang.String{Value: b, Set: true, Range: a.ValueRange}, "agent behaviour", TestBehaviours...)
			}
		}
		c.checkEnum(t.Voicemail, "voicemail action", TestVoicemail...)
		c.checkEnum(t.Ending, "ending", TestEndings...)
		if t.ConnectedTo != nil {
			switch t.ConnectedTo.Kind {
			case "group":
				resolve(c, *t.ConnectedTo, "group", m.Groups, "connected_to")
			default:
				resolve(c, *t.ConnectedTo, "user", m.Users, "connected_to")
			}
			if t.Ending.Value != "connected" {
				c.errorf(t.ConnectedTo.Range, "connected_to needs ending = \"connected\"",
					"connected_to says who answers, so the test must expect the call to be connected. Set ending = \"connected\", or remove connected_to.")
			}
		}
	}
	lang.SanitizeRanges(c.diags)
	return c.diags
}

// Members returns a group's members in ring order (declaration order,
// standing in for login order), for simulation.
func (m *Model) Members(group string) []string {
	g, ok := m.Groups[group]
	if !ok {
		return nil
	}
	var users []string
	for _, ref := range g.Members {
		if ref.IsValid() && ref.Kind == "user" {
			users = append(users, ref.Name)
		}
	}
	return users
}
