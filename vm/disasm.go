package vm

import (
	"fmt"
	"strconv"
	"strings"
)

// Disassemble returns the program as text: a header, the constant pool,
// and each state's instructions with their byte offsets. Operands are
// printed by kind from the opcode table, with constants inline, so that
// the text reads without the pool. The program is verified first if it
// has not been.
func (p *Program) Disassemble() (string, error) {
	if !p.verified {
		if err := p.Verify(); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "flow %s: %s, %s, %d bytes, longest path %d\n",
		p.Flow, count(len(p.States), "state"), count(len(p.Consts), "constant"), len(p.Code), p.longestPath)
	for i, c := range p.Consts {
		fmt.Fprintf(&b, "  #%-3d %s\n", i, p.constString(c))
	}
	state := -1
	for _, in := range p.instrs {
		if s := p.StateAt(int(in.pc)); s != state {
			state = s
			fmt.Fprintf(&b, "%s  (%s)\n", p.States[s].Ref, p.States[s].Range)
		}
		line := fmt.Sprintf("  %04d  %-10s", in.pc, in.op)
		for j, kind := range opTable[in.op].operands {
			line += " " + p.operandString(kind, in.args[j])
		}
		b.WriteString(strings.TrimRight(line, " "))
		b.WriteByte('\n')
	}
	return b.String(), nil
}

func (p *Program) constString(c Const) string {
	switch c.Kind {
	case ConstQueue:
		s := fmt.Sprintf("queue max_waiting=%d repeat=%d", c.MaxWaiting, c.Repeat)
		if c.Text != "" {
			s += " music=" + strconv.Quote(c.Text)
		}
		if c.Announcement != NoPrompt {
			s += fmt.Sprintf(" announcement=#%d", c.Announcement)
		}
		return s
	default:
		return c.Kind.String() + " " + strconv.Quote(c.Text)
	}
}

func (p *Program) operandString(kind OperandKind, v uint32) string {
	switch kind {
	case OpPrompt, OpUser, OpGroup, OpQueue:
		return "#" + strconv.Itoa(int(v))
	case OpPromptOr:
		if v == NoPrompt {
			return "-"
		}
		return "#" + strconv.Itoa(int(v))
	case OpSeconds:
		return strconv.Itoa(int(v)) + "s"
	case OpFlags:
		if v&FlagRecord != 0 {
			return "record"
		}
		return "-"
	case OpStrategy:
		return Strategy(v).String()
	case OpResult:
		return Result(v).String()
	case OpDigit:
		if v == DigitStar {
			return "'*'"
		}
		return "'" + strconv.Itoa(int(v)) + "'"
	case OpReason:
		return HangupReason(v).String()
	case OpTarget:
		return fmt.Sprintf("-> %04d", p.instrs[v].pc)
	}
	return "?"
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
