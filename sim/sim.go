// Package sim runs a compiled flow against a scripted world: the keys a
// caller presses, how each agent answers, what the caller does at the
// voicemail beep. It drives the same vm.Machine the SIP runtime drives,
// with a host that answers each effect from the script instead of the
// network. Run simulates one call (`callflow simulate`); RunTest runs one
// flow test and compares the call with what the test expects (`callflow
// test`).
package sim

import (
	"fmt"
	"slices"
	"strings"

	"github.com/callflow/callflow/ring"
	"github.com/callflow/callflow/vm"
)

// Agent behaviours: how a user answers one ring. Free is not a ring: it
// says that the user, busy before, becomes free while the caller waits in
// the queue; the next ring then takes the behaviour after it.
const (
	Answers     = "answers"
	Busy        = "busy"
	Unavailable = "unavailable"
	NoAnswer    = "no-answer"
	Free        = "free"
)

// Behaviours lists the agent behaviours.
var Behaviours = []string{Answers, Busy, Unavailable, NoAnswer, Free}

// What the caller does at a voicemail beep.
const (
	Leave       = "leave"        // leaves a message: saved
	Silent      = "silent"       // says nothing until the state's time limit
	StorageFull = "storage-full" // leaves a message, but storage is full (S7)
)

// VoicemailActions lists what a caller can do at a voicemail beep.
var VoicemailActions = []string{Leave, Silent, StorageFull}

// World is the script a simulated call follows.
type World struct {
	// Digits are the keys the caller presses, one per menu, in order.
	// When they run out, menus time out.
	Digits string
	// Agents maps a user's name to how they answer each ring, in order;
	// the last behaviour repeats. A user not listed answers.
	Agents map[string][]string
	// Voicemail is what the caller does at a voicemail beep; default Leave.
	Voicemail string
	// QueueFull says that every queue is already full of other callers.
	QueueFull bool
}

// Validate reports the first thing wrong with the script.
func (w World) Validate() error {
	for _, r := range w.Digits {
		if !(r >= '0' && r <= '9') && r != '*' {
			return fmt.Errorf("digit %q is not a key: use 0-9 and *", r)
		}
	}
	for user, bs := range w.Agents {
		if len(bs) == 0 {
			return fmt.Errorf("agent %s has no behaviour", user)
		}
		for _, b := range bs {
			if !slices.Contains(Behaviours, b) {
				return fmt.Errorf("agent %s: %q is not a behaviour; use %s", user, b, strings.Join(Behaviours, ", "))
			}
		}
	}
	if w.Voicemail != "" && !slices.Contains(VoicemailActions, w.Voicemail) {
		return fmt.Errorf("voicemail %q is not an action; use %s", w.Voicemail, strings.Join(VoicemailActions, ", "))
	}
	return nil
}

// Directory tells the simulation who is in a group, in ring order.
type Directory interface {
	Members(group string) []string
}

// Step is one effect of the call and how the world answered it.
type Step struct {
	State  string    `json:"state"`
	Effect string    `json:"effect"`
	Text   string    `json:"text"`
	Result string    `json:"result,omitempty"`
	Digit  string    `json:"digit,omitempty"`
	Note   string    `json:"note,omitempty"`
	effect vm.Effect // for the bounds of a step, in tests
}

// Trace is what happened on one simulated call.
type Trace struct {
	Flow  string   `json:"flow"`
	Steps []Step   `json:"steps"`
	Path  []string `json:"path"`
	// Ending is the hang-up reason: flow-end, connected, message,
	// no-message or caller-hung-up.
	Ending string `json:"ending"`
	// ConnectedTo is who answered, when Ending is connected: "user.dana",
	// or "group.tech" with AnsweredBy naming the member.
	ConnectedTo string `json:"connected_to,omitempty"`
	AnsweredBy  string `json:"answered_by,omitempty"`
}

// Run simulates one call of p in world w. Extra hooks observe the machine
// as the runtime's would.
func Run(p *vm.Program, dir Directory, w World, hooks ...vm.Hook) (*Trace, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	h := &host{world: w, dir: dir, rings: map[string]int{}}
	var m vm.Machine
	if err := m.Init(p, hooks); err != nil {
		return nil, err
	}
	t := &Trace{Flow: p.Flow, Steps: []Step{}, Path: []string{}}
	for {
		e, err := m.Step()
		if err != nil {
			return nil, err
		}
		state := p.States[e.State].Ref
		if len(t.Path) == 0 || t.Path[len(t.Path)-1] != state {
			t.Path = append(t.Path, state)
		}
		step := Step{State: state, Effect: e.Kind.String(), Text: Describe(e), effect: e}
		if e.Kind == vm.EffectHangup {
			step.Note = e.Reason.String()
			t.Steps = append(t.Steps, step)
			t.Ending = e.Reason.String()
			if e.Reason == vm.ReasonConnected {
				t.ConnectedTo, t.AnsweredBy = h.connectedTo, h.answeredBy
			}
			return t, nil
		}
		r, digit, note := h.answer(e)
		step.Result, step.Note = r.String(), note
		if r == vm.ResultDigit {
			step.Digit = keyString(digit)
		}
		t.Steps = append(t.Steps, step)
		if err := m.Resume(r, digit); err != nil {
			return nil, fmt.Errorf("simulated host: %w", err)
		}
	}
}

// host answers effects from the script.
type host struct {
	world       World
	dir         Directory
	digit       int            // next key in world.Digits
	rings       map[string]int // rings so far, per user
	lastRung    string         // the user the most recent ring-user effect rang
	connectedTo string
	answeredBy  string
}

// next returns user's next scripted behaviour without consuming it. The
// last behaviour repeats; a user not scripted answers.
func (h *host) next(user string) string {
	bs, ok := h.world.Agents[user]
	if !ok {
		return Answers
	}
	return bs[min(h.rings[user], len(bs)-1)]
}

// ring consumes one ring of user and returns its behaviour. A Free that
// no queue consumed is passed over.
func (h *host) ring(user string) string {
	b := h.next(user)
	h.rings[user]++
	if b == Free {
		if b = h.next(user); b == Free {
			b = Answers // the script ends in free: the user answers
		}
		h.rings[user]++
	}
	return b
}

func (h *host) answer(e vm.Effect) (vm.Result, uint8, string) {
	switch e.Kind {
	case vm.EffectGather:
		if h.digit >= len(h.world.Digits) {
			return vm.ResultTimeout, 0, "no key pressed"
		}
		k := h.world.Digits[h.digit]
		h.digit++
		if k == '*' {
			return vm.ResultDigit, vm.DigitStar, ""
		}
		return vm.ResultDigit, k - '0', ""
	case vm.EffectRingUser:
		user := e.Target.Text
		h.lastRung = user
		o := outcomeOf(h.ring(user))
		note := map[ring.Outcome]string{
			ring.Answered:    user + " answered",
			ring.Busy:        user + " is on another call",
			ring.Unavailable: user + " is unavailable",
			ring.NoAnswer:    user + " did not answer",
		}[o]
		if o == ring.Answered {
			h.connectedTo, h.answeredBy = "user."+user, user
		}
		return ring.UserResult(o), 0, note
	case vm.EffectQueue:
		// The queue is for the user the state rang; the world says
		// whether that user is still busy at the next ring.
		user := h.lastRung
		if h.world.QueueFull {
			return vm.ResultFull, 0, "the queue is full"
		}
		switch h.next(user) {
		case Busy:
			return vm.ResultTimeout, 0, user + " stayed busy through the hold music"
		case Free:
			h.rings[user]++
		}
		return vm.ResultAvailable, 0, user + " became free"
	case vm.EffectRingGroup:
		return h.ringGroup(e)
	case vm.EffectRecord:
		switch h.world.Voicemail {
		case Silent:
			return vm.ResultTimeout, 0, "caller said nothing"
		case StorageFull:
			return vm.ResultNotSaved, 0, "storage full: message not saved"
		default:
			return vm.ResultSaved, 0, "message saved"
		}
	}
	return vm.ResultDone, 0, ""
}

// ringGroup rings a group by the runtime's rules (package ring): each
// member's scripted behaviour says whether they are logged in, busy, or
// how they answer; the members are rung in ring.Order (the directory's
// order stands for the login order), and the first to answer takes the
// call.
func (h *host) ringGroup(e vm.Effect) (vm.Result, uint8, string) {
	group := e.Target.Text
	names := h.dir.Members(group)
	members := make([]ring.Member, len(names))
	answers := map[string]bool{}
	for i, user := range names {
		b := h.ring(user)
		members[i] = ring.Member{Name: user, LoggedIn: b != Unavailable, Busy: b == Busy}
		answers[user] = b == Answers
	}
	order, tally := ring.Order(members, e.Strategy == vm.Sequential)
	for _, user := range order {
		if answers[user] {
			tally.Add(ring.Answered)
			h.connectedTo, h.answeredBy = "group."+group, user
			return tally.Result(), 0, user + " answered for group " + group
		}
		tally.Add(ring.NoAnswer)
	}
	r := tally.Result()
	switch r {
	case vm.ResultUnavailable:
		return r, 0, "no member of " + group + " is available"
	case vm.ResultAllBusy:
		return r, 0, "every available member of " + group + " is busy"
	}
	return r, 0, "nobody in " + group + " answered"
}

// outcomeOf is what a scripted behaviour means as the outcome of a ring.
func outcomeOf(b string) ring.Outcome {
	switch b {
	case Answers:
		return ring.Answered
	case Busy:
		return ring.Busy
	case Unavailable:
		return ring.Unavailable
	}
	return ring.NoAnswer
}

func keyString(d uint8) string {
	if d == vm.DigitStar {
		return "*"
	}
	return string(rune('0' + d))
}

// Describe says what an effect asks for, in words.
func Describe(e vm.Effect) string {
	switch e.Kind {
	case vm.EffectAnswer:
		return "answer the call"
	case vm.EffectPlay:
		return promptText(e.Prompt)
	case vm.EffectGather:
		return fmt.Sprintf("%s and read one key (%ds)", promptText(e.Prompt), e.Timeout)
	case vm.EffectRingUser:
		return fmt.Sprintf("ring user %s for %ds%s", e.Target.Text, e.Timeout, recorded(e.Record))
	case vm.EffectQueue:
		q := e.Target
		s := fmt.Sprintf("queue (at most %d waiting)", q.MaxWaiting)
		if q.Text != "" {
			s += fmt.Sprintf(", music %q ×%d", q.Text, q.Repeat)
		}
		return s
	case vm.EffectRingGroup:
		return fmt.Sprintf("ring group %s, %s, %ds%s", e.Target.Text, e.Strategy, e.Timeout, recorded(e.Record))
	case vm.EffectRecord:
		s := fmt.Sprintf("record a message of up to %ds (state limit %ds)", e.MaxLength, e.Timeout)
		if e.Prompt != nil {
			s = promptText(e.Prompt) + ", beep, " + s
		}
		return s
	case vm.EffectHangup:
		return "hang up"
	}
	return e.Kind.String()
}

func promptText(c *vm.Const) string {
	if c == nil {
		return "nothing"
	}
	if c.Kind == vm.ConstSay {
		return fmt.Sprintf("say %q", c.Text)
	}
	return fmt.Sprintf("play %q", c.Text)
}

func recorded(r bool) string {
	if r {
		return ", recorded"
	}
	return ""
}

// Expect is what a flow test expects of a call.
type Expect struct {
	Path        []string // the states, in order; checked when PathSet
	PathSet     bool
	Ending      string // a hang-up reason, such as "message"
	ConnectedTo string // "user.NAME" or "group.NAME"; checked when set
}

// Mismatch is one way a trace differs from what was expected.
type Mismatch struct {
	Field string `json:"field"`
	Want  string `json:"want"`
	Got   string `json:"got"`
}

// Compare lists the ways t differs from e; none means the test passes.
func (t *Trace) Compare(e Expect) []Mismatch {
	var ms []Mismatch
	if e.PathSet && strings.Join(e.Path, " → ") != strings.Join(t.Path, " → ") {
		ms = append(ms, Mismatch{"path", strings.Join(e.Path, " → "), strings.Join(t.Path, " → ")})
	}
	if e.Ending != t.Ending {
		ms = append(ms, Mismatch{"ending", e.Ending, t.Ending})
	}
	if e.ConnectedTo != "" && e.ConnectedTo != t.ConnectedTo && e.ConnectedTo != "user."+t.AnsweredBy {
		got := t.ConnectedTo
		if t.AnsweredBy != "" && got != "user."+t.AnsweredBy {
			got += " (answered by user." + t.AnsweredBy + ")"
		}
		if got == "" {
			got = "nobody"
		}
		ms = append(ms, Mismatch{"connected_to", e.ConnectedTo, got})
	}
	return ms
}
