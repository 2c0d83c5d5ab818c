package callflow_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/callflow/callflow"

// rules says, for every package of the module, which of the module's
// packages its whole import closure may contain (DESIGN.md, "Packages"),
// besides itself. "x/..." allows x and everything under it; "*" allows
// anything (the CLI, tests' helpers, benchmarks). A package with no rule
// fails the test, so that a new package cannot slip past the guard.
var rules = map[string][]string{
	"":                     {"*"}, // this test
	"vm":                   {},
	"internal/wav":         {"internal/g711"},
	"internal/g711":        {},
	"lang":                 {},
	"compiler":             {"lang", "vm", "internal/wav", "internal/g711"},
	"numbers":              {"compiler", "lang", "vm", "internal/wav", "internal/g711"},
	"sim":                  {"vm", "ring"},
	"ring":                 {"vm"},
	"store":                {},
	"billing":              {"store", "vm", "live"},
	"live":                 {"vm"},
	"outbound":             {"live", "vm"},
	"plan":                 {"lang", "compiler", "vm", "billing", "store", "numbers", "live", "internal/wav", "internal/g711"},
	"telephony":            {"telephony/...", "ring", "outbound", "vm", "billing", "store", "live", "internal/wav", "internal/g711"},
	"telephony/media":      {"internal/g711"},
	"telephony/prompt":     {"telephony/media", "internal/wav", "internal/g711"},
	"telephony/route":      {},
	"telephony/dialog":     {},
	"telephony/trunk":      {"telephony/dialog"},
	"telephony/registrar":  {"store"},
	"telephony/agents":     {"telephony/...", "ring", "vm", "store", "internal/wav", "internal/g711"},
	"telephony/session":    {"telephony/media", "telephony/prompt", "vm", "internal/wav", "internal/g711"},
	"telephony/serving":    {"telephony/...", "ring", "outbound", "vm", "billing", "store", "live", "internal/wav", "internal/g711"},
	"telephony/node":       {"telephony/...", "ring", "outbound", "vm", "billing", "store", "live", "internal/wav", "internal/g711"},
	"internal/siptest":     {"telephony/...", "internal/g711"},
	"internal/baresiptest": {"internal/tooltest"},
	"internal/storetest":   {"*"},
	"internal/audiotest":   {"internal/wav", "internal/g711"},
	"internal/benchgen":    {"*"},
	"internal/markertest":  {"*"},
	"internal/tooltest":    {"*"},
	"cmd/callflow":         {"*"},
	"bench/apply":          {"*"},
	"bench/serve":          {"*"},
	"bench/validate":       {"*"},
	"bench/relay":          {"*"},
	"bench/register":       {"*"},
	"bench/outbound":       {"*"},
	"testscripts":          {"*"},
}

// sqlDrivers are the import paths (and prefixes) of SQL drivers: only
// store may import them, so that store stays the only package that
// speaks SQL.
var sqlDrivers = []string{"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/lib/pq", "github.com/mattn/go-sqlite3"}

// frontEnd is what the runtime must never carry: the HCL front end runs
// at apply time, not on the call path.
var frontEnd = []string{"github.com/hashicorp/hcl", "github.com/zclconf/go-cty"}

type listed struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// TestDependencyDirection keeps the pipeline running one way: each
// package's whole dependency closure holds only the project packages its
// rule allows, vm, internal/wav and internal/g711 import only the standard library, only
// store imports SQL drivers, and nothing under telephony carries hcl.
func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for dec.More() {
		var p listed
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		n++
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		allowed, ok := rules[rel]
		if !ok {
			t.Errorf("package %s has no rule in deps_test.go: add one saying which packages it may import", p.ImportPath)
			continue
		}
		for _, dep := range p.Deps {
			if dep == p.ImportPath {
				continue
			}
			depRel, internal := strings.CutPrefix(dep, module+"/")
			if !internal {
				if (rel == "vm" || rel == "internal/wav" || rel == "internal/g711") && strings.Contains(strings.Split(dep, "/")[0], ".") {
					t.Errorf("%s must import only the standard library, but imports %s", rel, dep)
				}
				if rel == "telephony" || strings.HasPrefix(rel, "telephony/") {
					for _, f := range frontEnd {
						if strings.HasPrefix(dep, f) {
							t.Errorf("%s carries %s: the runtime must not import the HCL front end", rel, dep)
						}
					}
				}
				continue
			}
			if !allowedDep(depRel, allowed) {
				t.Errorf("%s imports %s (directly or not); it may import only %v", rel, depRel, allowed)
			}
		}
		if rel != "store" {
			for _, imp := range p.Imports {
				for _, d := range sqlDrivers {
					if imp == d || strings.HasPrefix(imp, d+"/") {
						t.Errorf("%s imports %s: only store speaks SQL", rel, imp)
					}
				}
			}
		}
	}
	if n < 20 {
		t.Fatalf("go list found %d packages; the test is not looking at the module", n)
	}
}

func allowedDep(rel string, allowed []string) bool {
	for _, a := range allowed {
		if a == "*" || rel == a {
			return true
		}
		if base, ok := strings.CutSuffix(a, "/..."); ok && (rel == base || strings.HasPrefix(rel, base+"/")) {
			return true
		}
	}
	return false
}
