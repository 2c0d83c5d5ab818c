package sim

import (
	"fmt"
	"time"

	"github.com/callflow/callflow/vm"
)

// Test is one flow test as `callflow test` runs it: a call of Flow in a
// scripted World, and what the call must do. The caller turns a test
// block of a *_test.hcl file into one, and compiles the flow.
type Test struct {
	Name string
	Flow string
	// Location is where the test is written, for people
	// ("flows/sales_test.hcl:3,1-30"); File and Line are the same for
	// machines (JUnit, JSON).
	Location string
	File     string
	Line     int
	World    World
	Expect   Expect
}

// Result is what running a Test found.
type Result struct {
	Name       string        `json:"name"`
	Flow       string        `json:"flow"`
	Location   string        `json:"location"`
	File       string        `json:"file"`
	Line       int           `json:"line"`
	Passed     bool          `json:"passed"`
	Mismatches []Mismatch    `json:"mismatches,omitempty"`
	Trace      *Trace        `json:"trace"`
	Duration   time.Duration `json:"-"`
}

// RunTest runs t's flow, compiled as p, in t's world, with dir saying who
// is in each group, and compares what the call did with what t expects.
// hooks watch the call (a Coverage, for --cover). The error is for a test
// that cannot run at all, such as a world that does not validate; a test
// that runs and differs is a Result that did not pass.
func RunTest(p *vm.Program, dir Directory, t Test, hooks ...vm.Hook) (Result, error) {
	start := time.Now()
	trace, err := Run(p, dir, t.World, hooks...)
	if err != nil {
		return Result{}, fmt.Errorf("test %q: %w", t.Name, err)
	}
	ms := trace.Compare(t.Expect)
	return Result{
		Name: t.Name, Flow: t.Flow, Location: t.Location, File: t.File, Line: t.Line,
		Passed: len(ms) == 0, Mismatches: ms, Trace: trace, Duration: time.Since(start),
	}, nil
}
