package vm_test

import (
	"os"
	"testing"

	"github.com/callflow/callflow/vm"
)

// acmeSales is the compiled sales flow of examples/acme, the largest of
// its flows, as the compiler writes it. compiler's TestEncodedAcme keeps
// the file in step with the compiler (go test ./compiler -update).
const acmeSales = "testdata/acme-sales.cfvm"

// BenchmarkCalls runs whole calls through the acme sales flow, one call
// per iteration, with a host that varies the caller's keys and the
// agents' answers from call to call so that every branch is taken. The
// README's figure comes from
//
//	go test ./vm -run '^$' -bench Calls -benchtime 1000000x -cpu 1
//
// which is 1,000,000 calls on one core.
func BenchmarkCalls(b *testing.B) {
	data, err := os.ReadFile(acmeSales)
	if err != nil {
		b.Fatal(err)
	}
	p, err := vm.Decode(data)
	if err != nil {
		b.Fatal(err)
	}
	var m vm.Machine
	steps := 0
	b.ReportAllocs()
	call := 0
	for b.Loop() {
		if err := m.Init(p, nil); err != nil {
			b.Fatal(err)
		}
		for n := 0; ; n++ {
			e, err := m.Step()
			if err != nil {
				b.Fatal(err)
			}
			if e.Kind == vm.EffectHangup {
				break
			}
			r, digit := vary(e, call, n)
			if err := m.Resume(r, digit); err != nil {
				b.Fatal(err)
			}
		}
		steps += m.Steps()
		call++
	}
	b.ReportMetric(float64(steps)/float64(call), "instructions/call")
	b.ReportMetric(float64(call)/b.Elapsed().Seconds(), "calls/s")
}

// vary picks a result for the n-th effect of a call.
func vary(e vm.Effect, call, n int) (vm.Result, uint8) {
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
