package vm

import (
	"encoding/binary"
	"fmt"
)

// Asm assembles a program. The compiler emits instructions with symbolic
// labels for jump targets; Program lays them out, sizes the varint
// operands, resolves the labels and verifies the result.
type Asm struct {
	flow   string
	consts []Const
	index  map[Const]uint32 // dedupes constants
	code   []asmInstr
	labels []int // label → index in code, -1 until bound
	states []asmState
}

type asmInstr struct {
	op     Opcode
	args   [4]uint32
	label  Label // for the OpTarget operand; noLabel when none
	target int   // which operand is the target
}

type asmState struct {
	ref   string
	rng   Range
	first int // index in code
}

// Label names a jump target before its position is known.
type Label int

const noLabel Label = -1

// NewAsm starts a program for the named flow.
func NewAsm(flow string) *Asm {
	return &Asm{flow: flow, index: map[Const]uint32{}}
}

// Const adds c to the pool, once, and returns its index.
func (a *Asm) Const(c Const) uint32 {
	if i, ok := a.index[c]; ok {
		return i
	}
	i := uint32(len(a.consts))
	a.consts = append(a.consts, c)
	a.index[c] = i
	return i
}

// State starts a state: the instructions emitted from now on belong to it.
func (a *Asm) State(ref string, rng Range) {
	a.states = append(a.states, asmState{ref: ref, rng: rng, first: len(a.code)})
}

// NewLabel returns a label to bind later.
func (a *Asm) NewLabel() Label {
	a.labels = append(a.labels, -1)
	return Label(len(a.labels) - 1)
}

// Bind places label l at the next instruction emitted.
func (a *Asm) Bind(l Label) { a.labels[l] = len(a.code) }

// Emit adds an instruction without a jump target.
func (a *Asm) Emit(op Opcode, args ...uint32) {
	in := asmInstr{op: op, label: noLabel}
	copy(in.args[:], args)
	a.code = append(a.code, in)
}

// EmitJump adds an instruction whose last operand is a jump to l; args
// are the operands before it.
func (a *Asm) EmitJump(op Opcode, l Label, args ...uint32) {
	in := asmInstr{op: op, label: l, target: len(args)}
	copy(in.args[:], args)
	a.code = append(a.code, in)
}

// Program assembles and verifies the program.
func (a *Asm) Program() (*Program, error) {
	for l, at := range a.labels {
		if at < 0 {
			return nil, fmt.Errorf("vm: assemble %s: label %d never bound", a.flow, l)
		}
	}
	// Offsets depend on the sizes of target operands, which depend on the
	// offsets. Sizes only grow, so iterating to a fixed point terminates.
	offsets := make([]uint32, len(a.code)+1)
	for changed := true; changed; {
		changed = false
		var pc uint32
		for i := range a.code {
			if offsets[i] != pc {
				offsets[i], changed = pc, true
			}
			pc += uint32(len(a.encode(i, offsets)))
		}
		if offsets[len(a.code)] != pc {
			offsets[len(a.code)], changed = pc, true
		}
	}
	p := &Program{Flow: a.flow, Consts: a.consts}
	for i := range a.code {
		p.Code = append(p.Code, a.encode(i, offsets)...)
	}
	for _, s := range a.states {
		p.States = append(p.States, StateInfo{Ref: s.ref, PC: offsets[s.first], Range: s.rng})
	}
	if err := p.Verify(); err != nil {
		return nil, fmt.Errorf("vm: assemble %s: %w", a.flow, err)
	}
	return p, nil
}

func (a *Asm) encode(i int, offsets []uint32) []byte {
	in := a.code[i]
	if in.label != noLabel {
		in.args[in.target] = offsets[a.labels[in.label]]
	}
	b := []byte{byte(in.op)}
	for j := range opTable[in.op].operands {
		b = binary.AppendUvarint(b, uint64(in.args[j]))
	}
	return b
}
