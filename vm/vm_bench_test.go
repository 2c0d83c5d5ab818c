package vm_test

import (
	"errors"
	"testing"
	"unsafe"

	"github.com/callflow/callflow/vm"
)

// maxMachineBytes is the most one call's machine may take, besides the
// program that every call of the flow shares.
const maxMachineBytes = 256

// answer is one result a scripted host resumes with.
type answer struct {
	r     vm.Result
	digit uint8
}

// longestRun takes the support flow down its longest path: press 1, the
// user is busy, the queue frees up, the retry times out, the group is all
// busy, the overflow is unavailable, and the voicemail times out twice.
var longestRun = []answer{
	{vm.ResultDone, 0}, {vm.ResultDone, 0}, {vm.ResultDigit, 1}, {vm.ResultBusy, 0}, {vm.ResultAvailable, 0},
	{vm.ResultTimeout, 0}, {vm.ResultAllBusy, 0}, {vm.ResultUnavailable, 0}, {vm.ResultTimeout, 0}, {vm.ResultTimeout, 0},
}

// nopHook observes and does nothing, as cheaply as a hook can.
type nopHook struct{}

func (nopHook) OnEffect(*vm.Machine, *vm.Effect) error            { return nil }
func (nopHook) OnResult(*vm.Machine, *vm.Effect, vm.Result) error { return nil }

// meter counts effects and results through a pointer, as a billing meter
// would, and stops the call with a sentinel error after its budget.
type meter struct {
	effects, results int
	budget           int // effects allowed; 0 for no limit
}

var errNoCredit = errors.New("out of credit")

func (h *meter) OnEffect(_ *vm.Machine, e *vm.Effect) error {
	h.effects++
	if h.budget > 0 && h.effects > h.budget {
		return errNoCredit
	}
	return nil
}

func (h *meter) OnResult(*vm.Machine, *vm.Effect, vm.Result) error {
	h.results++
	return nil
}

// runCall drives m to its end with the script, and returns the final
// effect. It allocates nothing of its own.
func runCall(tb testing.TB, m *vm.Machine, script []answer) vm.Effect {
	for i := 0; ; i++ {
		e, err := m.Step()
		if err != nil {
			tb.Fatal(err)
		}
		if e.Kind == vm.EffectHangup {
			return e
		}
		if i >= len(script) {
			tb.Fatalf("effect %d (%s) is past the end of the script", i, e.Kind)
		}
		if err := m.Resume(script[i].r, script[i].digit); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestMachineSize(t *testing.T) {
	if n := unsafe.Sizeof(vm.Machine{}); n > maxMachineBytes {
		t.Errorf("a Machine is %d bytes, more than %d", n, maxMachineBytes)
	}
}

// TestCallAllocs checks that a whole call on a machine that has been
// Init'ed before allocates nothing: not on the steady path, not when the
// caller hangs up, not when a hook stops the call with a sentinel error.
func TestCallAllocs(t *testing.T) {
	p, err := supportFlow()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		hooks  []vm.Hook
		script []answer
		want   vm.HangupReason
	}{
		{"no hooks", nil, longestRun, vm.ReasonNoMessage},
		{"no-op hook", []vm.Hook{nopHook{}}, longestRun, vm.ReasonNoMessage},
		{"meter", []vm.Hook{nopHook{}, &meter{}}, longestRun, vm.ReasonNoMessage},
		{"caller hangs up", []vm.Hook{nopHook{}}, append(longestRun[:4:4], answer{vm.ResultHungUp, 0}), vm.ReasonCallerHungUp},
		{"hook stops the call", []vm.Hook{&meter{budget: 5}}, longestRun, vm.ReasonStopped},
	} {
		t.Run(c.name, func(t *testing.T) {
			var m vm.Machine
			if err := m.Init(p, c.hooks); err != nil {
				t.Fatal(err)
			}
			var last vm.Effect
			allocs := testing.AllocsPerRun(100, func() {
				for _, h := range c.hooks {
					if mt, ok := h.(*meter); ok {
						mt.effects, mt.results = 0, 0
					}
				}
				if err := m.Init(p, c.hooks); err != nil {
					t.Fatal(err)
				}
				last = runCall(t, &m, c.script)
			})
			if allocs != 0 {
				t.Errorf("a call allocates %v times, want 0", allocs)
			}
			if last.Kind != vm.EffectHangup || last.Reason != c.want {
				t.Errorf("the call ended with %+v, want a %s hang-up", last, c.want)
			}
		})
	}
}

// BenchmarkStep measures one Step and the Resume that answers it, over
// the support flow's longest path, starting a new call (Init, which
// allocates nothing) whenever one ends.
func BenchmarkStep(b *testing.B) {
	p, err := supportFlow()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		hooks []vm.Hook
	}{
		{"hooks=0", nil},
		{"hooks=1", []vm.Hook{nopHook{}}},
		{"hooks=3", []vm.Hook{nopHook{}, &meter{}, &meter{}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var m vm.Machine
			if err := m.Init(p, c.hooks); err != nil {
				b.Fatal(err)
			}
			i, instructions := 0, 0
			b.ReportAllocs()
			for b.Loop() {
				e, err := m.Step()
				if err != nil {
					b.Fatal(err)
				}
				if e.Kind == vm.EffectHangup {
					instructions += m.Steps()
					if err := m.Init(p, c.hooks); err != nil {
						b.Fatal(err)
					}
					i = 0
					continue
				}
				if err := m.Resume(longestRun[i].r, longestRun[i].digit); err != nil {
					b.Fatal(err)
				}
				i++
			}
			instructions += m.Steps()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/step")
			b.ReportMetric(float64(instructions)/float64(b.N), "instructions/step")
		})
	}
}

// BenchmarkMachineSize reports the size of one call's machine, besides
// the shared program.
func BenchmarkMachineSize(b *testing.B) {
	var m vm.Machine
	for b.Loop() {
		_ = m.Steps()
	}
	b.ReportMetric(float64(unsafe.Sizeof(m)), "bytes/machine")
}
