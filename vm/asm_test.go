package vm_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/callflow/callflow/vm"
)

// TestAsmLongJumps checks that the assembler sizes jump operands right
// when targets move past one- and two-byte varints, including targets
// that move because an earlier jump grew.
func TestAsmLongJumps(t *testing.T) {
	for _, n := range []int{1, 63, 64, 100, 8191, 8192, 10000} {
		a := vm.NewAsm("long")
		say := a.Const(vm.Const{Kind: vm.ConstSay, Text: "x"})
		far, near := a.NewLabel(), a.NewLabel()
		a.State("start", vm.Range{})
		a.Emit(vm.GATHER, say, 5)
		a.EmitJump(vm.IF_DIGIT, far, 1)
		a.EmitJump(vm.IF_RESULT, near, uint32(vm.ResultTimeout))
		a.Emit(vm.HANGUP, uint32(vm.ReasonNoMessage))
		a.State("plays", vm.Range{})
		a.Bind(near)
		for range n {
			a.Emit(vm.PLAY, say)
		}
		a.State("end", vm.Range{})
		a.Bind(far)
		a.Emit(vm.HANGUP, uint32(vm.ReasonConnected))
		p, err := a.Program()
		if err != nil {
			t.Fatalf("%d plays: %v", n, err)
		}
		if got, want := p.LongestPath(), n+4; got != want {
			t.Errorf("%d plays: LongestPath = %d, want %d", n, got, want)
		}
		// Key 1 jumps over every play.
		var m vm.Machine
		if err := m.Init(p, nil); err != nil {
			t.Fatal(err)
		}
		mustStep(t, &m)
		mustResume(t, &m, vm.ResultDigit, 1)
		if e := mustStep(t, &m); e.Kind != vm.EffectHangup || e.Reason != vm.ReasonConnected || p.States[e.State].Ref != "end" {
			t.Errorf("%d plays: key 1 gave %+v, want the connected hang-up in state end", n, e)
		}
		// A time-out lands on the first play.
		if err := m.Init(p, nil); err != nil {
			t.Fatal(err)
		}
		mustStep(t, &m)
		mustResume(t, &m, vm.ResultTimeout, 0)
		if e := mustStep(t, &m); e.Kind != vm.EffectPlay || p.States[e.State].Ref != "plays" || e.PC != p.States[1].PC {
			t.Errorf("%d plays: time-out gave %+v, want the first play", n, e)
		}
	}
}

func TestAsmErrors(t *testing.T) {
	a := vm.NewAsm("unbound")
	l := a.NewLabel()
	a.State("s", vm.Range{})
	a.EmitJump(vm.JUMP, l)
	if _, err := a.Program(); err == nil || !strings.Contains(err.Error(), "vm: assemble unbound: label 0 never bound") {
		t.Errorf("unbound label: got %v", err)
	}

	// A label bound after the last instruction is a jump past the end,
	// which the verifier refuses; the error says which flow.
	a = vm.NewAsm("past")
	l = a.NewLabel()
	a.State("s", vm.Range{})
	a.EmitJump(vm.JUMP, l)
	a.Bind(l)
	_, err := a.Program()
	var ve *vm.VerifyError
	if !errors.As(err, &ve) || !strings.HasPrefix(err.Error(), "vm: assemble past: ") || !strings.Contains(ve.Msg, "past the end") {
		t.Errorf("label past the end: got %v", err)
	}

	a = vm.NewAsm("nostate")
	a.Emit(vm.HANGUP, 0)
	if _, err := a.Program(); !errors.As(err, &ve) || !strings.Contains(ve.Msg, "no state table") {
		t.Errorf("no state: got %v", err)
	}
}

func TestAsmConstDedupe(t *testing.T) {
	a := vm.NewAsm("consts")
	x := a.Const(vm.Const{Kind: vm.ConstSay, Text: "x"})
	y := a.Const(vm.Const{Kind: vm.ConstPlay, Text: "x"})
	q := a.Const(vm.Const{Kind: vm.ConstQueue, MaxWaiting: 1, Repeat: 1, Announcement: x})
	if x == y || q == x || q == y {
		t.Errorf("distinct constants share an index: %d %d %d", x, y, q)
	}
	if again := a.Const(vm.Const{Kind: vm.ConstPlay, Text: "x"}); again != y {
		t.Errorf("the same constant got index %d, then %d", y, again)
	}
	if again := a.Const(vm.Const{Kind: vm.ConstQueue, MaxWaiting: 1, Repeat: 1, Announcement: x}); again != q {
		t.Errorf("the same queue got index %d, then %d", q, again)
	}
}

// TestMachinesShareAProgram runs many calls of one program at once; the
// race detector checks that machines only read it.
func TestMachinesShareAProgram(t *testing.T) {
	p, err := supportFlow()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				var m vm.Machine
				if err := m.Init(p, []vm.Hook{nopHook{}}); err != nil {
					errs <- err
					return
				}
				for i := 0; ; i++ {
					e, err := m.Step()
					if err != nil {
						errs <- err
						return
					}
					if e.Kind == vm.EffectHangup {
						break
					}
					if err := m.Resume(longestRun[i].r, longestRun[i].digit); err != nil {
						errs <- err
						return
					}
				}
				if _, err := p.Disassemble(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
