package compiler

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/callflow/callflow/lang"
)

// GraphFormats are the formats WriteGraph draws.
var GraphFormats = []string{"dot", "mermaid"}

// WriteGraph draws flow f: a start node, every state with its kind and main
// settings, and every connection labelled with its outcome (key 1,
// timeout, busy…). States no caller can reach are drawn dashed. format is
// "dot" (Graphviz) or "mermaid".
func WriteGraph(w io.Writer, f *Flow, format string) error {
	reached := map[*lang.State]bool{}
	for _, s := range f.Order {
		reached[s] = true
	}
	type edge struct{ from, to, label string }
	var edges []edge
	if f.Start != nil {
		if s := f.States[f.Start.String()]; s != nil {
			edges = append(edges, edge{"start", s.Ref(), ""})
		}
	}
	for _, s := range f.Flow.States {
		for _, conn := range s.Conns {
			if t := f.States[conn.Target.String()]; t != nil && connects(s, conn) {
				edges = append(edges, edge{s.Ref(), t.Ref(), conn.Label()})
			}
		}
	}

	var b strings.Builder
	switch format {
	case "dot":
		fmt.Fprintf(&b, "digraph %s {\n", dotQuote(f.Name))
		b.WriteString("  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n")
		b.WriteString("  start [shape=circle, label=\"start\"];\n")
		for _, s := range f.Flow.States {
			style := ""
			if !reached[s] {
				style = ", style=\"rounded,dashed\""
			}
			fmt.Fprintf(&b, "  %s [label=%s%s];\n", dotQuote(s.Ref()), dotQuote(strings.Join(stateLines(s), "\n")), style)
		}
		for _, e := range edges {
			from := "start"
			if e.from != "start" {
				from = dotQuote(e.from)
			}
			if e.label == "" {
				fmt.Fprintf(&b, "  %s -> %s;\n", from, dotQuote(e.to))
			} else {
				fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", from, dotQuote(e.to), dotQuote(e.label))
			}
		}
		b.WriteString("}\n")
	case "mermaid":
		ids := map[string]string{"start": "start"}
		b.WriteString("flowchart LR\n  start((start))\n")
		for i, s := range f.Flow.States {
			id := fmt.Sprintf("s%d", i)
			ids[s.Ref()] = id
			lines := stateLines(s)
			for i, l := range lines {
				lines[i] = mermaidEscape(l)
			}
			fmt.Fprintf(&b, "  %s[\"%s\"]\n", id, strings.Join(lines, "<br/>"))
			if !reached[s] {
				fmt.Fprintf(&b, "  style %s stroke-dasharray: 5 5\n", id)
			}
		}
		for _, e := range edges {
			if e.label == "" {
				fmt.Fprintf(&b, "  %s --> %s\n", ids[e.from], ids[e.to])
			} else {
				fmt.Fprintf(&b, "  %s -->|\"%s\"| %s\n", ids[e.from], mermaidEscape(e.label), ids[e.to])
			}
		}
	default:
		return fmt.Errorf("unknown graph format %q; use one of %s", format, strings.Join(GraphFormats, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// stateLines is a state's label: its reference, then its main settings.
func stateLines(s *lang.State) []string {
	lines := []string{s.Ref()}
	if p := promptLine(s.Prompt); p != "" {
		lines = append(lines, p)
	}
	switch s.Kind {
	case lang.IVR:
		lines = append(lines, fmt.Sprintf("timeout %ds", s.IVR.Timeout.Value))
	case lang.TransferUser:
		o := s.TransferUser
		lines = append(lines, fmt.Sprintf("user %s, ring %ds%s", o.User.Name, o.RingTimeout.Value, recordWord(o.Record.Value)))
		if q := o.Queue; q != nil {
			lines = append(lines, fmt.Sprintf("queue up to %d, music ×%d", q.MaxWaiting.Value, q.Repeat.Value))
		}
	case lang.TransferGroup:
		o := s.TransferGroup
		lines = append(lines, fmt.Sprintf("group %s, %s, ring %ds%s", o.Group.Name, o.Ring.Value, o.RingTimeout.Value, recordWord(o.Record.Value)))
	case lang.Voicemail:
		o := s.Voicemail
		lines = append(lines, fmt.Sprintf("message up to %ds, timeout %ds", o.MaxLength.Value, o.Timeout.Value))
	}
	return lines
}

func recordWord(record bool) string {
	if record {
		return ", recorded"
	}
	return ""
}

const maxPromptLine = 40

func promptLine(p lang.Prompt) string {
	switch {
	case p.Say.Set:
		text := p.Say.Value
		if utf8.RuneCountInString(text) > maxPromptLine {
			text = string([]rune(text)[:maxPromptLine-1]) + "…"
		}
		return "say: " + text
	case p.Play.Set:
		return "play: " + p.Play.Value
	}
	return ""
}

func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func mermaidEscape(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;").Replace(s)
}
