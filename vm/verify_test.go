package vm_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/callflow/callflow/vm"
)

var hangup = ins(vm.HANGUP, uint64(vm.ReasonFlowEnd))

type verifyCase struct {
	name string
	p    *vm.Program
	pc   int    // VerifyError.PC
	want string // in VerifyError.Msg
}

// withCode is rawProgram with code made of the given instructions.
func withCode(instrs ...[]byte) *vm.Program { return rawProgram(cat(instrs...)) }

func withStates(p *vm.Program, states ...vm.StateInfo) *vm.Program {
	p.States = states
	return p
}

func withConsts(consts ...vm.Const) *vm.Program {
	p := rawProgram(hangup)
	p.Consts = append(p.Consts, consts...)
	return p
}

// overlong is an operand of eleven varint bytes, which binary.Uvarint
// refuses as overflowing 64 bits.
var overlong = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}

func verifyCases() []verifyCase {
	big := make([]byte, 1<<24+1)
	for i := range big {
		big[i] = byte(vm.ANSWER)
	}
	return []verifyCase{
		// Code.
		{"no code", withCode(), -1, "no code"},
		{"empty code", rawProgram([]byte{}), -1, "no code"},
		{"code too large", rawProgram(big), -1, "code is 16777217 bytes, more than 16777216"},
		{"unknown opcode", withCode(ins(vm.IF_DIGIT+1), hangup), 0, "unknown opcode 11"},
		{"unknown opcode later", withCode(ins(vm.ANSWER), []byte{0xff}, hangup), 1, "unknown opcode 255"},
		{"operand truncated at the end", withCode(ins(vm.ANSWER), []byte{byte(vm.PLAY)}), 1, "PLAY: operand 1 is truncated or overlong"},
		{"second operand truncated", withCode([]byte{byte(vm.GATHER), cSay}), 0, "GATHER: operand 2 is truncated or overlong"},
		{"unfinished varint", withCode([]byte{byte(vm.PLAY), 0x80}), 0, "PLAY: operand 1 is truncated or overlong"},
		{"operand overlong", withCode(append([]byte{byte(vm.PLAY)}, overlong...), hangup), 0, "PLAY: operand 1 is truncated or overlong"},
		{"operand past 32 bits", withCode(ins(vm.PLAY, 1<<32), hangup), 0, "PLAY: operand 1 is 4294967296, out of range"},
		{"operand far past 32 bits", withCode(ins(vm.RING_GROUP, cGroup, 0, 30, 1<<63), hangup), 0, "RING_GROUP: operand 4 is 9223372036854775808, out of range"},

		// Operand kinds.
		{"prompt out of range", withCode(ins(vm.PLAY, 5), hangup), 0, "PLAY operand 1 (5) is not a prompt constant"},
		{"prompt is a user", withCode(ins(vm.GATHER, cUser, 5), hangup), 0, "GATHER operand 1 (2) is not a prompt constant"},
		{"prompt is NoPrompt", withCode(ins(vm.PLAY, vm.NoPrompt), hangup), 0, "PLAY operand 1 (4294967295) is not a prompt constant"},
		{"optional prompt is a queue", withCode(ins(vm.RECORD, cQueue, 60, 60), hangup), 0, "RECORD operand 1 (4) is not a prompt constant"},
		{"optional prompt out of range", withCode(ins(vm.RECORD, 1<<32-2, 60, 60), hangup), 0, "RECORD operand 1 (4294967294) is not a prompt constant"},
		{"user is a group", withCode(ins(vm.RING_USER, cGroup, 30, 0), hangup), 0, "RING_USER operand 1 (3) is not a user constant"},
		{"user out of range", withCode(ins(vm.RING_USER, 99, 30, 0), hangup), 0, "RING_USER operand 1 (99) is not a user constant"},
		{"group is a user", withCode(ins(vm.RING_GROUP, cUser, 0, 30, 0), hangup), 0, "RING_GROUP operand 1 (2) is not a group constant"},
		{"group out of range", withCode(ins(vm.RING_GROUP, 5, 0, 30, 0), hangup), 0, "RING_GROUP operand 1 (5) is not a group constant"},
		{"queue is a prompt", withCode(ins(vm.QUEUE, cSay), hangup), 0, "QUEUE operand 1 (0) is not a queue constant"},
		{"queue out of range", withCode(ins(vm.QUEUE, 5), hangup), 0, "QUEUE operand 1 (5) is not a queue constant"},
		{"zero seconds", withCode(ins(vm.GATHER, cSay, 0), hangup), 0, "GATHER operand 2 (0) is not a duration of 1 to 3600 seconds"},
		{"too many seconds", withCode(ins(vm.RING_USER, cUser, vm.MaxSeconds+1, 0), hangup), 0, "RING_USER operand 2 (3601) is not a duration of 1 to 3600 seconds"},
		{"record max length zero", withCode(ins(vm.RECORD, vm.NoPrompt, 0, 60), hangup), 0, "RECORD operand 2 (0) is not a duration"},
		{"record timeout too long", withCode(ins(vm.RECORD, vm.NoPrompt, 60, 3601), hangup), 0, "RECORD operand 3 (3601) is not a duration"},
		{"group timeout zero", withCode(ins(vm.RING_GROUP, cGroup, 1, 0, 0), hangup), 0, "RING_GROUP operand 3 (0) is not a duration"},
		{"unknown flag", withCode(ins(vm.RING_USER, cUser, 30, 2), hangup), 0, "RING_USER operand 3 (2) is unknown flag bits"},
		{"unknown group flag", withCode(ins(vm.RING_GROUP, cGroup, 0, 30, 1<<31|vm.FlagRecord), hangup), 0, "RING_GROUP operand 4 (2147483649) is unknown flag bits"},
		{"unknown strategy", withCode(ins(vm.RING_GROUP, cGroup, 2, 30, 0), hangup), 0, "RING_GROUP operand 2 (2) is not a ring strategy"},
		{"branch on no result", withCode(ins(vm.ANSWER), ins(vm.IF_RESULT, uint64(vm.ResultNone), 4), hangup), 1, "IF_RESULT operand 1 (0) is not a result a branch can test"},
		{"branch on hung up", withCode(ins(vm.ANSWER), ins(vm.IF_RESULT, uint64(vm.ResultHungUp), 4), hangup), 1, "IF_RESULT operand 1 (12) is not a result a branch can test"},
		{"branch on unknown result", withCode(ins(vm.ANSWER), ins(vm.IF_RESULT, uint64(vm.ResultHungUp)+1, 4), hangup), 1, "IF_RESULT operand 1 (13) is not a result a branch can test"},
		{"unknown key", withCode(ins(vm.GATHER, cSay, 5), ins(vm.IF_DIGIT, vm.DigitStar+1, 6), hangup), 3, "IF_DIGIT operand 1 (11) is not a key"},
		{"caller-hung-up in code", withCode(ins(vm.HANGUP, uint64(vm.ReasonCallerHungUp))), 0, "HANGUP operand 1 (4) is not a hang-up reason"},
		{"stopped in code", withCode(ins(vm.HANGUP, uint64(vm.ReasonStopped))), 0, "HANGUP operand 1 (5) is not a hang-up reason"},

		// Jumps.
		{"backward jump", withCode(ins(vm.ANSWER), ins(vm.JUMP, 0)), 1, "JUMP operand 1 (0) is a backward jump (every jump must go forward)"},
		{"jump to itself", withCode(ins(vm.ANSWER), ins(vm.JUMP, 1), hangup), 1, "JUMP operand 1 (1) is a backward jump"},
		{"jump into itself", withCode(ins(vm.ANSWER), ins(vm.JUMP, 2), hangup), 1, "JUMP operand 1 (2) is a backward jump"},
		{"branch backward", withCode(ins(vm.ANSWER), ins(vm.IF_RESULT, uint64(vm.ResultDone), 0), hangup), 1, "IF_RESULT operand 2 (0) is a backward jump"},
		{"jump past the end", withCode(ins(vm.ANSWER), ins(vm.JUMP, 5), hangup), 1, "JUMP operand 1 (5) is a jump past the end of the code"},
		{"jump to the end", withCode(ins(vm.ANSWER), ins(vm.IF_DIGIT, 1, 6), hangup), 1, "IF_DIGIT operand 2 (6) is a jump past the end of the code"},
		{"jump far past the end", withCode(ins(vm.JUMP, 1<<32-1), hangup), 0, "JUMP operand 1 (4294967295) is a jump past the end of the code"},
		{"jump into an instruction", withCode(ins(vm.JUMP, 3), ins(vm.PLAY, cSay), hangup), 0, "jump target 3 is not the start of an instruction"},
		{"branch into an instruction", withCode(ins(vm.ANSWER), ins(vm.IF_RESULT, uint64(vm.ResultDone), 5), ins(vm.HANGUP, 0), ins(vm.HANGUP, 1)), 1, "jump target 5 is not the start of an instruction"},
		{"fall-through past the end", withCode(ins(vm.ANSWER), ins(vm.PLAY, cSay)), 1, "PLAY at the end of the code would fall through past it"},
		{"effect at the end", withCode(ins(vm.ANSWER)), 0, "ANSWER at the end of the code would fall through past it"},

		// The state table.
		{"no states", withStates(withCode(hangup)), -1, "no state table"},
		{"first state after 0", withStates(withCode(ins(vm.ANSWER), hangup), vm.StateInfo{Ref: "a", PC: 1}), -1, "the first state starts at pc 1, not 0"},
		{"states repeat a pc", withStates(withCode(ins(vm.ANSWER), ins(vm.ANSWER), hangup), vm.StateInfo{Ref: "a"}, vm.StateInfo{Ref: "b", PC: 1}, vm.StateInfo{Ref: "c", PC: 1}), -1, "state 2 (c) does not start after the one before it"},
		{"states out of order", withStates(withCode(ins(vm.ANSWER), ins(vm.ANSWER), hangup), vm.StateInfo{Ref: "a"}, vm.StateInfo{Ref: "b", PC: 2}, vm.StateInfo{Ref: "c", PC: 1}), -1, "state 2 (c) does not start after the one before it"},
		{"two states at 0", withStates(withCode(hangup), vm.StateInfo{Ref: "a"}, vm.StateInfo{Ref: "b"}), -1, "state 1 (b) does not start after the one before it"},
		{"state inside an instruction", withStates(withCode(ins(vm.PLAY, cSay), hangup), vm.StateInfo{Ref: "a"}, vm.StateInfo{Ref: "b", PC: 1}), -1, "state 1 (b) starts at pc 1, which is not an instruction"},
		{"state past the code", withStates(withCode(hangup), vm.StateInfo{Ref: "a"}, vm.StateInfo{Ref: "b", PC: 2}), -1, "state 1 (b) starts at pc 2, which is not an instruction"},
		{"state without a name", withStates(withCode(hangup), vm.StateInfo{}), -1, "state 0 has no name"},
		{"later state without a name", withStates(withCode(ins(vm.ANSWER), hangup), vm.StateInfo{Ref: "a"}, vm.StateInfo{PC: 1}), -1, "state 1 has no name"},

		// Constants.
		{"empty say", withConsts(vm.Const{Kind: vm.ConstSay}), -1, "constant 5 (say) is empty"},
		{"empty play", withConsts(vm.Const{Kind: vm.ConstPlay}), -1, "constant 5 (play) is empty"},
		{"empty user", withConsts(vm.Const{Kind: vm.ConstUser}), -1, "constant 5 (user) is empty"},
		{"empty group", withConsts(vm.Const{Kind: vm.ConstGroup}), -1, "constant 5 (group) is empty"},
		{"queue without max_waiting", withConsts(vm.Const{Kind: vm.ConstQueue, Repeat: 1, Announcement: vm.NoPrompt}), -1, "constant 5: a queue needs max_waiting and repeat of at least 1"},
		{"queue without repeat", withConsts(vm.Const{Kind: vm.ConstQueue, MaxWaiting: 1, Announcement: vm.NoPrompt}), -1, "constant 5: a queue needs max_waiting and repeat of at least 1"},
		{"queue announcement is a user", withConsts(vm.Const{Kind: vm.ConstQueue, MaxWaiting: 1, Repeat: 1, Announcement: cUser}), -1, "constant 5: queue announcement 2 is not a prompt constant"},
		{"queue announcement is itself", withConsts(vm.Const{Kind: vm.ConstQueue, MaxWaiting: 1, Repeat: 1, Announcement: 5}), -1, "constant 5: queue announcement 5 is not a prompt constant"},
		{"queue announcement out of range", withConsts(vm.Const{Kind: vm.ConstQueue, MaxWaiting: 1, Repeat: 1, Announcement: 6}), -1, "constant 5: queue announcement 6 is not a prompt constant"},
		{"constant kind zero", withConsts(vm.Const{Text: "x"}), -1, "constant 5 has unknown kind 0"},
		{"constant kind past the last", withConsts(vm.Const{Kind: vm.ConstQueue + 1, Text: "x"}), -1, "constant 5 has unknown kind 6"},
	}
}

func TestVerifyRejects(t *testing.T) {
	for _, c := range verifyCases() {
		t.Run(c.name, func(t *testing.T) {
			err := c.p.Verify()
			var ve *vm.VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("Verify: got %v, want a *VerifyError", err)
			}
			if ve.PC != c.pc {
				t.Errorf("PC = %d, want %d (%v)", ve.PC, c.pc, err)
			}
			if !strings.Contains(ve.Msg, c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
			prefix := "vm: invalid program: "
			if c.pc >= 0 {
				prefix = "vm: invalid program at pc " + strconv.Itoa(c.pc) + ": "
			}
			if err.Error() != prefix+ve.Msg {
				t.Errorf("Error() = %q, want %q", err.Error(), prefix+ve.Msg)
			}
			var m vm.Machine
			if err := m.Init(c.p, nil); !errors.Is(err, vm.ErrNotVerified) {
				t.Errorf("Init of a program that failed Verify: got %v, want ErrNotVerified", err)
			}
			if _, err := c.p.Disassemble(); err == nil {
				t.Error("Disassemble of a program that failed Verify succeeded")
			}
			// The same program, encoded, must be refused by Decode with
			// the same complaint (the code limit aside, which no
			// encoding that size is worth building).
			if len(c.p.Code) < 1<<20 {
				_, err := vm.Decode(c.p.Encode())
				if err == nil || err.Error() != c.p.Verify().Error() {
					t.Errorf("Decode: got %v, want %v", err, c.p.Verify())
				}
			}
		})
	}
}

// TestVerifyAccepts checks the edges of each range from the inside.
func TestVerifyAccepts(t *testing.T) {
	for _, c := range []struct {
		name string
		p    *vm.Program
	}{
		{"hang-up alone", withCode(hangup)},
		{"every reason", withCode(ins(vm.ANSWER), ins(vm.IF_RESULT, uint64(vm.ResultDone), 6), ins(vm.HANGUP, 0), ins(vm.HANGUP, 1), ins(vm.HANGUP, 2), ins(vm.HANGUP, 3))},
		{"jump to the next instruction", withCode(ins(vm.JUMP, 2), hangup)},
		{"branch to the next instruction", withCode(ins(vm.ANSWER), ins(vm.IF_RESULT, uint64(vm.ResultDone), 4), hangup)},
		{"jump to the last instruction", withCode(ins(vm.JUMP, 4), ins(vm.ANSWER), ins(vm.ANSWER), hangup)},
		{"star key", withCode(ins(vm.GATHER, cPlay, vm.MaxSeconds), ins(vm.IF_DIGIT, vm.DigitStar, 7), hangup)},
		{"every branch result", withCode(
			ins(vm.ANSWER),
			ins(vm.IF_RESULT, 1, 34), ins(vm.IF_RESULT, 2, 34), ins(vm.IF_RESULT, 3, 34), ins(vm.IF_RESULT, 4, 34),
			ins(vm.IF_RESULT, 5, 34), ins(vm.IF_RESULT, 6, 34), ins(vm.IF_RESULT, 7, 34), ins(vm.IF_RESULT, 8, 34),
			ins(vm.IF_RESULT, 9, 34), ins(vm.IF_RESULT, 10, 34), ins(vm.IF_RESULT, 11, 34),
			hangup)},
		{"record without a prompt", withCode(ins(vm.RECORD, vm.NoPrompt, 1, vm.MaxSeconds), hangup)},
		{"record with a play prompt", withCode(ins(vm.RECORD, cPlay, 1, 1), hangup)},
		{"sequential with record", withCode(ins(vm.RING_GROUP, cGroup, uint64(vm.Sequential), 1, vm.FlagRecord), hangup)},
		{"queue", withCode(ins(vm.QUEUE, cQueue), hangup)},
		{"queue without music or announcement", withConsts(vm.Const{Kind: vm.ConstQueue, MaxWaiting: 1, Repeat: 1, Announcement: vm.NoPrompt})},
		{"queue announced by a play prompt", withConsts(vm.Const{Kind: vm.ConstQueue, MaxWaiting: 1, Repeat: 1, Announcement: cPlay})},
		{"non-minimal varint", withCode([]byte{byte(vm.PLAY), 0x80, 0x00}, hangup)},
		{"a state per instruction", withStates(withCode(ins(vm.ANSWER), ins(vm.PLAY, cSay), hangup), vm.StateInfo{Ref: "a"}, vm.StateInfo{Ref: "b", PC: 1}, vm.StateInfo{Ref: "c", PC: 3})},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.p.Verify(); err != nil {
				t.Fatal(err)
			}
			if _, err := vm.Decode(c.p.Encode()); err != nil {
				t.Errorf("Decode: %v", err)
			}
		})
	}
}

// TestLongestPath checks LongestPath against hand-counted programs, and
// that a run down the longest path executes exactly that many
// instructions.
func TestLongestPath(t *testing.T) {
	for _, c := range []struct {
		name string
		code []byte
		want int
		// The results that lead down the longest path: a result for
		// each effect, with the key for ResultDigit.
		path []vm.Result
		key  uint8
	}{
		{
			name: "straight line",
			code: cat(ins(vm.ANSWER), ins(vm.PLAY, cSay), hangup),
			want: 3,
			path: []vm.Result{vm.ResultDone, vm.ResultDone},
		},
		{
			// The taken branch is the longest.
			//	 0 ANSWER
			//	 1 GATHER #0 5s
			//	 4 IF_DIGIT '1' -> 12
			//	 7 IF_DIGIT '2' -> 18
			//	10 HANGUP                  5 on this path
			//	12 PLAY #0
			//	14 PLAY #1
			//	16 JUMP -> 20             7 on this path
			//	18 PLAY #0                 6 on this path
			//	20 HANGUP
			name: "longest through a jump",
			code: cat(ins(vm.ANSWER), ins(vm.GATHER, cSay, 5), ins(vm.IF_DIGIT, 1, 12), ins(vm.IF_DIGIT, 2, 18), hangup,
				ins(vm.PLAY, cSay), ins(vm.PLAY, cPlay), ins(vm.JUMP, 20), ins(vm.PLAY, cSay), hangup),
			want: 7,
			path: []vm.Result{vm.ResultDone, vm.ResultDigit, vm.ResultDone, vm.ResultDone},
			key:  1,
		},
		{
			// The fall-through is the longest; the branch skips it.
			//	 0 GATHER #0 5s
			//	 3 IF_RESULT timeout -> 13
			//	 6 PLAY #0
			//	 8 PLAY #0
			//	10 PLAY #0
			//	12 ANSWER
			//	13 HANGUP
			name: "longest through the fall-through",
			code: cat(ins(vm.GATHER, cSay, 5), ins(vm.IF_RESULT, uint64(vm.ResultTimeout), 13),
				ins(vm.PLAY, cSay), ins(vm.PLAY, cSay), ins(vm.PLAY, cSay), ins(vm.ANSWER), hangup),
			want: 7,
			path: []vm.Result{vm.ResultDigit, vm.ResultDone, vm.ResultDone, vm.ResultDone, vm.ResultDone},
			key:  9,
		},
		{
			// Two branches meet; the longer arm counts.
			//	 0 RING_USER #2 30s -
			//	 4 IF_RESULT busy -> 11
			//	 7 IF_RESULT timeout -> 15
			//	10 ANSWER
			//	11 PLAY #0
			//	13 PLAY #1
			//	15 HANGUP
			name: "branches meet",
			code: cat(ins(vm.RING_USER, cUser, 30, 0), ins(vm.IF_RESULT, uint64(vm.ResultBusy), 11), ins(vm.IF_RESULT, uint64(vm.ResultTimeout), 15),
				ins(vm.ANSWER), ins(vm.PLAY, cSay), ins(vm.PLAY, cPlay), hangup),
			want: 7,
			path: []vm.Result{vm.ResultUnavailable, vm.ResultDone, vm.ResultDone, vm.ResultDone},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := rawProgram(c.code)
			if p.LongestPath() != 0 {
				t.Errorf("LongestPath before Verify = %d, want 0", p.LongestPath())
			}
			if err := p.Verify(); err != nil {
				t.Fatal(err)
			}
			if got := p.LongestPath(); got != c.want {
				t.Errorf("LongestPath = %d, want %d", got, c.want)
			}
			var m vm.Machine
			if err := m.Init(p, nil); err != nil {
				t.Fatal(err)
			}
			for i := 0; ; i++ {
				e, err := m.Step()
				if err != nil {
					t.Fatal(err)
				}
				if e.Kind == vm.EffectHangup {
					if i != len(c.path) {
						t.Errorf("hung up after %d effects, want %d", i, len(c.path))
					}
					break
				}
				if i >= len(c.path) {
					t.Fatalf("effect %d (%s) is past the planned path", i, e.Kind)
				}
				if err := m.Resume(c.path[i], c.key); err != nil {
					t.Fatal(err)
				}
			}
			if m.Steps() != c.want {
				t.Errorf("the run down the longest path took %d steps, want %d", m.Steps(), c.want)
			}
			if _, most := explore(t, p, nil); most != c.want {
				t.Errorf("the longest run took %d steps, want %d", most, c.want)
			}
		})
	}
}

// TestVerifyIdempotent checks that verifying twice changes nothing.
func TestVerifyIdempotent(t *testing.T) {
	p, err := supportFlow()
	if err != nil {
		t.Fatal(err)
	}
	before, _ := p.Disassemble()
	if err := p.Verify(); err != nil {
		t.Fatal(err)
	}
	after, _ := p.Disassemble()
	if before != after {
		t.Errorf("disassembly changed on the second Verify:\n%s", lineDiff(before, after))
	}
}
