package vm

import "errors"

// Effect is what Step asks the host to do. Pointers point into the shared
// program, so an Effect is cheap to copy and costs no allocation.
type Effect struct {
	Kind      EffectKind
	Strategy  Strategy     // RingGroup
	Record    bool         // RingUser, RingGroup: record the bridged call (S10)
	Reason    HangupReason // Hangup
	State     int          // index in Program.States of the state it comes from
	PC        uint32       // byte offset of the instruction
	Timeout   uint32       // seconds: Gather (after the prompt), RingUser, RingGroup (per member when sequential), Record (the whole state)
	MaxLength uint32       // Record: seconds of message
	Prompt    *Const       // Play, Gather; Record when it has a prompt; else nil
	Target    *Const       // RingUser: the user; RingGroup: the group; Queue: the queue
}

// Hook observes a machine. The billing meter, call records, tracing and
// metrics are hooks. Hooks run synchronously inside Step and Resume, in
// the order given, and must not call Step or Resume themselves.
//
// A hook stops the call by returning an error: the machine then ends with
// a hang-up whose reason is ReasonStopped, and Machine.Err returns the
// error. Returning a sentinel error value keeps the steady path free of
// allocations.
type Hook interface {
	// OnEffect sees each effect before Step returns it. If a hook stops
	// the call here, every hook then sees the hang-up that replaces it.
	OnEffect(m *Machine, e *Effect) error
	// OnResult sees each result Resume accepts, with the effect it ends.
	OnResult(m *Machine, e *Effect, r Result) error
}

// Errors a host can get from Step and Resume. They are programming errors
// in the host, not conditions of the call.
var (
	ErrNotVerified     = errors.New("vm: program has not been verified")
	ErrAwaitingResult  = errors.New("vm: Step called while an effect awaits its result")
	ErrNotAwaiting     = errors.New("vm: Resume called with no effect awaiting a result")
	ErrEnded           = errors.New("vm: the machine has ended")
	ErrResult          = errors.New("vm: result not possible for the awaiting effect")
	ErrDigit           = errors.New("vm: digit out of range")
	ErrBudgetExhausted = errors.New("vm: step budget exhausted") // cannot happen for a verified program
)

type status uint8

const (
	running status = iota
	awaiting
	hungUp // the caller hung up; the next Step returns the final hang-up
	ended
)

// Machine is one call's state. The zero value is not usable; call Init.
// A Machine is not safe for concurrent use; one goroutine drives a call.
type Machine struct {
	prog    *Program // shared, verified, never modified
	hooks   []Hook   // shared, never modified by the machine
	stopErr error    // set when a hook stopped the call
	pending Effect   // the last effect returned: awaiting its result when status is awaiting
	pc      uint32   // index in prog.instrs of the next instruction
	steps   uint32   // instructions executed; at most prog.longestPath
	status  status
	result  Result // the last result
	digit   uint8  // the last key when result is ResultDigit; DigitStar for *
}

// Init prepares m to run p from the start. It allocates nothing, so that
// a host can keep machines in a pool.
func (m *Machine) Init(p *Program, hooks []Hook) error {
	if p == nil || !p.verified {
		return ErrNotVerified
	}
	*m = Machine{prog: p, hooks: hooks}
	return nil
}

// Program returns the program m runs.
func (m *Machine) Program() *Program { return m.prog }

// Steps returns the number of instructions executed so far.
func (m *Machine) Steps() int { return int(m.steps) }

// State returns the index in Program.States of the state m is in.
func (m *Machine) State() int { return m.pending.State }

// Ended reports whether the machine has returned its final hang-up.
func (m *Machine) Ended() bool { return m.status == ended }

// Err returns the error with which a hook stopped the call, or nil.
func (m *Machine) Err() error { return m.stopErr }

// LastResult returns the last result and, for ResultDigit, the key.
func (m *Machine) LastResult() (Result, uint8) { return m.result, m.digit }

// Step runs until the next effect and returns it. After an effect other
// than EffectHangup the host must call Resume before stepping again. The
// last effect of every call is exactly one EffectHangup.
func (m *Machine) Step() (Effect, error) {
	switch m.status {
	case awaiting:
		return Effect{}, ErrAwaitingResult
	case ended:
		return Effect{}, ErrEnded
	case hungUp:
		return m.finish(m.hangup(ReasonCallerHungUp)), nil
	}
	if m.stopErr != nil {
		return m.finish(m.hangup(ReasonStopped)), nil
	}
	instrs := m.prog.instrs
	for {
		if int(m.steps) >= m.prog.longestPath {
			return Effect{}, ErrBudgetExhausted
		}
		in := &instrs[m.pc]
		m.steps++
		switch in.op {
		case JUMP:
			m.pc = in.args[0]
			continue
		case IF_RESULT:
			if m.result == Result(in.args[0]) {
				m.pc = in.args[1]
			} else {
				m.pc++
			}
			continue
		case IF_DIGIT:
			if m.result == ResultDigit && uint32(m.digit) == in.args[0] {
				m.pc = in.args[1]
			} else {
				m.pc++
			}
			continue
		}
		// Hooks get a pointer to m.pending rather than to a local: a
		// pointer passed through an interface escapes, and a local would
		// then cost an allocation on every step. It also makes a hang-up
		// that stops this effect name this effect's state and pc.
		m.pending = m.effectOf(in)
		m.pc++
		for _, h := range m.hooks {
			if err := h.OnEffect(m, &m.pending); err != nil && m.pending.Kind != EffectHangup {
				m.stopErr = err
				return m.finish(m.hangup(ReasonStopped)), nil
			}
		}
		m.status = awaiting
		if m.pending.Kind == EffectHangup {
			m.status = ended
		}
		return m.pending, nil
	}
}

// hangup builds the final hang-up effect for a reason the machine gives
// itself.
func (m *Machine) hangup(reason HangupReason) Effect {
	return Effect{Kind: EffectHangup, Reason: reason, State: m.pending.State, PC: m.pending.PC}
}

// finish ends the machine with e, which every hook sees; hooks cannot
// stop a call that is already ending.
func (m *Machine) finish(e Effect) Effect {
	m.pending = e
	for _, h := range m.hooks {
		_ = h.OnEffect(m, &m.pending)
	}
	m.status = ended
	return m.pending
}

func (m *Machine) effectOf(in *instr) Effect {
	p := m.prog
	e := Effect{Kind: opTable[in.op].effect, PC: in.pc, State: p.StateAt(int(in.pc))}
	a := in.args
	switch in.op {
	case PLAY:
		e.Prompt = &p.Consts[a[0]]
	case GATHER:
		e.Prompt, e.Timeout = &p.Consts[a[0]], a[1]
	case RING_USER:
		e.Target, e.Timeout, e.Record = &p.Consts[a[0]], a[1], a[2]&FlagRecord != 0
	case QUEUE:
		e.Target = &p.Consts[a[0]]
	case RING_GROUP:
		e.Target, e.Strategy, e.Timeout, e.Record = &p.Consts[a[0]], Strategy(a[1]), a[2], a[3]&FlagRecord != 0
	case RECORD:
		if a[0] != NoPrompt {
			e.Prompt = &p.Consts[a[0]]
		}
		e.MaxLength, e.Timeout = a[1], a[2]
	case HANGUP:
		e.Reason = HangupReason(a[0])
	}
	return e
}

// Resume gives the machine the result of the awaiting effect. digit is
// the key (0–9, DigitStar for *) when r is ResultDigit, and ignored
// otherwise. ResultHungUp is accepted for every effect.
func (m *Machine) Resume(r Result, digit uint8) error {
	if m.status != awaiting {
		if m.status == ended || m.status == hungUp {
			return ErrEnded
		}
		return ErrNotAwaiting
	}
	if !m.accepts(r) {
		return ErrResult
	}
	if r == ResultDigit && digit > DigitStar {
		return ErrDigit
	}
	if r != ResultDigit {
		digit = 0
	}
	m.result, m.digit = r, digit
	m.status = running
	if r == ResultHungUp {
		m.status = hungUp
	}
	for _, h := range m.hooks {
		if err := h.OnResult(m, &m.pending, r); err != nil && m.stopErr == nil && r != ResultHungUp {
			m.stopErr = err
		}
	}
	return nil
}

func (m *Machine) accepts(r Result) bool {
	if r == ResultHungUp {
		return true
	}
	for _, ok := range opTable[m.prog.instrs[m.pc-1].op].results {
		if r == ok {
			return true
		}
	}
	return false
}
