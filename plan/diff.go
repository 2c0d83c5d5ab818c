package plan

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Change is one object added, changed or removed.
type Change struct {
	Action string       `json:"action"` // add | change | remove
	Kind   string       `json:"kind"`   // organization, credits, recordings, number, user, group, flow
	Name   string       `json:"name,omitempty"`
	Attrs  []AttrChange `json:"attributes,omitempty"`
	// States lists a flow's states added, removed or changed.
	States []StateChange `json:"states,omitempty"`
}

// Address is how the change names its object: "flow.support".
func (c Change) Address() string {
	if c.Name == "" {
		return c.Kind
	}
	return c.Kind + "." + c.Name
}

// AttrChange is one setting added, changed or removed.
type AttrChange struct {
	Action string `json:"action"`
	Name   string `json:"name"`
	Old    string `json:"old,omitempty"`
	New    string `json:"new,omitempty"`
}

// StateChange is one state of a flow added, changed or removed, with its
// settings and its connections; a connection that now leads elsewhere is
// rewired.
type StateChange struct {
	Action      string       `json:"action"`
	State       string       `json:"state"`
	Attrs       []AttrChange `json:"attributes,omitempty"`
	Connections []AttrChange `json:"connections,omitempty"`
}

// Compare lists what changes from old to new, in a stable order.
func Compare(old, new *Snapshot) []Change {
	var out []Change
	single := func(kind string, o, n Object) {
		if attrs := compareObjects(o, n); len(attrs) > 0 {
			action := "change"
			if len(o) == 0 {
				action = "add"
			} else if len(n) == 0 {
				action = "remove"
			}
			out = append(out, Change{Action: action, Kind: kind, Attrs: attrs})
		}
	}
	single("organization", old.Organization, new.Organization)
	single("credits", old.Credits, new.Credits)
	single("recordings", old.Recordings, new.Recordings)
	single("rates", old.Rates, new.Rates)
	named := func(kind string, o, n map[string]Object) {
		for _, name := range unionKeys(o, n) {
			before, had := o[name]
			after, has := n[name]
			switch {
			case !had:
				out = append(out, Change{Action: "add", Kind: kind, Name: name, Attrs: compareObjects(nil, after)})
			case !has:
				out = append(out, Change{Action: "remove", Kind: kind, Name: name, Attrs: compareObjects(before, nil)})
			default:
				if attrs := compareObjects(before, after); len(attrs) > 0 {
					out = append(out, Change{Action: "change", Kind: kind, Name: name, Attrs: attrs})
				}
			}
		}
	}
	named("trunk", old.Trunks, new.Trunks)
	named("number", old.Numbers, new.Numbers)
	named("user", old.Users, new.Users)
	named("group", old.Groups, new.Groups)
	for _, name := range unionKeys(old.Flows, new.Flows) {
		before, had := old.Flows[name]
		after, has := new.Flows[name]
		c := CompareFlows(before, after)
		c.Name = name
		switch {
		case !had:
			c.Action = "add"
		case !has:
			c.Action = "remove"
		case len(c.Attrs) == 0 && len(c.States) == 0:
			continue
		}
		out = append(out, c)
	}
	return out
}

// CompareFlows compares two definitions of a flow; a zero Flow stands for
// none.
func CompareFlows(before, after Flow) Change {
	c := Change{Action: "change", Kind: "flow", Attrs: compareObjects(before.Settings, after.Settings)}
	for _, ref := range unionKeys(before.States, after.States) {
		o, had := before.States[ref]
		n, has := after.States[ref]
		sc := StateChange{State: ref, Attrs: compareObjects(o.Settings, n.Settings), Connections: compareObjects(o.Connections, n.Connections)}
		for i := range sc.Connections {
			if sc.Connections[i].Action == "change" {
				sc.Connections[i].Action = "rewire"
			}
		}
		switch {
		case !had:
			sc.Action = "add"
		case !has:
			sc.Action = "remove"
		case len(sc.Attrs) == 0 && len(sc.Connections) == 0:
			continue
		default:
			sc.Action = "change"
		}
		c.States = append(c.States, sc)
	}
	return c
}

func compareObjects(o, n Object) []AttrChange {
	var out []AttrChange
	for _, k := range unionKeys(o, n) {
		before, had := o[k]
		after, has := n[k]
		switch {
		case !had:
			out = append(out, AttrChange{Action: "add", Name: k, New: after})
		case !has:
			out = append(out, AttrChange{Action: "remove", Name: k, Old: before})
		case before != after:
			out = append(out, AttrChange{Action: "change", Name: k, Old: before, New: after})
		}
	}
	return out
}

func unionKeys[V any](a, b map[string]V) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

var symbols = map[string]string{"add": "+", "remove": "-", "change": "~", "rewire": "~"}

// WriteChanges prints changes the way `callflow plan` shows them.
func WriteChanges(w io.Writer, changes []Change) {
	for _, c := range changes {
		fmt.Fprintf(w, "  %s %s\n", symbols[c.Action], c.Address())
		if c.Action != "change" && c.Kind != "flow" {
			// An object added or removed: its settings, briefly.
			if summary := objectSummary(c); summary != "" {
				fmt.Fprintf(w, "      %s\n", summary)
			}
			continue
		}
		writeAttrs(w, "      ", c.Attrs)
		for _, s := range c.States {
			fmt.Fprintf(w, "      %s state %s\n", symbols[s.Action], s.State)
			if s.Action == "change" {
				writeAttrs(w, "          ", s.Attrs)
				for _, conn := range s.Connections {
					writeConn(w, "          ", conn)
				}
			}
		}
	}
}

func objectSummary(c Change) string {
	var parts []string
	for _, a := range c.Attrs {
		v := a.New
		if c.Action == "remove" {
			v = a.Old
		}
		parts = append(parts, a.Name+" = "+quote(v))
	}
	return strings.Join(parts, ", ")
}

func writeAttrs(w io.Writer, indent string, attrs []AttrChange) {
	for _, a := range attrs {
		switch a.Action {
		case "add":
			fmt.Fprintf(w, "%s+ %s = %s\n", indent, a.Name, quote(a.New))
		case "remove":
			fmt.Fprintf(w, "%s- %s = %s\n", indent, a.Name, quote(a.Old))
		default:
			fmt.Fprintf(w, "%s~ %s: %s → %s\n", indent, a.Name, quote(a.Old), quote(a.New))
		}
	}
}

func writeConn(w io.Writer, indent string, c AttrChange) {
	switch c.Action {
	case "add":
		fmt.Fprintf(w, "%s+ connection %s → %s\n", indent, c.Name, c.New)
	case "remove":
		fmt.Fprintf(w, "%s- connection %s → %s\n", indent, c.Name, c.Old)
	default:
		fmt.Fprintf(w, "%s~ connection %s rewired: %s → %s\n", indent, c.Name, c.Old, c.New)
	}
}

// quote shows a setting: references, numbers and booleans bare, text in
// quotes, shortened.
func quote(v string) string {
	if v == "true" || v == "false" || strings.HasPrefix(v, "[") || isNumber(v) || isRef(v) {
		return v
	}
	r := []rune(v)
	if len(r) > 50 {
		v = string(r[:49]) + "…"
	}
	return fmt.Sprintf("%q", v)
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && r != '.' {
			return false
		}
	}
	return true
}

func isRef(s string) bool {
	kind, name, ok := strings.Cut(s, ".")
	if !ok || name == "" || strings.ContainsAny(name, " \"/.") {
		return false
	}
	switch kind {
	case "number", "user", "group", "flow", "announce", "ivr", "transfer_user", "transfer_group", "voicemail":
		return true
	}
	return false
}

// Counts returns how many objects are added, changed and removed.
func Counts(changes []Change) (add, change, remove int) {
	for _, c := range changes {
		switch c.Action {
		case "add":
			add++
		case "remove":
			remove++
		default:
			change++
		}
	}
	return add, change, remove
}
