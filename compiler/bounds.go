package compiler

import (
	"time"

	"github.com/callflow/callflow/lang"
)

// Bounds are a flow's static bounds, computed from the checked flow.
//
// The timing model: each state takes at most the time below, and a
// call's time in the flow is the sum over the states it passes until a
// human answers or the call ends. WorstCase is the largest such sum over
// every path, so no call waits longer in the flow, whatever the caller
// presses and whoever answers:
//
//   - announce: its prompt.
//   - ivr: its prompt, then its time-out (a key pressed sooner only
//     shortens it).
//   - transfer_user: ring_timeout; with a queue, a busy user adds the
//     announcement, the music × repeat, and one more ring_timeout. An
//     answer ends the count: a human has answered.
//   - transfer_group: ring_timeout, times the number of members when
//     sequential.
//   - voicemail: its timeout, the state's own limit, which covers the
//     prompt, the beep and the message; then whatever on_timeout leads to.
//     A caller who stays silent reaches it; a message ends the call
//     sooner.
//
// Prompt lengths are known for WAV files (from their headers). Spoken
// prompts (say) and URLs are only rendered or fetched when the
// configuration is applied, so their lengths are unknown here and listed
// in Unknown; WorstCase counts them as zero.
type Bounds struct {
	States      int           // states reachable from the start
	LongestPath int           // states on the longest path from the start
	WorstCase   time.Duration // see the model above
	WorstPath   []string      // the states of a path that takes WorstCase
	Unknown     []string      // prompts on WorstPath whose length is unknown
}

// ComputeBounds returns f's bounds. The flow must be checked without
// errors. Group sizes come from m.
func ComputeBounds(m *Model, f *Flow) Bounds {
	b := boundsCalc{m: m, f: f, audio: map[string]audioLength{}, memo: map[*lang.State]*worst{}, depth: map[*lang.State]int{}}
	if len(f.Order) == 0 {
		return Bounds{}
	}
	start := f.Order[0]
	w := b.worst(start)
	bounds := Bounds{States: len(f.Order), LongestPath: b.longest(start), WorstCase: w.time}
	for p := w; p != nil; p = p.then {
		bounds.WorstPath = append(bounds.WorstPath, p.state.Ref())
		bounds.Unknown = append(bounds.Unknown, p.unknown...)
	}
	return bounds
}

type boundsCalc struct {
	m     *Model
	f     *Flow
	audio map[string]audioLength
	memo  map[*lang.State]*worst
	depth map[*lang.State]int
}

// worst is the worst case from a state on: its time, the unknown prompts
// of this state, and the worst continuation.
type worst struct {
	state   *lang.State
	time    time.Duration // from entering state to the end of the path
	unknown []string
	then    *worst
}

type audioLength struct {
	d     time.Duration
	known bool
}

func (b *boundsCalc) longest(s *lang.State) int {
	if d, ok := b.depth[s]; ok {
		return d
	}
	best := 0
	for _, c := range s.Conns {
		if t := b.f.States[c.Target.String()]; t != nil && connects(s, c) {
			best = max(best, b.longest(t))
		}
	}
	b.depth[s] = best + 1
	return best + 1
}

func (b *boundsCalc) worst(s *lang.State) *worst {
	if w, ok := b.memo[s]; ok {
		return w
	}
	w := &worst{state: s}
	var own time.Duration
	prompt := func(p lang.Prompt) {
		d, unknown := b.prompt(p)
		own += d
		if unknown != "" {
			w.unknown = append(w.unknown, unknown)
		}
	}
	// next picks the worst of the continuations through the outcomes.
	next := func(outcomes ...string) *worst {
		var best *worst
		for _, o := range outcomes {
			for _, c := range s.Conns {
				if c.Outcome != o || !connects(s, c) {
					continue
				}
				if t := b.f.States[c.Target.String()]; t != nil {
					if cw := b.worst(t); best == nil || cw.time > best.time {
						best = cw
					}
				}
			}
		}
		return best
	}
	seconds := func(i lang.Int) time.Duration { return time.Duration(i.Value) * time.Second }

	switch s.Kind {
	case lang.Announce:
		prompt(s.Prompt)
		w.then = next("next")
	case lang.IVR:
		prompt(s.Prompt)
		own += seconds(s.IVR.Timeout)
		w.then = next("key", "on_timeout")
	case lang.TransferUser:
		o := s.TransferUser
		own += seconds(o.RingTimeout)
		if q := o.Queue; q != nil {
			prompt(q.Prompt)
			music := lang.Prompt{Play: q.Music}
			if q.Music.Set {
				before := own
				prompt(music)
				own = before + (own-before)*time.Duration(q.Repeat.Value)
			}
			own += seconds(o.RingTimeout)
		}
		w.then = next("on_timeout", "on_unavailable", "on_busy")
	case lang.TransferGroup:
		o := s.TransferGroup
		rings := time.Duration(1)
		if o.Ring.Value == "sequential" {
			if g, ok := b.m.Groups[o.Group.Name]; ok {
				rings = time.Duration(max(1, len(g.Members)))
			}
		}
		own += seconds(o.RingTimeout) * rings
		w.then = next("on_timeout", "on_unavailable", "on_all_busy")
	case lang.Voicemail:
		// The limit covers the prompt, the beep and the message, so the
		// prompt's length does not matter here.
		own += seconds(s.Voicemail.Timeout)
		w.then = next("on_timeout")
	}
	w.time = own
	if w.then != nil {
		w.time += w.then.time
	}
	b.memo[s] = w
	return w
}

// prompt returns a prompt's length, or the prompt's description when its
// length is unknown.
func (b *boundsCalc) prompt(p lang.Prompt) (time.Duration, string) {
	switch {
	case p.Say.Set:
		return 0, "say " + quoteShort(p.Say.Value)
	case p.Play.Set:
		a, ok := b.audio[p.Play.Value]
		if !ok {
			a.d, a.known = wavLength(p.Play)
			b.audio[p.Play.Value] = a
		}
		if a.known {
			return a.d, ""
		}
		return 0, "play " + quoteShort(p.Play.Value)
	}
	return 0, ""
}

func quoteShort(s string) string {
	r := []rune(s)
	if len(r) > 40 {
		s = string(r[:39]) + "…"
	}
	return `"` + s + `"`
}
