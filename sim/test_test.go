package sim_test

import (
	"strings"
	"testing"

	"github.com/callflow/callflow/sim"
)

func TestRunTest(t *testing.T) {
	m, p := compile(t)
	pass := sim.Test{Name: "ann is busy", Flow: "main", Location: "main_test.hcl:1,1-5", File: "main_test.hcl", Line: 1,
		World:  sim.World{Digits: "3", Agents: map[string][]string{"ann": {"busy"}}, QueueFull: true},
		Expect: sim.Expect{Path: []string{"ivr.menu", "transfer_user.ann", "voicemail.box"}, PathSet: true, Ending: "message"}}
	r, err := sim.RunTest(p, m, pass)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Passed || len(r.Mismatches) != 0 || r.Name != pass.Name || r.Location != pass.Location || r.Line != 1 || r.Trace == nil {
		t.Errorf("passing test: %+v", r)
	}
	fail := pass
	fail.Expect = sim.Expect{Ending: "connected", ConnectedTo: "user.ann"}
	r, err = sim.RunTest(p, m, fail)
	if err != nil {
		t.Fatal(err)
	}
	if r.Passed || len(r.Mismatches) != 2 || r.Mismatches[0].Field != "ending" || r.Mismatches[1].Field != "connected_to" {
		t.Errorf("failing test: %+v", r.Mismatches)
	}
	// A world that cannot be run is an error that names the test.
	bad := pass
	bad.World.Digits = "x"
	if _, err := sim.RunTest(p, m, bad); err == nil || !strings.Contains(err.Error(), `test "ann is busy"`) {
		t.Errorf("bad world: %v", err)
	}
}
