// Package compiler checks a callflow configuration and lowers its flows.
//
// Checking runs after package lang has decoded the files. It builds the
// symbol tables (numbers, users, groups, flows and each flow's states),
// resolves every reference, and enforces the rules of SPEC.md: the
// connection rules of S24, number rules (S13, S16, S29), directory rules
// (S4, S25–S27) and audio rules (S23). Every problem is an hcl.Diagnostic
// whose Subject is the tightest range that is wrong, with a Detail that says
// how to fix it. Checking never stops at the first problem.
package compiler

import (
	"fmt"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"

	"github.com/callflow/callflow/lang"
)

// Model is a checked configuration: the decoded Config plus the symbol
// tables that resolve its references. Lookups by name are valid even when
// the check found errors; they hold the first declaration of each name.
type Model struct {
	Config  *lang.Config
	Numbers map[string]*lang.Number
	Users   map[string]*lang.User
	Groups  map[string]*lang.Group
	Flows   map[string]*Flow
	// NumberFlow maps a number's name to the flow that answers it.
	NumberFlow map[string]string
	// CustomCallerIDs holds the names of the numbers some user shows as a
	// custom caller ID (S26). No flow answers them: callbacks to them
	// run the support number's flow.
	CustomCallerIDs map[string]bool
}

// Flow is one checked flow.
type Flow struct {
	*lang.Flow
	// States maps a state reference ("ivr.main") to its state.
	States map[string]*lang.State
	// Order lists the states reachable from the start so that every
	// connection leads forward (a topological order). It is nil when the
	// flow has no start or contains a loop.
	Order []*lang.State
	// Root is the repository's directory (Options.Root); compiled programs
	// name source files relative to it.
	Root string
}

// Options adjust checking.
type Options struct {
	// SkipFiles skips the audio file checks (existence and WAV header).
	// The fuzzer uses it; `validate` never does.
	SkipFiles bool
	// Root is the repository's directory. When set, audio files must lie
	// inside it, so that the repository alone says what callers hear.
	Root string
}

// CheckDir parses every configuration file under dir and checks the
// result. It is the whole of `callflow validate`. The returned files are
// the parser's cache, for printing diagnostics with source snippets.
func CheckDir(dir string) (*Model, map[string]*hcl.File, hcl.Diagnostics) {
	p := lang.NewParser()
	cfg, diags := p.LoadDir(dir)
	m, more := Check(cfg, Options{Root: dir})
	diags = append(diags, more...)
	SortDiagnostics(diags)
	return m, p.Files(), diags
}

// Check checks a decoded configuration.
func Check(cfg *lang.Config, opts Options) (*Model, hcl.Diagnostics) {
	c := &checker{
		opts: opts,
		m: &Model{
			Config:     cfg,
			Numbers:    map[string]*lang.Number{},
			Users:      map[string]*lang.User{},
			Groups:     map[string]*lang.Group{},
			Flows:      map[string]*Flow{},
			NumberFlow: map[string]string{},
			// CustomCallerIDs is filled by checkUsers.
			CustomCallerIDs: map[string]bool{},
		},
		audioFiles: map[string]error{},
	}
	c.declare()
	c.checkOrganization()
	c.checkCredits()
	c.checkRecordings()
	c.checkRates()
	c.checkTrunks()
	c.checkNumbers()
	c.checkUsers()
	c.checkGroups()
	for _, f := range cfg.Flows {
		cf := c.m.Flows[f.Name]
		if cf.Flow != f {
			// A duplicate: reported by declare, and still checked, so that
			// its own errors are not hidden behind the duplicate name.
			cf = &Flow{Flow: f, States: map[string]*lang.State{}}
		}
		c.checkFlow(cf)
	}
	c.checkNumberUse()
	c.checkCustomCallerIDs()
	lang.SanitizeRanges(c.diags)
	return c.m, c.diags
}

type checker struct {
	opts  Options
	m     *Model
	diags hcl.Diagnostics
	// audioFiles caches audio file checks by path: a prompt used by many
	// flows is read once.
	audioFiles map[string]error
}

func (c *checker) errorf(subject hcl.Range, summary, detail string, args ...any) {
	c.diags = append(c.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError, Summary: summary,
		Detail: fmt.Sprintf(detail, args...), Subject: subject.Ptr(),
	})
}

func (c *checker) warnf(subject hcl.Range, summary, detail string, args ...any) {
	c.diags = append(c.diags, &hcl.Diagnostic{
		Severity: hcl.DiagWarning, Summary: summary,
		Detail: fmt.Sprintf(detail, args...), Subject: subject.Ptr(),
	})
}

// declare builds the symbol tables and reports duplicate names.
func (c *checker) declare() {
	cfg := c.m.Config
	for _, n := range cfg.Numbers {
		declareName(c, c.m.Numbers, "number", n.Name, n, n.NameRange, func(x *lang.Number) hcl.Range { return x.NameRange })
	}
	for _, u := range cfg.Users {
		declareName(c, c.m.Users, "user", u.Name, u, u.NameRange, func(x *lang.User) hcl.Range { return x.NameRange })
	}
	for _, g := range cfg.Groups {
		declareName(c, c.m.Groups, "group", g.Name, g, g.NameRange, func(x *lang.Group) hcl.Range { return x.NameRange })
	}
	for _, f := range cfg.Flows {
		cf := &Flow{Flow: f, States: map[string]*lang.State{}, Root: c.opts.Root}
		declareName(c, c.m.Flows, "flow", f.Name, cf, f.NameRange, func(x *Flow) hcl.Range { return x.NameRange })
	}
}

func declareName[T any](c *checker, table map[string]T, what, name string, v T, at hcl.Range, rangeOf func(T) hcl.Range) {
	if prev, ok := table[name]; ok {
		c.errorf(at, fmt.Sprintf("Duplicate %s name", what),
			"A %s named %q is already declared at %s. Names must be unique; rename or remove one of them.",
			what, name, rangeOf(prev))
		return
	}
	if !validName(name) {
		c.errorf(at, "Invalid name",
			"%q cannot be used as a %s name, because references are written %s.NAME. A name starts with a letter or underscore and holds letters, digits, underscores and dashes.",
			name, what, what)
	}
	table[name] = v
}

// validName reports whether name can be written after a dot in a
// traversal, which is the only way it is ever referred to.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		letter := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if i == 0 && !letter {
			return false
		}
		if !letter && r != '-' && !(r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// resolve looks a reference up in one table. It reports a reference of the
// wrong kind or to an undeclared name, with a suggestion when one is near.
// It returns false when the reference does not resolve (or was invalid and
// already reported by the parser).
func resolve[T any](c *checker, ref lang.Ref, kind string, table map[string]T, role string) (T, bool) {
	var zero T
	if !ref.IsValid() {
		return zero, false
	}
	if ref.Kind != kind {
		c.errorf(ref.Range, fmt.Sprintf("Not a %s", kind),
			"%s takes a %s, written %s.NAME, but %s names a %s.", role, kind, kind, ref, ref.Kind)
		return zero, false
	}
	v, ok := table[ref.Name]
	if !ok {
		names := make([]string, 0, len(table))
		for n := range table {
			names = append(names, n)
		}
		c.errorf(ref.Range, fmt.Sprintf("Reference to undeclared %s", kind),
			"No %s named %q is declared.%s", kind, ref.Name, didYouMean(ref.Name, names, kind+"."))
		return zero, false
	}
	return v, true
}

// didYouMean returns " Did you mean PREFIX+name?" for the closest candidate
// within an edit distance of two, or "" when none is close.
func didYouMean(given string, candidates []string, prefix string) string {
	best, bestDist := "", 3
	candidates = append([]string(nil), candidates...) // callers pass shared tables
	sort.Strings(candidates)
	for _, cand := range candidates {
		if d := levenshtein.Distance(given, cand, nil); d < bestDist {
			best, bestDist = cand, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %s%s?", prefix, best)
}

// SortDiagnostics orders diagnostics by file and position, those without
// a position first, so that output is stable across runs.
func SortDiagnostics(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		default:
			return a.Start.Byte < b.Start.Byte
		}
	})
}

// checkEnum reports a string attribute whose value is not one of allowed.
func (c *checker) checkEnum(s lang.String, what string, allowed ...string) {
	if !s.Set {
		return
	}
	for _, a := range allowed {
		if s.Value == a {
			return
		}
	}
	c.errorf(s.Range, fmt.Sprintf("Invalid %s", what),
		"%q is not %s. Use one of: %s.%s", s.Value, article(what), quoteList(allowed), didYouMean(s.Value, allowed, ""))
}

// checkRange reports a whole-number attribute outside [lo, hi].
func (c *checker) checkRange(i lang.Int, what, unit string, lo, hi int64) {
	if !i.Set || (i.Value >= lo && i.Value <= hi) {
		return
	}
	c.errorf(i.Range, fmt.Sprintf("%s out of range", what),
		"%s must be between %d and %d %s; it is %d.", what, lo, hi, unit, i.Value)
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}
