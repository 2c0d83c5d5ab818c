package compiler

import (
	"fmt"
	"slices"
	"strings"

	"github.com/callflow/callflow/lang"
)

// Limits of the connection rules (S20, S24) and the bounds on timings and
// sizes. They are exported so that documentation and tests quote them.
const (
	MaxConnectionsInto = 10  // S24: connections that lead into one state
	MaxIVRKeys         = 11  // S20, S24: keys 0–9 and *
	MinRingTimeout     = 5   // seconds; less cannot reach a phone
	MaxRingTimeout     = 300 // seconds
	MaxIVRTimeout      = 60  // seconds
	MaxQueueWaiting    = 100 // callers
	MaxQueueRepeat     = 20  // plays of the hold music
	MaxVoicemailState  = 600 // seconds: a voicemail state's own time limit
)

// GroupRings are the ways a group can be rung (S19).
var GroupRings = []string{"parallel", "sequential"}

// AllowedOutcomes lists, for each kind, the connection attributes it may
// hold. IVR keys are separate.
var AllowedOutcomes = map[lang.StateKind][]string{
	lang.Announce:      {"next"},
	lang.IVR:           {"on_timeout"},
	lang.TransferUser:  {"on_timeout", "on_unavailable", "on_busy"},
	lang.TransferGroup: {"on_timeout", "on_unavailable", "on_all_busy"},
	lang.Voicemail:     {"on_timeout"},
}

func (c *checker) checkFlow(f *Flow) {
	// Declare the states. A state is named by its kind and name together
	// (voicemail.sales and transfer_user.sales are two states), as every
	// reference to it is written.
	for _, s := range f.Flow.States {
		if prev, ok := f.States[s.Ref()]; ok {
			c.errorf(s.NameRange, "Duplicate state name",
				"Flow %q already has %s state named %q, at %s. Rename one of them.", f.Name, article(string(s.Kind)), s.Name, prev.NameRange)
			continue
		}
		if !validName(s.Name) {
			c.errorf(s.NameRange, "Invalid name",
				"%q cannot be used as a state name, because references are written %s.NAME. A name starts with a letter or underscore and holds letters, digits, underscores and dashes.", s.Name, s.Kind)
		}
		f.States[s.Ref()] = s
	}

	if f.Description.Set && strings.TrimSpace(f.Description.Value) == "" {
		c.warnf(f.Description.Range, "Empty description", "Write a sentence that tells the next administrator what flow %q is for, or remove the argument.", f.Name)
	}
	if len(f.Numbers) == 0 {
		c.warnf(f.NameRange, "Flow has no numbers",
			"Flow %q answers no number, so no call can reach it. Add numbers = [number.NAME].", f.Name)
	}
	if len(f.Flow.States) == 0 {
		c.errorf(f.NameRange, "Flow has no states",
			"Flow %q has no states. Add at least one, such as announce \"welcome\" { say = \"Hello.\" }, and connect the start to it.", f.Name)
		return
	}

	var start *lang.State
	if f.Start == nil {
		c.errorf(f.NameRange, "Flow has no start connection",
			"Flow %q must connect its start to exactly one state (S24). Add start = KIND.NAME, such as start = %s.", f.Name, f.Flow.States[0].Ref())
	} else {
		start, _ = c.resolveState(f, *f.Start, "start")
	}

	incoming := map[*lang.State]int{}
	if start != nil {
		incoming[start]++
	}
	for _, s := range f.Flow.States {
		if f.States[s.Ref()] != s {
			continue
		}
		c.checkState(f, s)
		c.checkConnections(f, s, incoming)
	}

	if start == nil {
		return
	}
	if c.checkLoops(f) {
		return
	}
	f.Order = topoOrder(f, start)
	reached := map[*lang.State]bool{}
	for _, s := range f.Order {
		reached[s] = true
	}
	for _, s := range f.Flow.States {
		if f.States[s.Ref()] == s && !reached[s] {
			c.warnf(s.NameRange, "Unreachable state",
				"No path from the start of flow %q leads to %s, so no caller will ever hear it. Connect a state to it, or remove it.", f.Name, s.Ref())
		}
	}
}

// resolveState resolves a reference to a state of flow f.
func (c *checker) resolveState(f *Flow, ref lang.Ref, role string) (*lang.State, bool) {
	if !ref.IsValid() {
		return nil, false
	}
	if !lang.IsStateKind(ref.Kind) {
		c.errorf(ref.Range, "Not a state",
			"%s leads to a state, written KIND.NAME where KIND is one of announce, ivr, transfer_user, transfer_group or voicemail; %s is not a state.", role, ref)
		return nil, false
	}
	if s, ok := f.States[ref.String()]; ok {
		return s, true
	}
	hint := ""
	for _, s := range f.Flow.States {
		if s.Name == ref.Name {
			hint = fmt.Sprintf(" Did you mean %s?", s.Ref())
			break
		}
	}
	if hint == "" {
		refs := make([]string, 0, len(f.States))
		for r := range f.States {
			refs = append(refs, r)
		}
		hint = didYouMean(ref.String(), refs, "")
	}
	c.errorf(ref.Range, "Reference to undeclared state",
		"Flow %q has no %s state named %q.%s", f.Name, ref.Kind, ref.Name, hint)
	return nil, false
}

// checkConnections checks the connections leaving s, and counts those that
// lead into each state.
func (c *checker) checkConnections(f *Flow, s *lang.State, incoming map[*lang.State]int) {
	allowed := AllowedOutcomes[s.Kind]
	keys := map[string]lang.Connection{}
	nkeys := 0
	for _, conn := range s.Conns {
		if conn.Outcome == "key" {
			if s.Kind != lang.IVR {
				c.errorf(conn.KeyRange, "Keys belong to IVR states",
					"%s state does not read keys; only an ivr state has a key menu. Move the key to an ivr state, or use %s.", capital(article(string(s.Kind))), strings.Join(allowed, " or "))
				continue
			}
			nkeys++
			if nkeys > MaxIVRKeys {
				c.errorf(conn.KeyRange, "Too many IVR keys",
					"An IVR menu has at most %d keys, 0–9 and * (S20). Remove this key.", MaxIVRKeys)
			}
			if !validKey(conn.Key) {
				c.errorf(conn.KeyRange, "Invalid IVR key",
					"%q is not a menu key. A key is one of \"0\" to \"9\" or \"*\"; # ends input and cannot be a menu entry.", conn.Key)
				continue
			} else if prev, ok := keys[conn.Key]; ok {
				c.errorf(conn.KeyRange, "Duplicate IVR key",
					"Key %q is already connected at %s. Each key leads to one state; remove one of them.", conn.Key, prev.KeyRange)
				continue
			}
			keys[conn.Key] = conn
		} else if !slices.Contains(allowed, conn.Outcome) {
			rng := conn.Range
			if s.Kind == lang.Voicemail {
				c.errorf(rng, "Voicemail has one exit connection",
					"A voicemail state leaves only through on_timeout, when its time limit passes (S24); after the message is saved the call ends. Remove %s.", conn.Outcome)
			} else {
				c.errorf(rng, fmt.Sprintf("No %s connection on %s", conn.Outcome, s.Kind),
					"%s state connects only through %s.%s", capital(article(string(s.Kind))), strings.Join(allowed, ", "), didYouMean(conn.Outcome, allowed, ""))
			}
			continue
		}
		target, ok := c.resolveState(f, conn.Target, conn.Outcome)
		if !ok {
			continue
		}
		incoming[target]++
		if incoming[target] == MaxConnectionsInto+1 {
			c.errorf(conn.Range, "Too many connections into one state",
				"%s already has %d connections leading into it, the most a state may have (S24). Add another state of the same kind and lead some of the connections there.", target.Ref(), MaxConnectionsInto)
		}
	}
}

func validKey(k string) bool {
	return len(k) == 1 && (k[0] == '*' || (k[0] >= '0' && k[0] <= '9'))
}

// checkState checks the options of one state.
func (c *checker) checkState(f *Flow, s *lang.State) {
	switch s.Kind {
	case lang.Announce:
		c.checkPrompt(s.Prompt, s, true)
	case lang.IVR:
		c.checkPrompt(s.Prompt, s, true)
		c.checkRange(s.IVR.Timeout, "IVR timeout", "seconds", 1, MaxIVRTimeout)
	case lang.TransferUser:
		o := s.TransferUser
		resolve(c, o.User, "user", c.m.Users, "user")
		c.checkRange(o.RingTimeout, "Ring timeout", "seconds", MinRingTimeout, MaxRingTimeout)
		if q := o.Queue; q != nil {
			c.checkRange(q.MaxWaiting, "Queue size", "callers", 1, MaxQueueWaiting)
			c.checkRange(q.Repeat, "Hold music repeat", "plays", 1, MaxQueueRepeat)
			c.checkPrompt(q.Prompt, s, false)
			if q.Music.Set {
				c.checkAudio(q.Music)
			}
			if q.Repeat.Set && !q.Music.Set {
				c.warnf(q.Repeat.Range, "Repeat without music",
					"repeat counts plays of the hold music, but this queue has no music. Add music = \"audio/hold.wav\", or remove repeat.")
			}
		}
	case lang.TransferGroup:
		o := s.TransferGroup
		resolve(c, o.Group, "group", c.m.Groups, "group")
		c.checkEnum(o.Ring, "ring strategy", GroupRings...)
		c.checkRange(o.RingTimeout, "Ring timeout", "seconds", MinRingTimeout, MaxRingTimeout)
	case lang.Voicemail:
		o := s.Voicemail
		c.checkPrompt(s.Prompt, s, false)
		if o.MaxLength.Set && o.MaxLength.Value > lang.MaxVoicemailLength {
			c.errorf(o.MaxLength.Range, "Voicemail longer than two minutes",
				"A voicemail message is at most %d seconds long (S22); max_length is %d. Set max_length = %d or less.", lang.MaxVoicemailLength, o.MaxLength.Value, lang.MaxVoicemailLength)
		} else {
			c.checkRange(o.MaxLength, "Voicemail length", "seconds", 1, lang.MaxVoicemailLength)
		}
		c.checkRange(o.Timeout, "Voicemail timeout", "seconds", 1, MaxVoicemailState)
		if o.Timeout.Set && o.Timeout.Value >= 1 && o.Timeout.Value < o.MaxLength.Value {
			c.warnf(o.Timeout.Range, "Voicemail timeout cuts messages short",
				"The state's time limit (%ds) is shorter than the longest message it allows (max_length = %ds), so a long message is cut off by the time-out and takes on_timeout. Raise timeout above %d, or lower max_length.", o.Timeout.Value, o.MaxLength.Value, o.MaxLength.Value)
		}
	}
}

// checkPrompt checks a say/play pair. A required prompt must be written;
// no prompt may be written both ways.
func (c *checker) checkPrompt(p lang.Prompt, s *lang.State, required bool) {
	switch {
	case p.Say.Set && p.Play.Set:
		c.errorf(p.Play.Range, "Prompt is both spoken and played",
			"A prompt is either text-to-speech (say) or audio (play), not both. Remove one of them.")
	case !p.IsSet() && required:
		c.errorf(s.NameRange, "Missing prompt",
			"%s state needs something for the caller to hear. Add say = \"...\" for text-to-speech, or play = \"audio/NAME.wav\" or an https URL.", capital(article(string(s.Kind))))
	case p.Say.Set && strings.TrimSpace(p.Say.Value) == "":
		c.errorf(p.Say.Range, "Empty prompt", "say holds the words to speak; it is empty.")
	case p.Play.Set:
		c.checkAudio(p.Play)
	}
}

// checkLoops reports every loop in f, each once, naming its states in
// order (S24). It reports whether any loop was found.
func (c *checker) checkLoops(f *Flow) bool {
	const (
		white = iota
		grey
		black
	)
	colour := map[*lang.State]int{}
	var stack []*lang.State
	found := false
	var visit func(s *lang.State)
	visit = func(s *lang.State) {
		colour[s] = grey
		stack = append(stack, s)
		for _, conn := range s.Conns {
			t := f.States[conn.Target.String()]
			if t == nil || !connects(s, conn) {
				continue
			}
			switch colour[t] {
			case white:
				visit(t)
			case grey:
				found = true
				i := len(stack) - 1
				for stack[i] != t {
					i--
				}
				names := make([]string, 0, len(stack)-i+1)
				for _, x := range stack[i:] {
					names = append(names, x.Ref())
				}
				names = append(names, t.Ref())
				c.errorf(conn.Range, "Loop in flow",
					"The flow loops: %s. A state can never be reached again from itself (S24). Lead one of these connections to a state outside the loop, or end the call there.", strings.Join(names, " → "))
			}
		}
		stack = stack[:len(stack)-1]
		colour[s] = black
	}
	for _, s := range f.Flow.States {
		if f.States[s.Ref()] == s && colour[s] == white {
			visit(s)
		}
	}
	return found
}

// connects reports whether conn is a connection the state may have, so
// that graph walks follow exactly the edges that will be compiled.
func connects(s *lang.State, conn lang.Connection) bool {
	if conn.Outcome == "key" {
		return s.Kind == lang.IVR
	}
	return slices.Contains(AllowedOutcomes[s.Kind], conn.Outcome)
}

// topoOrder returns the states reachable from start in an order where
// every connection leads forward, keeping declaration order wherever the
// connections allow (Kahn's algorithm, always taking the earliest-declared
// ready state), so that compiled code reads like the file. The flow must
// have no loops.
func topoOrder(f *Flow, start *lang.State) []*lang.State {
	reached := map[*lang.State]bool{start: true}
	queue := []*lang.State{start}
	indegree := map[*lang.State]int{}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, conn := range s.Conns {
			if t := f.States[conn.Target.String()]; t != nil && connects(s, conn) {
				indegree[t]++
				if !reached[t] {
					reached[t] = true
					queue = append(queue, t)
				}
			}
		}
	}
	position := map[*lang.State]int{}
	for i, s := range f.Flow.States {
		position[s] = i
	}
	ready := []*lang.State{start}
	var order []*lang.State
	for len(ready) > 0 {
		// Take the earliest-declared ready state.
		best := 0
		for i := range ready {
			if position[ready[i]] < position[ready[best]] {
				best = i
			}
		}
		s := ready[best]
		ready = append(ready[:best], ready[best+1:]...)
		order = append(order, s)
		for _, conn := range s.Conns {
			if t := f.States[conn.Target.String()]; t != nil && connects(s, conn) {
				if indegree[t]--; indegree[t] == 0 {
					ready = append(ready, t)
				}
			}
		}
	}
	return order
}

// article puts "a" or "an" before a word: "an ivr", "a voicemail".
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
