package vm

import (
	"encoding/binary"
	"fmt"
)

// maxCode bounds a program's code so that every pc fits in 32 bits with
// room to spare. The largest real flow is a few hundred bytes.
const maxCode = 1 << 24

// instr is one decoded instruction. Verify decodes the code once; the
// machine runs the decoded form, in which jump targets are instruction
// indexes rather than byte offsets.
type instr struct {
	op   Opcode
	args [4]uint32
	pc   uint32 // byte offset in Code, for traces and disassembly
}

// VerifyError says what is wrong with a program, and where.
type VerifyError struct {
	PC  int // byte offset of the instruction, or -1
	Msg string
}

func (e *VerifyError) Error() string {
	if e.PC < 0 {
		return "vm: invalid program: " + e.Msg
	}
	return fmt.Sprintf("vm: invalid program at pc %d: %s", e.PC, e.Msg)
}

func verifyErr(pc int, format string, args ...any) error {
	return &VerifyError{PC: pc, Msg: fmt.Sprintf(format, args...)}
}

// Verify checks that p is well formed: every opcode known, every operand
// in range and of the right type, every constant well formed, every jump
// forward to an instruction boundary, no fall-through off the end, and the
// state table in step with the code. It then computes the longest path.
// A program that passes cannot loop. Every loader runs it; Decode does.
func (p *Program) Verify() error {
	if err := p.verifyConsts(); err != nil {
		return err
	}
	if len(p.Code) == 0 {
		return verifyErr(-1, "no code")
	}
	if len(p.Code) > maxCode {
		return verifyErr(-1, "code is %d bytes, more than %d", len(p.Code), maxCode)
	}
	var instrs []instr
	index := make(map[uint32]int) // byte offset → instruction index
	for pc := 0; pc < len(p.Code); {
		in, next, err := decodeInstr(p.Code, pc)
		if err != nil {
			return err
		}
		if err := p.verifyOperands(in, next); err != nil {
			return err
		}
		index[uint32(pc)] = len(instrs)
		instrs = append(instrs, in)
		pc = next
	}
	last := instrs[len(instrs)-1]
	if !opTable[last.op].terminal {
		return verifyErr(int(last.pc), "%s at the end of the code would fall through past it", last.op)
	}
	// Jump targets: forward (checked in verifyOperands) and on a boundary.
	for i := range instrs {
		in := &instrs[i]
		for j, kind := range opTable[in.op].operands {
			if kind != OpTarget {
				continue
			}
			t, ok := index[in.args[j]]
			if !ok {
				return verifyErr(int(in.pc), "jump target %d is not the start of an instruction", in.args[j])
			}
			in.args[j] = uint32(t)
		}
	}
	if err := p.verifyStates(index); err != nil {
		return err
	}
	p.instrs = instrs
	p.longestPath = longestPath(instrs)
	p.verified = true
	return nil
}

func (p *Program) verifyConsts() error {
	for i, c := range p.Consts {
		switch c.Kind {
		case ConstSay, ConstPlay, ConstUser, ConstGroup:
			if c.Text == "" {
				return verifyErr(-1, "constant %d (%s) is empty", i, c.Kind)
			}
		case ConstQueue:
			if c.MaxWaiting == 0 || c.Repeat == 0 {
				return verifyErr(-1, "constant %d: a queue needs max_waiting and repeat of at least 1", i)
			}
			if c.Announcement != NoPrompt && !p.isPrompt(c.Announcement) {
				return verifyErr(-1, "constant %d: queue announcement %d is not a prompt constant", i, c.Announcement)
			}
		default:
			return verifyErr(-1, "constant %d has unknown kind %d", i, c.Kind)
		}
	}
	return nil
}

func (p *Program) isPrompt(i uint32) bool {
	return int64(i) < int64(len(p.Consts)) && (p.Consts[i].Kind == ConstSay || p.Consts[i].Kind == ConstPlay)
}

func (p *Program) isConst(i uint32, kind ConstKind) bool {
	return int64(i) < int64(len(p.Consts)) && p.Consts[i].Kind == kind
}

// decodeInstr decodes the instruction at pc and returns the offset of the
// next one.
func decodeInstr(code []byte, pc int) (instr, int, error) {
	op := Opcode(code[pc])
	if op >= numOpcodes {
		return instr{}, 0, verifyErr(pc, "unknown opcode %d", op)
	}
	in := instr{op: op, pc: uint32(pc)}
	next := pc + 1
	for j := range opTable[op].operands {
		v, n := binary.Uvarint(code[next:])
		if n <= 0 {
			return instr{}, 0, verifyErr(pc, "%s: operand %d is truncated or overlong", op, j+1)
		}
		if v > 1<<32-1 {
			return instr{}, 0, verifyErr(pc, "%s: operand %d is %d, out of range", op, j+1, v)
		}
		in.args[j] = uint32(v)
		next += n
	}
	return in, next, nil
}

func (p *Program) verifyOperands(in instr, next int) error {
	pc := int(in.pc)
	for j, kind := range opTable[in.op].operands {
		v := in.args[j]
		bad := ""
		switch kind {
		case OpPrompt:
			if !p.isPrompt(v) {
				bad = "not a prompt constant"
			}
		case OpPromptOr:
			if v != NoPrompt && !p.isPrompt(v) {
				bad = "not a prompt constant"
			}
		case OpUser:
			if !p.isConst(v, ConstUser) {
				bad = "not a user constant"
			}
		case OpGroup:
			if !p.isConst(v, ConstGroup) {
				bad = "not a group constant"
			}
		case OpQueue:
			if !p.isConst(v, ConstQueue) {
				bad = "not a queue constant"
			}
		case OpSeconds:
			if v == 0 || v > MaxSeconds {
				bad = fmt.Sprintf("not a duration of 1 to %d seconds", MaxSeconds)
			}
		case OpFlags:
			if v&^allFlags != 0 {
				bad = "unknown flag bits"
			}
		case OpStrategy:
			if v >= uint32(numStrategies) {
				bad = "not a ring strategy"
			}
		case OpResult:
			if v == uint32(ResultNone) || v == uint32(ResultHungUp) || v >= uint32(numResults) {
				bad = "not a result a branch can test"
			}
		case OpDigit:
			if v > DigitStar {
				bad = "not a key"
			}
		case OpReason:
			if v >= uint32(numCodeReasons) {
				bad = "not a hang-up reason"
			}
		case OpTarget:
			if int64(v) < int64(next) {
				bad = "a backward jump (every jump must go forward)"
			} else if int64(v) >= int64(len(p.Code)) {
				bad = "a jump past the end of the code"
			}
		}
		if bad != "" {
			return verifyErr(pc, "%s operand %d (%d) is %s", in.op, j+1, v, bad)
		}
	}
	return nil
}

func (p *Program) verifyStates(index map[uint32]int) error {
	if len(p.States) == 0 {
		return verifyErr(-1, "no state table")
	}
	for i, s := range p.States {
		if i == 0 && s.PC != 0 {
			return verifyErr(-1, "the first state starts at pc %d, not 0", s.PC)
		}
		if i > 0 && s.PC <= p.States[i-1].PC {
			return verifyErr(-1, "state %d (%s) does not start after the one before it", i, s.Ref)
		}
		if _, ok := index[s.PC]; !ok {
			return verifyErr(-1, "state %d (%s) starts at pc %d, which is not an instruction", i, s.Ref, s.PC)
		}
		if s.Ref == "" {
			return verifyErr(-1, "state %d has no name", i)
		}
	}
	return nil
}

// longestPath returns the number of instructions on the longest path from
// the first instruction. Targets are instruction indexes, all forward, so
// one pass from the end suffices.
func longestPath(instrs []instr) int {
	longest := make([]int, len(instrs)+1)
	for i := len(instrs) - 1; i >= 0; i-- {
		in := instrs[i]
		best := 0
		if !opTable[in.op].terminal {
			best = longest[i+1]
		}
		for j, kind := range opTable[in.op].operands {
			if kind == OpTarget && longest[in.args[j]] > best {
				best = longest[in.args[j]]
			}
		}
		longest[i] = 1 + best
	}
	return longest[0]
}
