package vm_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/callflow/callflow/vm"
)

// effectCase is one effect instruction, the Effect Step must return for
// it, and the results it accepts.
type effectCase struct {
	name string
	emit func(a *vm.Asm)
	// want builds the expected effect, with Kind, State and PC left for
	// the test to fill in.
	want func(p *vm.Program) vm.Effect
	kind vm.EffectKind
}

// constOf returns the pool entry of the given kind and text.
func constOf(t *testing.T, p *vm.Program, kind vm.ConstKind, text string) *vm.Const {
	t.Helper()
	for i := range p.Consts {
		if p.Consts[i].Kind == kind && p.Consts[i].Text == text {
			return &p.Consts[i]
		}
	}
	t.Fatalf("no %s constant %q", kind, text)
	return nil
}

func effectCases(t *testing.T) []effectCase {
	say := vm.Const{Kind: vm.ConstSay, Text: "Press 1 for sales."}
	play := vm.Const{Kind: vm.ConstPlay, Text: "https://example.com/menu.wav"}
	user := vm.Const{Kind: vm.ConstUser, Text: "alice"}
	group := vm.Const{Kind: vm.ConstGroup, Text: "billing"}
	queue := vm.Const{Kind: vm.ConstQueue, Text: "audio/hold.wav", MaxWaiting: 4, Repeat: 2, Announcement: vm.NoPrompt}
	c := func(p *vm.Program, k vm.Const) *vm.Const { return constOf(t, p, k.Kind, k.Text) }
	return []effectCase{
		{"answer", func(a *vm.Asm) { a.Emit(vm.ANSWER) },
			func(p *vm.Program) vm.Effect { return vm.Effect{} }, vm.EffectAnswer},
		{"play say", func(a *vm.Asm) { a.Emit(vm.PLAY, a.Const(say)) },
			func(p *vm.Program) vm.Effect { return vm.Effect{Prompt: c(p, say)} }, vm.EffectPlay},
		{"play file", func(a *vm.Asm) { a.Emit(vm.PLAY, a.Const(play)) },
			func(p *vm.Program) vm.Effect { return vm.Effect{Prompt: c(p, play)} }, vm.EffectPlay},
		{"gather", func(a *vm.Asm) { a.Emit(vm.GATHER, a.Const(say), 7) },
			func(p *vm.Program) vm.Effect { return vm.Effect{Prompt: c(p, say), Timeout: 7} }, vm.EffectGather},
		{"ring user", func(a *vm.Asm) { a.Emit(vm.RING_USER, a.Const(user), 25, 0) },
			func(p *vm.Program) vm.Effect { return vm.Effect{Target: c(p, user), Timeout: 25} }, vm.EffectRingUser},
		{"ring user recorded", func(a *vm.Asm) { a.Emit(vm.RING_USER, a.Const(user), vm.MaxSeconds, vm.FlagRecord) },
			func(p *vm.Program) vm.Effect {
				return vm.Effect{Target: c(p, user), Timeout: vm.MaxSeconds, Record: true}
			}, vm.EffectRingUser},
		{"queue", func(a *vm.Asm) { a.Emit(vm.QUEUE, a.Const(queue)) },
			func(p *vm.Program) vm.Effect { return vm.Effect{Target: c(p, queue)} }, vm.EffectQueue},
		{"ring group parallel", func(a *vm.Asm) { a.Emit(vm.RING_GROUP, a.Const(group), uint32(vm.Parallel), 15, 0) },
			func(p *vm.Program) vm.Effect {
				return vm.Effect{Target: c(p, group), Strategy: vm.Parallel, Timeout: 15}
			}, vm.EffectRingGroup},
		{"ring group sequential recorded", func(a *vm.Asm) { a.Emit(vm.RING_GROUP, a.Const(group), uint32(vm.Sequential), 1, vm.FlagRecord) },
			func(p *vm.Program) vm.Effect {
				return vm.Effect{Target: c(p, group), Strategy: vm.Sequential, Timeout: 1, Record: true}
			}, vm.EffectRingGroup},
		{"record", func(a *vm.Asm) { a.Emit(vm.RECORD, a.Const(play), 120, 150) },
			func(p *vm.Program) vm.Effect { return vm.Effect{Prompt: c(p, play), MaxLength: 120, Timeout: 150} }, vm.EffectRecord},
		{"record without prompt", func(a *vm.Asm) { a.Emit(vm.RECORD, vm.NoPrompt, 30, 40) },
			func(p *vm.Program) vm.Effect { return vm.Effect{MaxLength: 30, Timeout: 40} }, vm.EffectRecord},
	}
}

// branchProgram answers the call in state "answer.start" (unless the
// effect under test is the answer itself), then runs the effect in state
// "effect.under_test", then branches on each result r it accepts to a
// state "branch.<r>" that plays the result's name and hangs up. It
// returns the program and the pc of the effect.
func branchProgram(t *testing.T, c effectCase) (*vm.Program, uint32) {
	t.Helper()
	a := vm.NewAsm("branches")
	a.Const(vm.Const{Kind: vm.ConstSay, Text: "unused"}) // so that no index is 0 by luck
	if c.kind != vm.EffectAnswer {
		a.State("answer.start", vm.Range{Filename: "b.hcl", StartLine: 1, EndLine: 1})
		a.Emit(vm.ANSWER)
	}
	a.State("effect.under_test", vm.Range{Filename: "b.hcl", StartLine: 2, EndLine: 2})
	c.emit(a)
	labels := map[vm.Result]vm.Label{}
	for _, r := range accepted[c.kind] {
		labels[r] = a.NewLabel()
		a.EmitJump(vm.IF_RESULT, labels[r], uint32(r))
	}
	a.Emit(vm.HANGUP, uint32(vm.ReasonNoMessage)) // no accepted result gets here
	for _, r := range accepted[c.kind] {
		a.State("branch."+r.String(), vm.Range{Filename: "b.hcl", StartLine: 3, EndLine: 3})
		a.Bind(labels[r])
		a.Emit(vm.PLAY, a.Const(vm.Const{Kind: vm.ConstSay, Text: r.String()}))
		a.Emit(vm.HANGUP, uint32(vm.ReasonFlowEnd))
	}
	p, err := a.Program()
	if err != nil {
		t.Fatal(err)
	}
	var pc uint32
	if c.kind != vm.EffectAnswer {
		pc = 1
	}
	return p, pc
}

// stepTo starts a machine on p and answers until the effect at pc.
func stepTo(t *testing.T, p *vm.Program, hooks []vm.Hook, pc uint32) (*vm.Machine, vm.Effect) {
	t.Helper()
	m := new(vm.Machine)
	if err := m.Init(p, hooks); err != nil {
		t.Fatal(err)
	}
	for {
		e, err := m.Step()
		if err != nil {
			t.Fatal(err)
		}
		if e.PC == pc {
			return m, e
		}
		if e.Kind != vm.EffectAnswer {
			t.Fatalf("got %s at pc %d before pc %d", e.Kind, e.PC, pc)
		}
		if err := m.Resume(vm.ResultDone, 0); err != nil {
			t.Fatal(err)
		}
	}
}

func mustStep(t *testing.T, m *vm.Machine) vm.Effect {
	t.Helper()
	e, err := m.Step()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func mustResume(t *testing.T, m *vm.Machine, r vm.Result, digit uint8) {
	t.Helper()
	if err := m.Resume(r, digit); err != nil {
		t.Fatalf("Resume(%s, %d): %v", r, digit, err)
	}
}

// TestEffects checks the fields of every effect kind, and that every
// result it accepts takes its branch.
func TestEffects(t *testing.T) {
	for _, c := range effectCases(t) {
		t.Run(c.name, func(t *testing.T) {
			p, pc := branchProgram(t, c)
			want := c.want(p)
			want.Kind, want.State, want.PC = c.kind, p.StateAt(int(pc)), pc
			if p.States[want.State].Ref != "effect.under_test" {
				t.Fatalf("state %d is %s", want.State, p.States[want.State].Ref)
			}
			for _, r := range accepted[c.kind] {
				t.Run(r.String(), func(t *testing.T) {
					m, e := stepTo(t, p, nil, pc)
					if e != want {
						t.Errorf("Step:\n got %+v\nwant %+v", e, want)
					}
					if m.State() != want.State {
						t.Errorf("State() = %d while awaiting, want %d", m.State(), want.State)
					}
					var digit uint8
					if r == vm.ResultDigit {
						digit = 4
					}
					mustResume(t, m, r, digit)
					if got, d := m.LastResult(); got != r || d != digit {
						t.Errorf("LastResult() = %s, %d; want %s, %d", got, d, r, digit)
					}
					e = mustStep(t, m)
					if e.Kind != vm.EffectPlay || e.Prompt == nil || e.Prompt.Text != r.String() {
						t.Fatalf("after %s: got %+v, want a play of %q", r, e, r)
					}
					if ref := p.States[e.State].Ref; ref != "branch."+r.String() {
						t.Errorf("after %s: in state %s", r, ref)
					}
					mustResume(t, m, vm.ResultDone, 0)
					e = mustStep(t, m)
					if e.Kind != vm.EffectHangup || e.Reason != vm.ReasonFlowEnd {
						t.Errorf("got %+v, want the flow-end hang-up", e)
					}
					if !m.Ended() || m.Steps() > p.LongestPath() {
						t.Errorf("Ended() = %v, %d steps, longest path %d", m.Ended(), m.Steps(), p.LongestPath())
					}
				})
			}
		})
	}
}

// TestHungUpEndsEveryEffect resumes every effect with ResultHungUp.
func TestHungUpEndsEveryEffect(t *testing.T) {
	for _, c := range effectCases(t) {
		t.Run(c.name, func(t *testing.T) {
			p, pc := branchProgram(t, c)
			m, e := stepTo(t, p, nil, pc)
			mustResume(t, m, vm.ResultHungUp, 3)
			if m.Ended() {
				t.Error("Ended() before the final hang-up was returned")
			}
			if r, d := m.LastResult(); r != vm.ResultHungUp || d != 0 {
				t.Errorf("LastResult() = %s, %d; want hung-up, 0", r, d)
			}
			if err := m.Resume(vm.ResultDone, 0); !errors.Is(err, vm.ErrEnded) {
				t.Errorf("Resume after hung-up: got %v, want ErrEnded", err)
			}
			steps := m.Steps()
			got := mustStep(t, m)
			want := vm.Effect{Kind: vm.EffectHangup, Reason: vm.ReasonCallerHungUp, State: e.State, PC: e.PC}
			if got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
			if m.Steps() != steps {
				t.Errorf("the final hang-up executed %d instructions", m.Steps()-steps)
			}
			if !m.Ended() || m.Err() != nil {
				t.Errorf("Ended() = %v, Err() = %v", m.Ended(), m.Err())
			}
			if _, err := m.Step(); !errors.Is(err, vm.ErrEnded) {
				t.Errorf("Step after the end: got %v, want ErrEnded", err)
			}
			if err := m.Resume(vm.ResultHungUp, 0); !errors.Is(err, vm.ErrEnded) {
				t.Errorf("Resume after the end: got %v, want ErrEnded", err)
			}
		})
	}
}

// TestResumeRefusesImpossibleResults tries every result on every effect.
func TestResumeRefusesImpossibleResults(t *testing.T) {
	for _, c := range effectCases(t) {
		t.Run(c.name, func(t *testing.T) {
			p, pc := branchProgram(t, c)
			ok := map[vm.Result]bool{vm.ResultHungUp: true}
			for _, r := range accepted[c.kind] {
				ok[r] = true
			}
			for _, r := range allResults() {
				m, _ := stepTo(t, p, nil, pc)
				before := *m
				err := m.Resume(r, 1)
				if ok[r] {
					if err != nil {
						t.Errorf("Resume(%s): %v", r, err)
					}
					continue
				}
				if !errors.Is(err, vm.ErrResult) {
					t.Errorf("Resume(%s): got %v, want ErrResult", r, err)
				}
				if !reflect.DeepEqual(before, *m) {
					t.Errorf("Resume(%s) failed but changed the machine", r)
				}
				if _, err := m.Step(); !errors.Is(err, vm.ErrAwaitingResult) {
					t.Errorf("Step after a refused result: got %v, want ErrAwaitingResult", err)
				}
				// The machine still takes a good result.
				mustResume(t, m, accepted[c.kind][0], 0)
			}
		})
	}
}

func TestGatherDigits(t *testing.T) {
	a := vm.NewAsm("keys")
	a.State("ivr.main", vm.Range{})
	a.Emit(vm.GATHER, a.Const(vm.Const{Kind: vm.ConstSay, Text: "Press a key."}), 5)
	// A time-out must not look like the key 0.
	zero := a.NewLabel()
	a.EmitJump(vm.IF_DIGIT, zero, 0)
	timeout := a.NewLabel()
	a.EmitJump(vm.IF_RESULT, timeout, uint32(vm.ResultTimeout))
	keys := make([]vm.Label, vm.DigitStar+1)
	for d := 1; d <= vm.DigitStar; d++ {
		keys[d] = a.NewLabel()
		a.EmitJump(vm.IF_DIGIT, keys[d], uint32(d))
	}
	a.Emit(vm.HANGUP, uint32(vm.ReasonNoMessage))
	keys[0] = zero
	for d := 0; d <= vm.DigitStar; d++ {
		a.State(fmt.Sprintf("key.%d", d), vm.Range{})
		a.Bind(keys[d])
		a.Emit(vm.PLAY, a.Const(vm.Const{Kind: vm.ConstSay, Text: fmt.Sprint(d)}))
		a.Emit(vm.HANGUP, uint32(vm.ReasonFlowEnd))
	}
	a.State("timeout", vm.Range{})
	a.Bind(timeout)
	a.Emit(vm.HANGUP, uint32(vm.ReasonConnected))
	p, err := a.Program()
	if err != nil {
		t.Fatal(err)
	}

	for d := uint8(0); d <= vm.DigitStar; d++ {
		var m vm.Machine
		if err := m.Init(p, nil); err != nil {
			t.Fatal(err)
		}
		mustStep(t, &m)
		mustResume(t, &m, vm.ResultDigit, d)
		if e := mustStep(t, &m); e.Kind != vm.EffectPlay || e.Prompt.Text != fmt.Sprint(d) {
			t.Errorf("key %d: got %+v, want a play of %d", d, e, d)
		}
	}

	var m vm.Machine
	if err := m.Init(p, nil); err != nil {
		t.Fatal(err)
	}
	mustStep(t, &m)
	for _, d := range []uint8{vm.DigitStar + 1, 12, 255} {
		before := m
		if err := m.Resume(vm.ResultDigit, d); !errors.Is(err, vm.ErrDigit) {
			t.Errorf("Resume(digit, %d): got %v, want ErrDigit", d, err)
		}
		if !reflect.DeepEqual(before, m) {
			t.Errorf("Resume(digit, %d) failed but changed the machine", d)
		}
	}
	// The digit is ignored for every other result.
	mustResume(t, &m, vm.ResultTimeout, 200)
	if r, d := m.LastResult(); r != vm.ResultTimeout || d != 0 {
		t.Errorf("LastResult() = %s, %d; want timeout, 0", r, d)
	}
	if e := mustStep(t, &m); e.Kind != vm.EffectHangup || e.Reason != vm.ReasonConnected {
		t.Errorf("time-out: got %+v, want the connected hang-up", e)
	}
}

// TestHangupReasons runs HANGUP with every reason code may hold.
func TestHangupReasons(t *testing.T) {
	for reason := vm.ReasonFlowEnd; reason <= vm.ReasonNoMessage; reason++ {
		p := rawProgram(cat(ins(vm.ANSWER), ins(vm.HANGUP, uint64(reason))))
		p.States = append(p.States, vm.StateInfo{Ref: "end", PC: 1})
		if err := p.Verify(); err != nil {
			t.Fatal(err)
		}
		var m vm.Machine
		if err := m.Init(p, nil); err != nil {
			t.Fatal(err)
		}
		mustStep(t, &m)
		mustResume(t, &m, vm.ResultDone, 0)
		e := mustStep(t, &m)
		want := vm.Effect{Kind: vm.EffectHangup, Reason: reason, State: 1, PC: 1}
		if e != want {
			t.Errorf("got %+v, want %+v", e, want)
		}
		if !m.Ended() || m.State() != 1 || m.Steps() != 2 {
			t.Errorf("Ended() = %v, State() = %d, Steps() = %d", m.Ended(), m.State(), m.Steps())
		}
		if _, err := m.Step(); !errors.Is(err, vm.ErrEnded) {
			t.Errorf("Step after the end: got %v, want ErrEnded", err)
		}
		if err := m.Resume(vm.ResultDone, 0); !errors.Is(err, vm.ErrEnded) {
			t.Errorf("Resume after the end: got %v, want ErrEnded", err)
		}
	}
}

func TestMachineMisuse(t *testing.T) {
	p := rawProgram(cat(ins(vm.ANSWER), ins(vm.PLAY, cSay), hangup))
	var m vm.Machine
	if err := m.Init(p, nil); !errors.Is(err, vm.ErrNotVerified) {
		t.Errorf("Init with an unverified program: got %v, want ErrNotVerified", err)
	}
	if err := m.Init(nil, nil); !errors.Is(err, vm.ErrNotVerified) {
		t.Errorf("Init with no program: got %v, want ErrNotVerified", err)
	}
	if err := p.Verify(); err != nil {
		t.Fatal(err)
	}
	if err := m.Init(p, nil); err != nil {
		t.Fatal(err)
	}
	if m.Program() != p {
		t.Error("Program() is not the program given to Init")
	}
	if err := m.Resume(vm.ResultDone, 0); !errors.Is(err, vm.ErrNotAwaiting) {
		t.Errorf("Resume before Step: got %v, want ErrNotAwaiting", err)
	}
	mustStep(t, &m)
	before := m
	if _, err := m.Step(); !errors.Is(err, vm.ErrAwaitingResult) {
		t.Errorf("Step while awaiting: got %v, want ErrAwaitingResult", err)
	}
	if !reflect.DeepEqual(before, m) {
		t.Error("a refused Step changed the machine")
	}
	mustResume(t, &m, vm.ResultDone, 0)
	if err := m.Resume(vm.ResultDone, 0); !errors.Is(err, vm.ErrNotAwaiting) {
		t.Errorf("Resume twice: got %v, want ErrNotAwaiting", err)
	}
	mustStep(t, &m)
	mustResume(t, &m, vm.ResultDone, 0)
	if e := mustStep(t, &m); e.Kind != vm.EffectHangup {
		t.Fatalf("got %+v, want the hang-up", e)
	}
	if _, err := m.Step(); !errors.Is(err, vm.ErrEnded) {
		t.Errorf("Step after the end: got %v, want ErrEnded", err)
	}
	if err := m.Resume(vm.ResultDone, 0); !errors.Is(err, vm.ErrEnded) {
		t.Errorf("Resume after the end: got %v, want ErrEnded", err)
	}

	// Init starts over, whatever state the machine was in.
	if err := m.Init(p, nil); err != nil {
		t.Fatal(err)
	}
	if m.Ended() || m.Steps() != 0 || m.Err() != nil {
		t.Errorf("after Init: Ended() = %v, Steps() = %d, Err() = %v", m.Ended(), m.Steps(), m.Err())
	}
	if e := mustStep(t, &m); e.Kind != vm.EffectAnswer {
		t.Errorf("after Init: got %+v, want the answer", e)
	}
}

// TestEveryRunEnds drives the support flow down every path it has.
func TestEveryRunEnds(t *testing.T) {
	p, err := supportFlow()
	if err != nil {
		t.Fatal(err)
	}
	runs, most := explore(t, p, nil)
	if most != p.LongestPath() {
		t.Errorf("the longest run took %d steps; LongestPath is %d", most, p.LongestPath())
	}
	t.Logf("%d runs, longest %d steps", runs, most)
}

// recorder is a hook that writes what it sees to a shared log, and stops
// the call at the effect or result whose number (from 1) is stopAt.
type recorder struct {
	name         string
	log          *[]string
	stopEffectAt int
	stopResultAt int
	err          error
	effects      int
	results      int
}

func (h *recorder) OnEffect(m *vm.Machine, e *vm.Effect) error {
	h.effects++
	line := fmt.Sprintf("%s effect %s pc=%d state=%d", h.name, e.Kind, e.PC, e.State)
	if e.Kind == vm.EffectHangup {
		line += " " + e.Reason.String()
	}
	*h.log = append(*h.log, line)
	if h.effects == h.stopEffectAt {
		return h.err
	}
	return nil
}

func (h *recorder) OnResult(m *vm.Machine, e *vm.Effect, r vm.Result) error {
	h.results++
	*h.log = append(*h.log, fmt.Sprintf("%s result %s %s", h.name, e.Kind, r))
	if h.results == h.stopResultAt {
		return h.err
	}
	return nil
}

// hookProgram answers, plays, rings a user and hangs up.
func hookProgram(t *testing.T) *vm.Program {
	t.Helper()
	p := rawProgram(cat(ins(vm.ANSWER), ins(vm.PLAY, cSay), ins(vm.RING_USER, cUser, 30, 0), ins(vm.HANGUP, uint64(vm.ReasonConnected))))
	p.States = []vm.StateInfo{{Ref: "answer", PC: 0}, {Ref: "play", PC: 1}, {Ref: "ring", PC: 3}, {Ref: "end", PC: 7}}
	if err := p.Verify(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHooksSeeEverything(t *testing.T) {
	p := hookProgram(t)
	var log []string
	a, b := &recorder{name: "a", log: &log}, &recorder{name: "b", log: &log}
	var m vm.Machine
	if err := m.Init(p, []vm.Hook{a, b}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []vm.Result{vm.ResultDone, vm.ResultDone, vm.ResultAnswered} {
		mustStep(t, &m)
		mustResume(t, &m, r, 0)
	}
	if e := mustStep(t, &m); e.Kind != vm.EffectHangup || e.Reason != vm.ReasonConnected {
		t.Fatalf("got %+v", e)
	}
	want := []string{
		"a effect answer pc=0 state=0", "b effect answer pc=0 state=0",
		"a result answer done", "b result answer done",
		"a effect play pc=1 state=1", "b effect play pc=1 state=1",
		"a result play done", "b result play done",
		"a effect ring-user pc=3 state=2", "b effect ring-user pc=3 state=2",
		"a result ring-user answered", "b result ring-user answered",
		"a effect hangup pc=7 state=3 connected", "b effect hangup pc=7 state=3 connected",
	}
	checkLog(t, log, want)
	if m.Err() != nil {
		t.Errorf("Err() = %v", m.Err())
	}
}

func TestHooksSeeCallerHangUp(t *testing.T) {
	p := hookProgram(t)
	var log []string
	stop := errors.New("out of credit")
	// The hook's error on the hung-up result comes too late to stop
	// anything: the caller has gone.
	a := &recorder{name: "a", log: &log, stopResultAt: 2, err: stop}
	var m vm.Machine
	if err := m.Init(p, []vm.Hook{a}); err != nil {
		t.Fatal(err)
	}
	mustStep(t, &m)
	mustResume(t, &m, vm.ResultDone, 0)
	mustStep(t, &m)
	mustResume(t, &m, vm.ResultHungUp, 0)
	e := mustStep(t, &m)
	if want := (vm.Effect{Kind: vm.EffectHangup, Reason: vm.ReasonCallerHungUp, State: 1, PC: 1}); e != want {
		t.Errorf("got %+v, want %+v", e, want)
	}
	if m.Err() != nil {
		t.Errorf("Err() = %v, want nil: the caller hung up", m.Err())
	}
	checkLog(t, log, []string{
		"a effect answer pc=0 state=0", "a result answer done",
		"a effect play pc=1 state=1", "a result play hung-up",
		"a effect hangup pc=1 state=1 caller-hung-up",
	})
}

func TestHookStopsOnEffect(t *testing.T) {
	p := hookProgram(t)
	var log []string
	stop := errors.New("out of credit")
	later := errors.New("a later hook's error")
	a := &recorder{name: "a", log: &log}
	b := &recorder{name: "b", log: &log, stopEffectAt: 3, err: stop, stopResultAt: 99}
	c := &recorder{name: "c", log: &log, stopEffectAt: 3, err: later}
	var m vm.Machine
	if err := m.Init(p, []vm.Hook{a, b, c}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		mustStep(t, &m)
		mustResume(t, &m, vm.ResultDone, 0)
	}
	e := mustStep(t, &m)
	// The call stops at the ring, which the host never sees.
	if want := (vm.Effect{Kind: vm.EffectHangup, Reason: vm.ReasonStopped, State: 2, PC: 3}); e != want {
		t.Errorf("got %+v, want %+v", e, want)
	}
	if !errors.Is(m.Err(), stop) {
		t.Errorf("Err() = %v, want %v", m.Err(), stop)
	}
	if !m.Ended() {
		t.Error("not Ended() after the stopped hang-up")
	}
	if _, err := m.Step(); !errors.Is(err, vm.ErrEnded) {
		t.Errorf("Step after the stop: got %v, want ErrEnded", err)
	}
	if err := m.Resume(vm.ResultAnswered, 0); !errors.Is(err, vm.ErrEnded) {
		t.Errorf("Resume after the stop: got %v, want ErrEnded", err)
	}
	checkLog(t, log, []string{
		"a effect answer pc=0 state=0", "b effect answer pc=0 state=0", "c effect answer pc=0 state=0",
		"a result answer done", "b result answer done", "c result answer done",
		"a effect play pc=1 state=1", "b effect play pc=1 state=1", "c effect play pc=1 state=1",
		"a result play done", "b result play done", "c result play done",
		// b stops the ring: c never sees it, and every hook sees the
		// hang-up that replaces it. Errors from hooks on it are ignored.
		"a effect ring-user pc=3 state=2", "b effect ring-user pc=3 state=2",
		"a effect hangup pc=3 state=2 stopped", "b effect hangup pc=3 state=2 stopped", "c effect hangup pc=3 state=2 stopped",
	})
}

func TestHookStopsOnResult(t *testing.T) {
	p := hookProgram(t)
	var log []string
	stop := errors.New("out of credit")
	a := &recorder{name: "a", log: &log, stopResultAt: 2, err: stop}
	b := &recorder{name: "b", log: &log, stopResultAt: 2, err: errors.New("second")}
	var m vm.Machine
	if err := m.Init(p, []vm.Hook{a, b}); err != nil {
		t.Fatal(err)
	}
	mustStep(t, &m)
	mustResume(t, &m, vm.ResultDone, 0)
	mustStep(t, &m)
	steps := m.Steps()
	// Resume accepts the result; the hook's error stops the next Step.
	mustResume(t, &m, vm.ResultDone, 0)
	if m.Err() != stop {
		t.Errorf("Err() = %v, want the first hook's error %v", m.Err(), stop)
	}
	e := mustStep(t, &m)
	if want := (vm.Effect{Kind: vm.EffectHangup, Reason: vm.ReasonStopped, State: 1, PC: 1}); e != want {
		t.Errorf("got %+v, want %+v", e, want)
	}
	if m.Steps() != steps {
		t.Errorf("the stopped Step executed %d instructions", m.Steps()-steps)
	}
	if !m.Ended() {
		t.Error("not Ended() after the stopped hang-up")
	}
	if _, err := m.Step(); !errors.Is(err, vm.ErrEnded) {
		t.Errorf("Step after the stop: got %v, want ErrEnded", err)
	}
	checkLog(t, log, []string{
		"a effect answer pc=0 state=0", "b effect answer pc=0 state=0",
		"a result answer done", "b result answer done",
		"a effect play pc=1 state=1", "b effect play pc=1 state=1",
		"a result play done", "b result play done",
		"a effect hangup pc=1 state=1 stopped", "b effect hangup pc=1 state=1 stopped",
	})
}

// TestHookCannotStopTheHangup checks that an error from a hook on the
// flow's own hang-up changes nothing.
func TestHookCannotStopTheHangup(t *testing.T) {
	p := rawProgram(hangup)
	if err := p.Verify(); err != nil {
		t.Fatal(err)
	}
	var log []string
	h := &recorder{name: "h", log: &log, stopEffectAt: 1, err: errors.New("no")}
	var m vm.Machine
	if err := m.Init(p, []vm.Hook{h}); err != nil {
		t.Fatal(err)
	}
	if e := mustStep(t, &m); e.Kind != vm.EffectHangup || e.Reason != vm.ReasonFlowEnd {
		t.Errorf("got %+v, want the flow-end hang-up", e)
	}
	if m.Err() != nil || !m.Ended() {
		t.Errorf("Err() = %v, Ended() = %v", m.Err(), m.Ended())
	}
	checkLog(t, log, []string{"h effect hangup pc=0 state=0 flow-end"})
}

// TestHooksOverEveryRun drives every path of the support flow with a
// recording hook, and checks that the hook sees each effect Step returns
// and each result Resume accepts, in order.
func TestHooksOverEveryRun(t *testing.T) {
	p, err := supportFlow()
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	h := &recorder{name: "h", log: &log}
	var m vm.Machine
	if err := m.Init(p, []vm.Hook{h}); err != nil {
		t.Fatal(err)
	}
	var want []string
	// One run: press 1, the user is busy, the queue frees up, the retry
	// times out, the group is all busy, the overflow is unavailable, the
	// voicemail times out twice.
	for _, r := range []struct {
		r vm.Result
		d uint8
	}{
		{vm.ResultDone, 0}, {vm.ResultDone, 0}, {vm.ResultDigit, 1}, {vm.ResultBusy, 0}, {vm.ResultAvailable, 0},
		{vm.ResultTimeout, 0}, {vm.ResultAllBusy, 0}, {vm.ResultUnavailable, 0}, {vm.ResultTimeout, 0}, {vm.ResultTimeout, 0},
	} {
		e := mustStep(t, &m)
		want = append(want, fmt.Sprintf("h effect %s pc=%d state=%d", e.Kind, e.PC, e.State))
		mustResume(t, &m, r.r, r.d)
		want = append(want, fmt.Sprintf("h result %s %s", e.Kind, r.r))
	}
	e := mustStep(t, &m)
	if e.Kind != vm.EffectHangup || e.Reason != vm.ReasonNoMessage {
		t.Fatalf("got %+v, want the no-message hang-up", e)
	}
	want = append(want, fmt.Sprintf("h effect hangup pc=%d state=%d no-message", e.PC, e.State))
	checkLog(t, log, want)
	if m.Steps() != p.LongestPath() {
		t.Errorf("this run is the longest path, %d steps, but took %d", p.LongestPath(), m.Steps())
	}
}

func checkLog(t *testing.T, got, want []string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("hooks saw:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}
