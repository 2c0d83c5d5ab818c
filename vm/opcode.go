package vm

// Opcode is one instruction of the flow VM. An instruction is its opcode
// byte followed by its operands, each an unsigned varint. The operand
// shapes are fixed per opcode by the table below, which the encoder, the
// verifier and the disassembler all read; it is the only place they are
// written down.
type Opcode uint8

// The opcodes. Each comment gives the operands and the effect: what the
// host is asked to do and which results it may resume the machine with.
// Every effect may also end with ResultHungUp, which ends the machine.
const (
	// ANSWER — answer the call.
	// results: Done
	ANSWER Opcode = iota

	// PLAY prompt — play a prompt to its end.
	// results: Done
	PLAY

	// GATHER prompt timeout — play the prompt, which a key press stops, then
	// wait up to timeout seconds after it for one key.
	// results: Digit, Timeout
	GATHER

	// RING_USER user timeout flags — ring the user's phone for up to
	// timeout seconds; when it answers, bridge the call until it ends.
	// results: Answered, Timeout, Busy, Unavailable
	RING_USER

	// QUEUE queue — hold the caller for a busy user: play the queue's
	// announcement, then its music up to its repeat count, until the user
	// is free.
	// results: Available (the user is free), Timeout (music ran out),
	// Full (max_waiting callers are already waiting)
	QUEUE

	// RING_GROUP group strategy timeout flags — ring the group's members,
	// all at once (parallel) or one at a time for timeout seconds each
	// (sequential); bridge the first to answer.
	// results: Answered, Timeout, Unavailable, AllBusy
	RING_GROUP

	// RECORD prompt maxlength timeout — play the prompt (if any) and a
	// beep, then record a message of up to maxlength seconds, ending on #;
	// the whole state is limited to timeout seconds.
	// results: Saved, NotSaved (storage full), Timeout
	RECORD

	// HANGUP reason — end the call. The machine stops here.
	HANGUP

	// JUMP target — continue at target.
	JUMP

	// IF_RESULT result target — continue at target if the last result is
	// result, else at the next instruction.
	IF_RESULT

	// IF_DIGIT digit target — continue at target if the last result is the
	// key digit (0–9, or 10 for *), else at the next instruction.
	IF_DIGIT

	numOpcodes
)

// OperandKind says what an operand means, so that the verifier can check
// it and the disassembler can print it.
type OperandKind uint8

const (
	OpPrompt   OperandKind = iota + 1 // index of a Say or Play constant
	OpPromptOr                        // index of a Say or Play constant, or NoPrompt
	OpUser                            // index of a User constant
	OpGroup                           // index of a Group constant
	OpQueue                           // index of a Queue constant
	OpSeconds                         // a duration, 1 to MaxSeconds
	OpFlags                           // flag bits, FlagRecord
	OpStrategy                        // Parallel or Sequential
	OpResult                          // a Result
	OpDigit                           // 0–9, or DigitStar
	OpReason                          // a HangupReason
	OpTarget                          // a pc after this instruction
)

// opInfo describes one opcode.
type opInfo struct {
	name     string
	operands []OperandKind
	effect   EffectKind // EffectNone for control flow
	results  []Result   // the results the host may resume with
	terminal bool       // execution never falls through to the next instruction
}

var opTable = [numOpcodes]opInfo{
	ANSWER:     {name: "ANSWER", effect: EffectAnswer, results: []Result{ResultDone}},
	PLAY:       {name: "PLAY", operands: []OperandKind{OpPrompt}, effect: EffectPlay, results: []Result{ResultDone}},
	GATHER:     {name: "GATHER", operands: []OperandKind{OpPrompt, OpSeconds}, effect: EffectGather, results: []Result{ResultDigit, ResultTimeout}},
	RING_USER:  {name: "RING_USER", operands: []OperandKind{OpUser, OpSeconds, OpFlags}, effect: EffectRingUser, results: []Result{ResultAnswered, ResultTimeout, ResultBusy, ResultUnavailable}},
	QUEUE:      {name: "QUEUE", operands: []OperandKind{OpQueue}, effect: EffectQueue, results: []Result{ResultAvailable, ResultTimeout, ResultFull}},
	RING_GROUP: {name: "RING_GROUP", operands: []OperandKind{OpGroup, OpStrategy, OpSeconds, OpFlags}, effect: EffectRingGroup, results: []Result{ResultAnswered, ResultTimeout, ResultUnavailable, ResultAllBusy}},
	RECORD:     {name: "RECORD", operands: []OperandKind{OpPromptOr, OpSeconds, OpSeconds}, effect: EffectRecord, results: []Result{ResultSaved, ResultNotSaved, ResultTimeout}},
	HANGUP:     {name: "HANGUP", operands: []OperandKind{OpReason}, effect: EffectHangup, terminal: true},
	JUMP:       {name: "JUMP", operands: []OperandKind{OpTarget}, terminal: true},
	IF_RESULT:  {name: "IF_RESULT", operands: []OperandKind{OpResult, OpTarget}},
	IF_DIGIT:   {name: "IF_DIGIT", operands: []OperandKind{OpDigit, OpTarget}},
}

// String returns the opcode's name.
func (op Opcode) String() string {
	if op < numOpcodes {
		return opTable[op].name
	}
	return "ILLEGAL"
}

// Operand values.
const (
	NoPrompt  = 1<<32 - 1 // OpPromptOr: the state has no prompt
	DigitStar = 10        // OpDigit: the * key

	FlagRecord = 1 << 0 // OpFlags: record the bridged call (S10)
	allFlags   = FlagRecord

	MaxSeconds = 3600 // OpSeconds: no single wait is longer than an hour
)

// Strategy is how a group is rung (S19).
type Strategy uint8

const (
	Parallel   Strategy = iota // every member at once
	Sequential                 // one at a time, in login order
	numStrategies
)

func (s Strategy) String() string {
	switch s {
	case Parallel:
		return "parallel"
	case Sequential:
		return "sequential"
	}
	return "illegal"
}

// HangupReason says why the flow ended the call.
type HangupReason uint8

const (
	ReasonFlowEnd   HangupReason = iota // the flow has nothing more to do
	ReasonConnected                     // a user or group answered and the bridged call ended
	ReasonMessage                       // the caller left a voicemail
	ReasonNoMessage                     // voicemail ended with nothing saved
	numCodeReasons                      // the reasons above may appear in code
)

// Reasons the machine gives itself; they never appear in code.
const (
	ReasonCallerHungUp = numCodeReasons + iota // the caller hung up
	ReasonStopped                              // a hook stopped the call; see Machine.Err
)

func (r HangupReason) String() string {
	switch r {
	case ReasonFlowEnd:
		return "flow-end"
	case ReasonConnected:
		return "connected"
	case ReasonMessage:
		return "message"
	case ReasonNoMessage:
		return "no-message"
	case ReasonCallerHungUp:
		return "caller-hung-up"
	case ReasonStopped:
		return "stopped"
	}
	return "illegal"
}
