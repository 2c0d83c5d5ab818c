// Package vm runs compiled call flows: one small, deterministic machine
// per call.
//
// A flow compiles to a Program: a constant pool (prompts, users, groups,
// queues), a byte string of instructions, and a table that maps each pc to
// the state of the flow it came from, and so to a source range. Every
// instruction is an opcode byte and unsigned-varint operands whose shapes
// are fixed by the opcode table (opcode.go). Every jump goes forward: the
// compiler lays states out in topological order, and the verifier, which
// every loader runs, refuses anything else. A program that verifies
// therefore cannot loop, and its longest path is known before it runs.
//
// A Machine is one call's state: the shared program, a program counter,
// the last result and a few counters. It has no goroutines, does no I/O
// and reads no clock. Step runs control-flow instructions until it meets
// an effect (answer, play, gather, ring, queue, record, hang up) and
// returns it; the host performs the effect and calls Resume with the
// result. The same machine runs under the SIP runtime, `callflow
// simulate` and the tests. Hooks observe every effect and result, and may
// stop the call.
//
// The package imports the standard library only.
package vm

// Version is the encoding version. It changes whenever the opcode table
// or the binary layout changes, so that an old store refuses to run a
// program it would misread.
const Version = 1

// EffectKind is what the host is asked to do.
type EffectKind uint8

const (
	EffectNone EffectKind = iota // control flow; never returned by Step
	EffectAnswer
	EffectPlay
	EffectGather
	EffectRingUser
	EffectQueue
	EffectRingGroup
	EffectRecord
	EffectHangup
)

var effectNames = [...]string{"none", "answer", "play", "gather", "ring-user", "queue", "ring-group", "record", "hangup"}

func (k EffectKind) String() string {
	if int(k) < len(effectNames) {
		return effectNames[k]
	}
	return "illegal"
}

// Result is how the host's effect ended.
type Result uint8

const (
	ResultNone        Result = iota // no effect has completed yet
	ResultDone                      // the answer or prompt completed
	ResultDigit                     // the caller pressed a key (see Machine.Digit)
	ResultTimeout                   // the effect's time limit passed
	ResultAnswered                  // a user answered; the bridged call has ended
	ResultBusy                      // the user is on another call
	ResultUnavailable               // the user or every member is unreachable
	ResultAllBusy                   // every reachable member is on a call
	ResultAvailable                 // the queued-for user became free
	ResultFull                      // the queue already holds max_waiting callers
	ResultSaved                     // the voicemail message was saved
	ResultNotSaved                  // the message was not saved: storage is full (S7)
	ResultHungUp                    // the caller hung up
	numResults
)

func (k ConstKind) String() string {
	switch k {
	case ConstSay:
		return "say"
	case ConstPlay:
		return "play"
	case ConstUser:
		return "user"
	case ConstGroup:
		return "group"
	case ConstQueue:
		return "queue"
	}
	return "illegal"
}

var resultNames = [...]string{"none", "done", "digit", "timeout", "answered", "busy", "unavailable", "all-busy", "available", "full", "saved", "not-saved", "hung-up"}

func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return "illegal"
}

// ParseResult is the inverse of Result.String.
func ParseResult(s string) (Result, bool) {
	for i, n := range resultNames {
		if n == s && Result(i) != ResultNone {
			return Result(i), true
		}
	}
	return ResultNone, false
}

// ConstKind is the type of a constant.
type ConstKind uint8

const (
	ConstSay   ConstKind = iota + 1 // Text is words for text-to-speech
	ConstPlay                       // Text is a WAV file path or an https URL
	ConstUser                       // Text is a user's name
	ConstGroup                      // Text is a group's name
	ConstQueue                      // MaxWaiting, Announcement, Text (music), Repeat
	numConstKinds
)

// Const is one entry of the constant pool. Effects point into the pool,
// so returning an effect copies no strings.
type Const struct {
	Kind ConstKind
	Text string
	// Queue constants only.
	MaxWaiting   uint32
	Repeat       uint32
	Announcement uint32 // index of a Say or Play constant, or NoPrompt
}

// StateInfo maps code back to the flow: the state whose instructions
// start at PC, and where it is written.
type StateInfo struct {
	Ref   string // "ivr.main"
	PC    uint32 // first instruction of the state
	Range Range
}

// Range is a source range, as the compiler recorded it.
type Range struct {
	Filename                          string
	StartLine, StartColumn, StartByte uint32
	EndLine, EndColumn, EndByte       uint32
}

// String formats the range as file:line,col-col, the form HCL uses.
func (r Range) String() string {
	if r.StartLine == r.EndLine {
		return r.Filename + ":" + itoa(r.StartLine) + "," + itoa(r.StartColumn) + "-" + itoa(r.EndColumn)
	}
	return r.Filename + ":" + itoa(r.StartLine) + "," + itoa(r.StartColumn) + "-" + itoa(r.EndLine) + "," + itoa(r.EndColumn)
}

func itoa(u uint32) string {
	var b [10]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			return string(b[i:])
		}
	}
}

// Program is a compiled flow. It is immutable once verified and is shared
// by every machine that runs it.
type Program struct {
	Flow   string
	Consts []Const
	Code   []byte
	States []StateInfo // sorted by PC; the first starts at 0

	// Set by Verify.
	verified    bool
	instrs      []instr // the decoded code
	longestPath int     // instructions on the longest path from pc 0
}

// LongestPath is the number of instructions on the longest path through
// the program, computed by Verify. No run of the machine executes more.
func (p *Program) LongestPath() int { return p.longestPath }

// StateAt returns the index in p.States of the state that holds pc.
func (p *Program) StateAt(pc int) int {
	lo, hi := 0, len(p.States)
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if int(p.States[mid].PC) <= pc {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// EffectSite is an instruction that asks the host for an effect, with the
// results it can end with (besides ResultHungUp). Coverage tools use it to
// tell which outcomes a set of calls has exercised.
type EffectSite struct {
	PC      uint32
	State   int // index in Program.States
	Kind    EffectKind
	Results []Result // shared with the opcode table; do not modify
}

// EffectSites lists the program's effect sites in code order. The program
// must be verified.
func (p *Program) EffectSites() []EffectSite {
	var sites []EffectSite
	for _, in := range p.instrs {
		info := &opTable[in.op]
		if info.effect == EffectNone || info.effect == EffectHangup {
			continue
		}
		sites = append(sites, EffectSite{PC: in.pc, State: p.StateAt(int(in.pc)), Kind: info.effect, Results: info.results})
	}
	return sites
}
