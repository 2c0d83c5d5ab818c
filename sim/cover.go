package sim

import (
	"fmt"

	"github.com/callflow/callflow/vm"
)

// Coverage is a vm.Hook that records which outcome of which effect the
// calls it watches have taken. One Coverage may watch many calls of many
// programs, one call at a time.
type Coverage struct {
	seen map[coverKey]bool
}

type coverKey struct {
	prog   *vm.Program
	pc     uint32
	result vm.Result
}

// NewCoverage returns an empty record.
func NewCoverage() *Coverage { return &Coverage{seen: map[coverKey]bool{}} }

// OnEffect implements vm.Hook.
func (c *Coverage) OnEffect(*vm.Machine, *vm.Effect) error { return nil }

// OnResult implements vm.Hook.
func (c *Coverage) OnResult(m *vm.Machine, e *vm.Effect, r vm.Result) error {
	c.seen[coverKey{m.Program(), e.PC, r}] = true
	return nil
}

// Uncovered lists, for program p, each effect outcome no watched call has
// taken, such as "transfer_user.dana: ring-user → unavailable". Hanging up
// is not listed: every effect can end that way.
func (c *Coverage) Uncovered(p *vm.Program) []string {
	var out []string
	for _, site := range p.EffectSites() {
		for _, r := range site.Results {
			if !c.seen[coverKey{p, site.PC, r}] {
				out = append(out, fmt.Sprintf("%s: %s → %s", p.States[site.State].Ref, site.Kind, r))
			}
		}
	}
	return out
}

// Outcomes counts p's effect outcomes and how many of them were taken.
func (c *Coverage) Outcomes(p *vm.Program) (taken, total int) {
	for _, site := range p.EffectSites() {
		for _, r := range site.Results {
			total++
			if c.seen[coverKey{p, site.PC, r}] {
				taken++
			}
		}
	}
	return taken, total
}
