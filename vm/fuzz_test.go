package vm_test

import (
	"errors"
	"hash/fnv"
	"reflect"
	"testing"

	"github.com/callflow/callflow/vm"
)

// FuzzDecode feeds arbitrary bytes to Decode, which must never panic.
// Mutated bytes almost never keep a valid checksum, so each input is also
// decoded with its last four bytes replaced by the right checksum; that
// lets the fuzzer reach the decoder and the verifier behind the check.
//
// Every program Decode returns must encode back to itself, disassemble,
// and run: a host that picks results pseudo-randomly from the input
// (only results the effect accepts) drives a machine, which must end with
// one hang-up within LongestPath instructions and never exhaust its
// budget. Effects must point at constants of the right kind.
func FuzzDecode(f *testing.F) {
	for _, p := range testPrograms(f) {
		// Large seeds slow every execution and the minimizer without
		// reaching more code.
		if data := p.Encode(); len(data) < 1<<10 {
			f.Add(data)
		}
	}
	for _, c := range verifyCases() {
		if len(c.p.Code) < 1<<10 {
			f.Add(c.p.Encode())
		}
	}
	f.Add([]byte{})
	f.Add([]byte("CFVM"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzOne(t, data, data)
		if len(data) >= 4 {
			fuzzOne(t, withCRC(data[:len(data)-4]), data)
		}
	})
}

func fuzzOne(t *testing.T, data, seed []byte) {
	p, err := vm.Decode(data)
	if err != nil {
		if p != nil {
			t.Fatalf("Decode returned a program with the error %v", err)
		}
		return
	}
	if p.LongestPath() < 1 {
		t.Fatalf("LongestPath = %d", p.LongestPath())
	}
	q, err := vm.Decode(p.Encode())
	if err != nil {
		t.Fatalf("a decoded program does not decode after Encode: %v", err)
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatalf("Decode(Encode(p)) differs from p")
	}
	if _, err := p.Disassemble(); err != nil {
		t.Fatalf("Disassemble: %v", err)
	}
	for _, budget := range []int{0, int(seed[0]%4) + 1} {
		runRandom(t, p, newRand(seed), budget)
	}
}

// runRandom drives p with results drawn from rng; a meter hook stops the
// call after budget effects when budget is positive.
func runRandom(t *testing.T, p *vm.Program, rng *xorshift, budget int) {
	h := &meter{budget: budget}
	var m vm.Machine
	if err := m.Init(p, []vm.Hook{h}); err != nil {
		t.Fatal(err)
	}
	// Results to try, in the order the host prefers them; the host
	// rotates the list by a random amount and takes the first that the
	// effect accepts. It hangs up one time in sixteen.
	candidates := []vm.Result{
		vm.ResultDone, vm.ResultDigit, vm.ResultTimeout, vm.ResultAnswered, vm.ResultBusy, vm.ResultUnavailable,
		vm.ResultAllBusy, vm.ResultAvailable, vm.ResultFull, vm.ResultSaved, vm.ResultNotSaved, vm.ResultHungUp,
	}
	effects := 0
	for call := 0; ; call++ {
		// Every Step executes at least one instruction, except the
		// final hang-up after the caller hangs up or a hook stops.
		if call > p.LongestPath() {
			t.Fatalf("no end after %d Steps; longest path %d", call, p.LongestPath())
		}
		e, err := m.Step()
		if errors.Is(err, vm.ErrBudgetExhausted) {
			t.Fatalf("budget exhausted after %d steps (longest path %d)", m.Steps(), p.LongestPath())
		}
		if err != nil {
			t.Fatalf("Step: %v", err)
		}
		effects++
		if m.Steps() > p.LongestPath() {
			t.Fatalf("%d steps, more than the longest path %d", m.Steps(), p.LongestPath())
		}
		checkEffect(t, p, e)
		if e.Kind == vm.EffectHangup {
			if !m.Ended() {
				t.Fatal("hang-up returned but the machine has not ended")
			}
			if (e.Reason == vm.ReasonStopped) != (m.Err() != nil) {
				t.Fatalf("hang-up %s with Err() = %v", e.Reason, m.Err())
			}
			// A hook that stops the call at an effect sees that effect,
			// which the host never does, and then the hang-up.
			seen := effects
			if e.Reason == vm.ReasonStopped {
				seen++
			}
			if h.effects != seen {
				t.Fatalf("the hook saw %d effects, want %d (Step returned %d)", h.effects, seen, effects)
			}
			if _, err := m.Step(); !errors.Is(err, vm.ErrEnded) {
				t.Fatalf("Step after the end: %v", err)
			}
			return
		}
		order := candidates[:len(candidates)-1]
		if rng.next()%16 == 0 {
			order = candidates[len(candidates)-1:]
		}
		start := int(rng.next() % uint64(len(order)))
		digit := uint8(rng.next() % (vm.DigitStar + 1))
		done := false
		for k := range order {
			r := order[(start+k)%len(order)]
			err := m.Resume(r, digit)
			if err == nil {
				done = true
				break
			}
			if !errors.Is(err, vm.ErrResult) {
				t.Fatalf("Resume(%s, %d) for %s: %v", r, digit, e.Kind, err)
			}
		}
		if !done {
			t.Fatalf("%s accepted none of %v", e.Kind, order)
		}
	}
}

// checkEffect checks that e is one a verified program can produce.
func checkEffect(t *testing.T, p *vm.Program, e vm.Effect) {
	if e.State < 0 || e.State >= len(p.States) || int(e.PC) >= len(p.Code) {
		t.Fatalf("effect %+v is outside the program (%d states, %d bytes)", e, len(p.States), len(p.Code))
	}
	if p.States[e.State].PC > e.PC || (e.State+1 < len(p.States) && p.States[e.State+1].PC <= e.PC) {
		t.Fatalf("effect at pc %d names state %d", e.PC, e.State)
	}
	kindOf := func(c *vm.Const) vm.ConstKind {
		for i := range p.Consts {
			if c == &p.Consts[i] {
				return c.Kind
			}
		}
		t.Fatalf("effect %+v points outside the constant pool", e)
		return 0
	}
	isPrompt := func(c *vm.Const) bool {
		k := kindOf(c)
		return k == vm.ConstSay || k == vm.ConstPlay
	}
	seconds := func(s uint32) bool { return s >= 1 && s <= vm.MaxSeconds }
	ok := true
	switch e.Kind {
	case vm.EffectAnswer:
		ok = e.Prompt == nil && e.Target == nil
	case vm.EffectPlay:
		ok = e.Prompt != nil && isPrompt(e.Prompt)
	case vm.EffectGather:
		ok = e.Prompt != nil && isPrompt(e.Prompt) && seconds(e.Timeout)
	case vm.EffectRingUser:
		ok = e.Target != nil && kindOf(e.Target) == vm.ConstUser && seconds(e.Timeout)
	case vm.EffectQueue:
		ok = e.Target != nil && kindOf(e.Target) == vm.ConstQueue
	case vm.EffectRingGroup:
		ok = e.Target != nil && kindOf(e.Target) == vm.ConstGroup && seconds(e.Timeout) && e.Strategy <= vm.Sequential
	case vm.EffectRecord:
		ok = (e.Prompt == nil || isPrompt(e.Prompt)) && seconds(e.Timeout) && seconds(e.MaxLength)
	case vm.EffectHangup:
		ok = e.Reason <= vm.ReasonStopped
	default:
		ok = false
	}
	if !ok {
		t.Fatalf("malformed effect %+v", e)
	}
}

// xorshift is a small deterministic generator, seeded from the input so
// that a failing input replays the same run.
type xorshift struct{ s uint64 }

func newRand(seed []byte) *xorshift {
	h := fnv.New64a()
	h.Write(seed)
	return &xorshift{s: h.Sum64() | 1}
}

func (x *xorshift) next() uint64 {
	x.s ^= x.s << 13
	x.s ^= x.s >> 7
	x.s ^= x.s << 17
	return x.s
}
