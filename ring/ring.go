// Package ring holds the rules of ringing people (S18, S19): how the
// final responses of a user's phones make one result, whom a group rings
// and in which order, and what a group's rings add up to. The SIP
// runtime and `callflow simulate` both use it, so that a flow test and a
// real call reach the same result from the same facts.
//
// It knows nothing of SIP beyond status codes, and nothing of time: the
// host rings and waits, and tells this package what happened.
package ring

import (
	"cmp"
	"slices"
	"time"

	"github.com/callflow/callflow/vm"
)

// Phone is how the INVITE to one of a user's phones ended.
type Phone uint8

const (
	// PhoneAnswered: the phone answered (2xx).
	PhoneAnswered Phone = iota + 1
	// PhoneRang: the phone rang (a provisional 180 or 183) and had not
	// answered when the ring time was up.
	PhoneRang
	// PhoneBusy: the phone said busy or declined (486, 600, 603).
	PhoneBusy
	// PhoneFailed: the phone failed (404, 408, 480, 5xx, any other final
	// response) or never responded beyond 100 Trying.
	PhoneFailed
)

// Classify maps a phone's final response to what it means for the ring.
// Every status is mapped: 2xx answered; 486 Busy Here, 600 Busy
// Everywhere and 603 Decline busy; everything else, 3xx redirections
// included (a ring never follows them), failed.
func Classify(status int) Phone {
	switch {
	case status >= 200 && status < 300:
		return PhoneAnswered
	case status == 486 || status == 600 || status == 603:
		return PhoneBusy
	}
	return PhoneFailed
}

// Outcome is how ringing one user ended.
type Outcome uint8

const (
	Answered Outcome = iota + 1
	// NoAnswer: at least one phone rang, and none answered in time.
	NoAnswer
	// Busy: the user was on a call already, or a phone said busy.
	Busy
	// Unavailable: the user has no registered phone, or every phone
	// failed or stayed silent.
	Unavailable
)

func (o Outcome) String() string {
	switch o {
	case Answered:
		return "answered"
	case NoAnswer:
		return "no-answer"
	case Busy:
		return "busy"
	case Unavailable:
		return "unavailable"
	}
	return "unknown"
}

// User is the outcome of ringing a user whose phones ended as phones;
// busy says the user was already on a call (nothing was rung). A phone
// that answered wins; then a busy phone; then one that rang; a user with
// no phones, or only failed ones, is unavailable.
func User(busy bool, phones []Phone) Outcome {
	switch {
	case busy:
		return Busy
	case slices.Contains(phones, PhoneAnswered):
		return Answered
	case slices.Contains(phones, PhoneBusy):
		return Busy
	case slices.Contains(phones, PhoneRang):
		return NoAnswer
	}
	return Unavailable
}

// UserResult is the VM's result of a transfer to a user that ended as o.
func UserResult(o Outcome) vm.Result {
	switch o {
	case Answered:
		return vm.ResultAnswered
	case Busy:
		return vm.ResultBusy
	case NoAnswer:
		return vm.ResultTimeout
	}
	return vm.ResultUnavailable
}

// Member is what is known of a group's member before ringing.
type Member struct {
	Name string
	// LoggedIn says the member has a live registration, since LoginAt.
	LoggedIn bool
	LoginAt  time.Time
	// Busy says the member is on a call already.
	Busy bool
}

// Order returns whom a group rings, in order: its logged-in members who
// are not busy, in login order (the earliest first; members who logged
// in at the same moment keep the configuration's order) when sequential,
// or in the configuration's order when parallel, where they ring at once.
// It also returns the tally of the members left out, to which the rings'
// outcomes are added.
func Order(members []Member, sequential bool) ([]string, Group) {
	var g Group
	var rung []Member
	for _, m := range members {
		switch {
		case !m.LoggedIn:
			g.Add(Unavailable)
		case m.Busy:
			g.Add(Busy)
		default:
			rung = append(rung, m)
		}
	}
	if sequential {
		slices.SortStableFunc(rung, func(a, b Member) int { return cmp.Compare(a.LoginAt.UnixNano(), b.LoginAt.UnixNano()) })
	}
	names := make([]string, len(rung))
	for i, m := range rung {
		names[i] = m.Name
	}
	return names, g
}

// Group adds up the outcomes of a group's members into the transfer's
// result (S19): answered when one answered; unavailable when no member
// could be reached (none logged in, or every phone failed); all-busy
// when every member reached was busy; otherwise timeout, since members
// rang and nobody answered.
type Group struct {
	reachable, busy int
	answered        bool
}

// Add counts one member's outcome.
func (g *Group) Add(o Outcome) {
	switch o {
	case Answered:
		g.answered = true
		g.reachable++
	case Busy:
		g.reachable++
		g.busy++
	case NoAnswer:
		g.reachable++
	}
}

// Result is the VM's result of the group's transfer.
func (g *Group) Result() vm.Result {
	switch {
	case g.answered:
		return vm.ResultAnswered
	case g.reachable == 0:
		return vm.ResultUnavailable
	case g.busy == g.reachable:
		return vm.ResultAllBusy
	}
	return vm.ResultTimeout
}
