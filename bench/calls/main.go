// Command calls runs simulated calls through the largest flow of a
// repository (by default examples/acme) on one core and reports calls per
// second.
//
//	go run ./bench/calls [-calls 1000000] [-dir examples/acme]
//
// Each call gets a fresh machine state (Init on a reused Machine, as a
// pooling runtime would) and a deterministic host that varies the
// caller's keys and the agents' answers from call to call, so that every
// branch of the flow is taken. GOMAXPROCS is set to 1: the figure is per
// core.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/vm"
)

func main() {
	calls := flag.Int("calls", 1_000_000, "calls to run")
	dir := flag.String("dir", "examples/acme", "repository whose largest flow is run")
	flag.Parse()
	runtime.GOMAXPROCS(1)
	if err := run(*dir, *calls); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(dir string, calls int) error {
	m, _, diags := compiler.CheckDir(dir)
	if diags.HasErrors() {
		return diags
	}
	progs, err := compiler.LowerAll(m)
	if err != nil {
		return err
	}
	var prog *vm.Program
	for _, p := range progs {
		if prog == nil || len(p.Code) > len(prog.Code) || (len(p.Code) == len(prog.Code) && p.Flow < prog.Flow) {
			prog = p
		}
	}
	var mach vm.Machine
	var steps, effects int
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	for call := 0; call < calls; call++ {
		if err := mach.Init(prog, nil); err != nil {
			return err
		}
		for n := 0; ; n++ {
			e, err := mach.Step()
			if err != nil {
				return err
			}
			effects++
			if e.Kind == vm.EffectHangup {
				break
			}
			r, digit := answer(e, call, n)
			if err := mach.Resume(r, digit); err != nil {
				return fmt.Errorf("call %d: %s → %s: %w", call, e.Kind, r, err)
			}
		}
		steps += mach.Steps()
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	fmt.Printf("flow %s (%d bytes, longest path %d instructions)\n", prog.Flow, len(prog.Code), prog.LongestPath())
	fmt.Printf("%d calls in %s on 1 core: %.0f calls/s, %.0f ns/call\n",
		calls, elapsed.Round(time.Millisecond), float64(calls)/elapsed.Seconds(), float64(elapsed.Nanoseconds())/float64(calls))
	fmt.Printf("%.2f effects and %.2f instructions per call, %.1f ns per instruction, %.3f allocations per call\n",
		float64(effects)/float64(calls), float64(steps)/float64(calls),
		float64(elapsed.Nanoseconds())/float64(steps), float64(after.Mallocs-before.Mallocs)/float64(calls))
	return nil
}

// answer picks a result for the n-th effect of a call, varying with the
// call number so that calls take every branch.
func answer(e vm.Effect, call, n int) (vm.Result, uint8) {
	k := call + 7*n
	switch e.Kind {
	case vm.EffectGather:
		if k%5 == 4 {
			return vm.ResultTimeout, 0
		}
		return vm.ResultDigit, uint8(k % 11)
	case vm.EffectRingUser:
		return [...]vm.Result{vm.ResultAnswered, vm.ResultTimeout, vm.ResultBusy, vm.ResultUnavailable}[k%4], 0
	case vm.EffectQueue:
		return [...]vm.Result{vm.ResultAvailable, vm.ResultTimeout, vm.ResultFull}[k%3], 0
	case vm.EffectRingGroup:
		return [...]vm.Result{vm.ResultAnswered, vm.ResultTimeout, vm.ResultUnavailable, vm.ResultAllBusy}[k%4], 0
	case vm.EffectRecord:
		return [...]vm.Result{vm.ResultSaved, vm.ResultNotSaved, vm.ResultTimeout}[k%3], 0
	}
	return vm.ResultDone, 0
}
