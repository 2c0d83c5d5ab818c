package vm_test

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/callflow/callflow/vm"
)

// ins encodes one instruction from raw operand values, so that tests can
// build code the assembler would refuse to produce.
func ins(op vm.Opcode, operands ...uint64) []byte {
	b := []byte{byte(op)}
	for _, v := range operands {
		b = binary.AppendUvarint(b, v)
	}
	return b
}

// cat joins instructions into code.
func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// The pool that hand-built programs share; the indexes are fixed.
const (
	cSay   = 0
	cPlay  = 1
	cUser  = 2
	cGroup = 3
	cQueue = 4
)

func pool() []vm.Const {
	return []vm.Const{
		cSay:   {Kind: vm.ConstSay, Text: "Hello."},
		cPlay:  {Kind: vm.ConstPlay, Text: "audio/menu.wav"},
		cUser:  {Kind: vm.ConstUser, Text: "alice"},
		cGroup: {Kind: vm.ConstGroup, Text: "billing"},
		cQueue: {Kind: vm.ConstQueue, Text: "audio/hold.wav", MaxWaiting: 5, Repeat: 3, Announcement: cSay},
	}
}

// rawProgram is an unverified program with the shared pool, the given
// code and one state at pc 0.
func rawProgram(code []byte) *vm.Program {
	return &vm.Program{
		Flow:   "raw",
		Consts: pool(),
		Code:   code,
		States: []vm.StateInfo{{Ref: "announce.start", PC: 0}},
	}
}

// withCRC appends the checksum Decode expects.
func withCRC(body []byte) []byte {
	return binary.LittleEndian.AppendUint32(append([]byte(nil), body...), crc32.ChecksumIEEE(body))
}

// accepted lists, per effect, the results the host may resume with
// besides ResultHungUp, as opcode.go documents them.
var accepted = map[vm.EffectKind][]vm.Result{
	vm.EffectAnswer:    {vm.ResultDone},
	vm.EffectPlay:      {vm.ResultDone},
	vm.EffectGather:    {vm.ResultDigit, vm.ResultTimeout},
	vm.EffectRingUser:  {vm.ResultAnswered, vm.ResultTimeout, vm.ResultBusy, vm.ResultUnavailable},
	vm.EffectQueue:     {vm.ResultAvailable, vm.ResultTimeout, vm.ResultFull},
	vm.EffectRingGroup: {vm.ResultAnswered, vm.ResultTimeout, vm.ResultUnavailable, vm.ResultAllBusy},
	vm.EffectRecord:    {vm.ResultSaved, vm.ResultNotSaved, vm.ResultTimeout},
}

// allResults is every Result value and a few past the last, so that tests
// also try values no host should send.
func allResults() []vm.Result {
	var rs []vm.Result
	for r := vm.Result(0); r <= vm.ResultHungUp+3; r++ {
		rs = append(rs, r)
	}
	return append(rs, 255)
}

// explore drives p through every sequence of results its effects accept,
// and every key at a GATHER, by copying the machine at each effect. It
// checks that every run ends with one hang-up within p.LongestPath
// instructions, and returns the number of runs and the most instructions
// any run executed.
func explore(t *testing.T, p *vm.Program, hooks []vm.Hook) (runs, maxSteps int) {
	t.Helper()
	var start vm.Machine
	if err := start.Init(p, hooks); err != nil {
		t.Fatal(err)
	}
	var walk func(m vm.Machine, trace []string)
	walk = func(m vm.Machine, trace []string) {
		e, err := m.Step()
		if err != nil {
			t.Fatalf("after %s: Step: %v", strings.Join(trace, " "), err)
		}
		if m.Steps() > p.LongestPath() {
			t.Fatalf("after %s: %d steps, more than the longest path %d", strings.Join(trace, " "), m.Steps(), p.LongestPath())
		}
		if e.Kind == vm.EffectHangup {
			if !m.Ended() {
				t.Fatalf("after %s: hang-up returned but the machine has not ended", strings.Join(trace, " "))
			}
			runs++
			maxSteps = max(maxSteps, m.Steps())
			return
		}
		for _, r := range allResults() {
			digits := []uint8{0}
			if r == vm.ResultDigit {
				digits = []uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, vm.DigitStar}
			}
			for _, d := range digits {
				next := m
				if err := next.Resume(r, d); err != nil {
					if errors.Is(err, vm.ErrResult) {
						continue
					}
					t.Fatalf("after %s: Resume(%s, %d): %v", strings.Join(trace, " "), r, d, err)
				}
				walk(next, append(trace[:len(trace):len(trace)], e.Kind.String()+"="+r.String()))
			}
		}
	}
	walk(start, nil)
	return runs, maxSteps
}
