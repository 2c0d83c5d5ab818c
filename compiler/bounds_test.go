package compiler

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/callflow/callflow/lang"
	"github.com/callflow/callflow/sim"
	"github.com/callflow/callflow/vm"
)

// TestBoundsExact checks the worst-case time of each acme flow against
// simulated calls: for every script in a large family (each key or none,
// every behaviour of every agent over two rings with a queue wait between,
// every voicemail action, full queues or not), the time of the call under
// the timing model, added up effect by effect on the VM's trace, never
// exceeds the bound, and some script reaches it exactly.
func TestBoundsExact(t *testing.T) {
	const root = "../examples/acme"
	m, _, diags := CheckDir(root)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for name, f := range m.Flows {
		t.Run(name, func(t *testing.T) {
			p, err := Lower(f)
			if err != nil {
				t.Fatal(err)
			}
			bound := ComputeBounds(m, f).WorstCase
			users := flowUsers(m, f)
			var longest time.Duration
			calls := 0
			forEachWorld(users, func(w sim.World) {
				tm := &timer{m: m, p: p, root: root}
				tr, err := sim.Run(p, m, w, tm)
				if err != nil {
					t.Fatal(err)
				}
				calls++
				if tm.total > bound {
					t.Fatalf("a call took %s, more than the bound %s: %+v, path %v", tm.total, bound, w, tr.Path)
				}
				longest = max(longest, tm.total)
			})
			if longest != bound {
				t.Errorf("the longest of %d simulated calls took %s; the bound is %s", calls, longest, bound)
			}
		})
	}
}

// flowUsers lists the users a flow can ring, each with whether a
// transfer_user state rings them (and so may queue for them).
func flowUsers(m *Model, f *Flow) map[string]bool {
	users := map[string]bool{}
	for _, s := range f.Order {
		switch s.Kind {
		case lang.TransferUser:
			users[s.TransferUser.User.Name] = true
		case lang.TransferGroup:
			for _, u := range m.Members(s.TransferGroup.Group.Name) {
				if _, ok := users[u]; !ok {
					users[u] = false
				}
			}
		}
	}
	return users
}

// forEachWorld calls fn with every combination of: no key or one key;
// for each user, one behaviour, or (for users a queue may wait for) busy,
// free, then a behaviour; each voicemail action; full queues or not.
func forEachWorld(queued map[string]bool, fn func(sim.World)) {
	digits := []string{"", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*"}
	users := make([]string, 0, len(queued))
	for u := range queued {
		users = append(users, u)
	}
	scriptsFor := func(user string) [][]string {
		var scripts [][]string
		for _, b := range []string{"answers", "busy", "unavailable", "no-answer"} {
			scripts = append(scripts, []string{b})
			if queued[user] {
				scripts = append(scripts, []string{"busy", "free", b})
			}
		}
		return scripts
	}
	var agents func(i int, acc map[string][]string)
	agents = func(i int, acc map[string][]string) {
		if i == len(users) {
			for _, d := range digits {
				for _, v := range sim.VoicemailActions {
					for _, full := range []bool{false, true} {
						fn(sim.World{Digits: d, Agents: acc, Voicemail: v, QueueFull: full})
					}
				}
			}
			return
		}
		for _, s := range scriptsFor(users[i]) {
			acc[users[i]] = s
			agents(i+1, acc)
		}
		delete(acc, users[i])
	}
	agents(0, map[string][]string{})
}

// timer is a hook that adds up the model's time of each effect from its
// result, independently of ComputeBounds. An answer ends the count by
// itself: the flow hangs up after it.
type timer struct {
	m     *Model
	p     *vm.Program
	root  string // programs name files relative to it
	total time.Duration
}

func (tm *timer) OnEffect(*vm.Machine, *vm.Effect) error { return nil }

func (tm *timer) OnResult(_ *vm.Machine, e *vm.Effect, r vm.Result) error {
	if r == vm.ResultHungUp {
		return nil
	}
	sec := func(s uint32) time.Duration { return time.Duration(s) * time.Second }
	var d time.Duration
	switch e.Kind {
	case vm.EffectPlay:
		d = tm.length(e, e.Prompt)
	case vm.EffectGather:
		d = tm.length(e, e.Prompt) + sec(e.Timeout)
	case vm.EffectRingUser:
		d = sec(e.Timeout)
	case vm.EffectQueue:
		if r != vm.ResultFull {
			q := e.Target
			if q.Announcement != vm.NoPrompt {
				d = tm.length(e, &tm.p.Consts[q.Announcement])
			}
			if q.Text != "" {
				d += tm.length(e, &vm.Const{Kind: vm.ConstPlay, Text: q.Text}) * time.Duration(q.Repeat)
			}
		}
	case vm.EffectRingGroup:
		d = sec(e.Timeout)
		if e.Strategy == vm.Sequential {
			d *= time.Duration(len(tm.m.Members(e.Target.Text)))
		}
	case vm.EffectRecord:
		if r == vm.ResultTimeout {
			d = sec(e.Timeout)
		}
	}
	tm.total += d
	return nil
}

// length is a prompt's length under the model: a WAV file's, or zero.
func (tm *timer) length(e *vm.Effect, c *vm.Const) time.Duration {
	if c == nil || c.Kind != vm.ConstPlay {
		return 0
	}
	file := filepath.Join(tm.root, tm.p.States[e.State].Range.Filename)
	d, _ := wavLength(lang.String{Value: c.Text, Range: hcl.Range{Filename: file}})
	return d
}
