package callflow_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection keeps the pipeline running one way (DESIGN.md,
// "Packages"): each package may import only the project packages listed
// for it, and vm imports nothing outside the standard library.
func TestDependencyDirection(t *testing.T) {
	const module = "github.com/callflow/callflow"
	allowed := map[string][]string{
		"lang":      {},
		"compiler":  {"lang", "vm"},
		"sim":       {"vm"},
		"vm":        {},
		"telephony": {"vm", "billing", "store"},
		"billing":   {"store", "vm"},
		"store":     {},
	}
	for pkg, ok := range allowed {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./"+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == module+"/"+pkg {
				continue
			}
			if pkg == "vm" {
				t.Errorf("vm must import only the standard library, but imports %s", dep)
				continue
			}
			rel, internal := strings.CutPrefix(dep, module+"/")
			if !internal {
				continue
			}
			if !allowedDep(rel, append(ok, pkg)) { // its own subpackages too
				t.Errorf("%s imports %s; it may import only %v", pkg, dep, ok)
			}
		}
	}
}

func allowedDep(rel string, allowed []string) bool {
	for _, a := range allowed {
		if rel == a || strings.HasPrefix(rel, a+"/") {
			return true
		}
	}
	return false
}
