package compiler

import (
	"fmt"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"

	"github.com/callflow/callflow/lang"
	"github.com/callflow/callflow/vm"
)

// Lower compiles a checked flow to a verified program.
//
// States are laid out in topological order from the start (Flow.Order),
// so every connection is a forward jump. The program answers the call
// first. Each state then emits its effect and one branch per outcome; an
// outcome with no connection ends the call there. An IVR key with no
// connection falls through to the time-out branch, which never loops
// back to replay the menu (S24). See docs/vm.md for the whole mapping.
func Lower(f *Flow) (*vm.Program, error) {
	if f.Order == nil {
		return nil, fmt.Errorf("flow %q cannot be compiled: it has errors (run validate)", f.Name)
	}
	l := &lowerer{asm: vm.NewAsm(f.Name), flow: f, labels: map[*lang.State]vm.Label{}}
	for _, s := range f.Order {
		l.labels[s] = l.asm.NewLabel()
	}
	for i, s := range f.Order {
		l.asm.State(s.Ref(), vmRange(s.DeclRange, f.Root))
		l.asm.Bind(l.labels[s])
		if i == 0 {
			l.asm.Emit(vm.ANSWER)
		}
		l.next = nil
		if i+1 < len(f.Order) {
			l.next = f.Order[i+1]
		}
		l.state(s)
	}
	return l.asm.Program()
}

// LowerAll compiles every flow of a model that has no errors, by name.
func LowerAll(m *Model) (map[string]*vm.Program, error) {
	progs := make(map[string]*vm.Program, len(m.Flows))
	for name, f := range m.Flows {
		p, err := Lower(f)
		if err != nil {
			return nil, err
		}
		progs[name] = p
	}
	return progs, nil
}

type lowerer struct {
	asm    *vm.Asm
	flow   *Flow
	labels map[*lang.State]vm.Label
	next   *lang.State // the state laid out after the current one
	ends   []end       // hang-ups the current state still has to emit
}

// end is a hang-up at the end of the current state's code, emitted once
// for however many branches lead to it.
type end struct {
	reason vm.HangupReason
	label  vm.Label
}

// branch is one outcome of an effect and where it leads: a state, or a
// hang-up with a reason when to is nil.
type branch struct {
	result vm.Result
	to     *lang.State
	reason vm.HangupReason
}

func (l *lowerer) state(s *lang.State) {
	l.ends = l.ends[:0]
	switch s.Kind {
	case lang.Announce:
		l.asm.Emit(vm.PLAY, l.prompt(s.Prompt))
		l.goTo(l.conn(s, "next"), vm.ReasonFlowEnd)
	case lang.IVR:
		l.asm.Emit(vm.GATHER, l.prompt(s.Prompt), uint32(s.IVR.Timeout.Value))
		for _, c := range s.Conns {
			if c.Outcome == "key" {
				l.asm.EmitJump(vm.IF_DIGIT, l.labels[l.flow.States[c.Target.String()]], keyDigit(c.Key))
			}
		}
		// A time-out, or a key with no connection.
		l.goTo(l.conn(s, "on_timeout"), vm.ReasonFlowEnd)
	case lang.TransferUser:
		o := s.TransferUser
		user := l.asm.Const(vm.Const{Kind: vm.ConstUser, Text: o.User.Name})
		ring := func() {
			l.asm.Emit(vm.RING_USER, user, uint32(o.RingTimeout.Value), flags(o.Record.Value))
		}
		ring()
		after := []branch{
			{result: vm.ResultAnswered, reason: vm.ReasonConnected},
			{result: vm.ResultTimeout, to: l.conn(s, "on_timeout")},
			{result: vm.ResultUnavailable, to: l.conn(s, "on_unavailable")},
		}
		busy := l.conn(s, "on_busy")
		if q := o.Queue; q != nil {
			// Busy: wait in the queue, then ring once more if the user
			// became free. Every other queue outcome is busy.
			l.branches(after)
			l.asm.Emit(vm.QUEUE, l.queue(q))
			l.branches([]branch{{result: vm.ResultFull, to: busy}, {result: vm.ResultTimeout, to: busy}})
			ring()
		}
		l.branches(after)
		l.goTo(busy, vm.ReasonFlowEnd)
	case lang.TransferGroup:
		o := s.TransferGroup
		strategy := vm.Parallel
		if o.Ring.Value == "sequential" {
			strategy = vm.Sequential
		}
		group := l.asm.Const(vm.Const{Kind: vm.ConstGroup, Text: o.Group.Name})
		l.asm.Emit(vm.RING_GROUP, group, uint32(strategy), uint32(o.RingTimeout.Value), flags(o.Record.Value))
		l.branches([]branch{
			{result: vm.ResultAnswered, reason: vm.ReasonConnected},
			{result: vm.ResultTimeout, to: l.conn(s, "on_timeout")},
			{result: vm.ResultUnavailable, to: l.conn(s, "on_unavailable")},
		})
		l.goTo(l.conn(s, "on_all_busy"), vm.ReasonFlowEnd)
	case lang.Voicemail:
		o := s.Voicemail
		prompt := uint32(vm.NoPrompt)
		if s.Prompt.IsSet() {
			prompt = l.prompt(s.Prompt)
		}
		l.asm.Emit(vm.RECORD, prompt, uint32(o.MaxLength.Value), uint32(o.Timeout.Value))
		l.branches([]branch{
			{result: vm.ResultSaved, reason: vm.ReasonMessage},
			{result: vm.ResultNotSaved, reason: vm.ReasonNoMessage},
		})
		l.goTo(l.conn(s, "on_timeout"), vm.ReasonNoMessage)
	}
	for _, e := range l.ends {
		l.asm.Bind(e.label)
		l.asm.Emit(vm.HANGUP, uint32(e.reason))
	}
}

// conn returns the state an outcome of s leads to, or nil.
func (l *lowerer) conn(s *lang.State, outcome string) *lang.State {
	for _, c := range s.Conns {
		if c.Outcome == outcome {
			return l.flow.States[c.Target.String()]
		}
	}
	return nil
}

// branches emits a conditional jump for each branch.
func (l *lowerer) branches(bs []branch) {
	for _, b := range bs {
		var target vm.Label
		if b.to != nil {
			target = l.labels[b.to]
		} else {
			target = l.endLabel(b.reason)
		}
		l.asm.EmitJump(vm.IF_RESULT, target, uint32(b.result))
	}
}

// goTo ends the current path: a jump to state to, nothing when to is laid
// out next, or a hang-up when to is nil.
func (l *lowerer) goTo(to *lang.State, reason vm.HangupReason) {
	switch {
	case to == nil:
		// A branch may already wait for the same hang-up: place it here.
		for i, e := range l.ends {
			if e.reason == reason {
				l.asm.Bind(e.label)
				l.ends = append(l.ends[:i], l.ends[i+1:]...)
				break
			}
		}
		l.asm.Emit(vm.HANGUP, uint32(reason))
	case to == l.next && len(l.ends) == 0:
		// Fall through into the next state. (Not when hang-ups follow:
		// they are laid out between this state and the next.)
	default:
		l.asm.EmitJump(vm.JUMP, l.labels[to])
	}
}

// endLabel returns the label of the current state's hang-up for reason.
func (l *lowerer) endLabel(reason vm.HangupReason) vm.Label {
	for _, e := range l.ends {
		if e.reason == reason {
			return e.label
		}
	}
	e := end{reason: reason, label: l.asm.NewLabel()}
	l.ends = append(l.ends, e)
	return e.label
}

func (l *lowerer) prompt(p lang.Prompt) uint32 {
	if p.Say.Set {
		return l.asm.Const(vm.Const{Kind: vm.ConstSay, Text: p.Say.Value})
	}
	return l.asm.Const(vm.Const{Kind: vm.ConstPlay, Text: p.Play.Value})
}

func (l *lowerer) queue(q *lang.Queue) uint32 {
	c := vm.Const{Kind: vm.ConstQueue, MaxWaiting: uint32(q.MaxWaiting.Value), Repeat: uint32(q.Repeat.Value), Text: q.Music.Value, Announcement: vm.NoPrompt}
	if q.Prompt.IsSet() {
		c.Announcement = l.prompt(q.Prompt)
	}
	return l.asm.Const(c)
}

func keyDigit(key string) uint32 {
	if key == "*" {
		return vm.DigitStar
	}
	return uint32(key[0] - '0')
}

func flags(record bool) uint32 {
	if record {
		return vm.FlagRecord
	}
	return 0
}

// vmRange converts a source range, naming its file relative to root, so
// that a program is the same wherever the repository is checked out.
func vmRange(r hcl.Range, root string) vm.Range {
	name := r.Filename
	if root != "" {
		if rel, err := filepath.Rel(root, name); err == nil {
			name = filepath.ToSlash(rel)
		}
	}
	return vm.Range{
		Filename:  name,
		StartLine: uint32(r.Start.Line), StartColumn: uint32(r.Start.Column), StartByte: uint32(r.Start.Byte),
		EndLine: uint32(r.End.Line), EndColumn: uint32(r.End.Column), EndByte: uint32(r.End.Byte),
	}
}
