package sim_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/lang"
	"github.com/callflow/callflow/sim"
	"github.com/callflow/callflow/vm"
)

const repo = `
number "main" {
  e164 = "+14155550100"
  type = "local"
}

user "ann" {
}

user "bea" {
}

user "cy" {
}

group "team" {
  members = [user.ann, user.bea, user.cy]
}

flow "main" {
  numbers = [number.main]
  start   = ivr.menu

  ivr "menu" {
    say = "1 parallel, 2 sequential, 3 ann."
    key "1" { next = transfer_group.parallel }
    key "2" { next = transfer_group.sequential }
    key "3" { next = transfer_user.ann }
  }

  transfer_group "parallel" {
    group = group.team
  }

  transfer_group "sequential" {
    group = group.team
    ring  = "sequential"
  }

  transfer_user "ann" {
    user = user.ann
    queue {
      max_waiting = 2
    }
    on_busy = voicemail.box
  }

  voicemail "box" {
  }
}
`

func compile(t *testing.T) (*compiler.Model, *vm.Program) {
	t.Helper()
	cfg, diags := lang.NewParser().LoadSources([]lang.NamedSource{{Name: "main.hcl", Src: []byte(repo)}})
	m, more := compiler.Check(cfg, compiler.Options{})
	if diags = append(diags, more...); diags.HasErrors() {
		t.Fatal(diags)
	}
	p, err := compiler.Lower(m.Flows["main"])
	if err != nil {
		t.Fatal(err)
	}
	return m, p
}

// The lists the checker accepts in flow tests are the ones sim runs.
func TestListsAgree(t *testing.T) {
	if !slices.Equal(compiler.TestBehaviours, sim.Behaviours) {
		t.Errorf("compiler.TestBehaviours %v != sim.Behaviours %v", compiler.TestBehaviours, sim.Behaviours)
	}
	if !slices.Equal(compiler.TestVoicemail, sim.VoicemailActions) {
		t.Errorf("compiler.TestVoicemail %v != sim.VoicemailActions %v", compiler.TestVoicemail, sim.VoicemailActions)
	}
}

func TestGroups(t *testing.T) {
	m, p := compile(t)
	tests := []struct {
		digits     string
		agents     map[string][]string
		result     string
		answeredBy string
	}{
		{"1", nil, "answered", "ann"},
		{"1", map[string][]string{"ann": {"busy"}, "bea": {"no-answer"}}, "answered", "cy"},
		{"1", map[string][]string{"ann": {"busy"}, "bea": {"busy"}, "cy": {"unavailable"}}, "all-busy", ""},
		{"1", map[string][]string{"ann": {"unavailable"}, "bea": {"unavailable"}, "cy": {"unavailable"}}, "unavailable", ""},
		{"1", map[string][]string{"ann": {"busy"}, "bea": {"no-answer"}, "cy": {"unavailable"}}, "timeout", ""},
		{"2", map[string][]string{"ann": {"unavailable"}, "bea": {"answers"}}, "answered", "bea"},
		{"2", map[string][]string{"ann": {"no-answer"}, "bea": {"busy"}, "cy": {"no-answer"}}, "timeout", ""},
	}
	for _, tt := range tests {
		tr, err := sim.Run(p, m, sim.World{Digits: tt.digits, Agents: tt.agents})
		if err != nil {
			t.Fatal(err)
		}
		ring := tr.Steps[2]
		if ring.Effect != "ring-group" || ring.Result != tt.result || tr.AnsweredBy != tt.answeredBy {
			t.Errorf("digits %s agents %v: %s → %s answered by %q; want ring-group → %s by %q",
				tt.digits, tt.agents, ring.Effect, ring.Result, tr.AnsweredBy, tt.result, tt.answeredBy)
		}
	}
}

func TestQueue(t *testing.T) {
	m, p := compile(t)
	tests := []struct {
		agents    []string
		queueFull bool
		results   string // of ring, queue, ring…
		ending    string
	}{
		{[]string{"answers"}, false, "answered", "connected"},
		{[]string{"busy"}, false, "busy timeout", "message"},
		{[]string{"busy"}, true, "busy full", "message"},
		{[]string{"busy", "answers"}, false, "busy available answered", "connected"},
		{[]string{"busy", "free", "busy"}, false, "busy available busy", "message"},
		{[]string{"busy", "free", "no-answer"}, false, "busy available timeout", "flow-end"},
		{[]string{"busy", "free"}, false, "busy available answered", "connected"},
	}
	for _, tt := range tests {
		tr, err := sim.Run(p, m, sim.World{Digits: "3", Agents: map[string][]string{"ann": tt.agents}, QueueFull: tt.queueFull})
		if err != nil {
			t.Fatal(err)
		}
		var results []string
		for _, s := range tr.Steps {
			if s.State == "transfer_user.ann" && s.Result != "" {
				results = append(results, s.Result)
			}
		}
		if got := strings.Join(results, " "); got != tt.results || tr.Ending != tt.ending {
			t.Errorf("ann %v full %v: %s, ending %s; want %s, ending %s", tt.agents, tt.queueFull, got, tr.Ending, tt.results, tt.ending)
		}
	}
}

func TestValidate(t *testing.T) {
	bad := []sim.World{
		{Digits: "1#"},
		{Agents: map[string][]string{"ann": {}}},
		{Agents: map[string][]string{"ann": {"asleep"}}},
		{Voicemail: "shout"},
	}
	for _, w := range bad {
		if err := w.Validate(); err == nil {
			t.Errorf("%+v: no error", w)
		}
	}
	m, p := compile(t)
	if _, err := sim.Run(p, m, bad[0]); err == nil {
		t.Error("Run accepted an invalid script")
	}
}

func TestCompare(t *testing.T) {
	tr := &sim.Trace{Path: []string{"ivr.menu", "transfer_user.ann"}, Ending: "connected", ConnectedTo: "group.team", AnsweredBy: "ann"}
	if ms := tr.Compare(sim.Expect{PathSet: true, Path: tr.Path, Ending: "connected", ConnectedTo: "user.ann"}); len(ms) != 0 {
		t.Errorf("a matching trace has mismatches: %v", ms)
	}
	if ms := tr.Compare(sim.Expect{Ending: "connected", ConnectedTo: "group.team"}); len(ms) != 0 {
		t.Errorf("connected_to may name the group: %v", ms)
	}
	ms := tr.Compare(sim.Expect{PathSet: true, Path: []string{"ivr.menu"}, Ending: "message", ConnectedTo: "user.bea"})
	var fields []string
	for _, m := range ms {
		fields = append(fields, m.Field)
	}
	if strings.Join(fields, ",") != "path,ending,connected_to" {
		t.Errorf("mismatches %v, want path, ending and connected_to", ms)
	}
}
