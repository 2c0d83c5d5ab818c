package registrar

import (
	"time"

	"github.com/callflow/callflow/store"
)

// User states, as `callflow users list` shows them.
const (
	StateUnregistered = "unregistered" // no live binding
	StateAvailable    = "available"    // registered, ringing for no call and on none
	StateRinging      = "ringing"      // their phones ring for a call
	StateOnCall       = "on a call"    // connected to a call, on any node
)

// Presence is one user's registrations and state.
type Presence struct {
	User       string          `json:"user"`
	State      string          `json:"state"`
	LoggedInAt time.Time       `json:"logged_in_at,omitzero"`
	Phones     []store.Binding `json:"phones"`
}

// Presences returns the presence of each of users, in their order, from
// the live bindings, the logins and the agent calls. A user on a call is
// "on a call" even with no phone registered (the call outlives it).
func Presences(users []string, bindings []store.Binding, logins map[string]time.Time, calls []store.AgentCall) []Presence {
	phones := map[string][]store.Binding{}
	for _, b := range bindings {
		phones[b.User] = append(phones[b.User], b)
	}
	ringing, connected := map[string]bool{}, map[string]bool{}
	for _, c := range calls {
		switch c.State {
		case store.AgentConnected:
			connected[c.User] = true
		case store.AgentRinging:
			ringing[c.User] = true
		}
	}
	out := make([]Presence, 0, len(users))
	for _, u := range users {
		p := Presence{User: u, Phones: phones[u], State: StateUnregistered}
		if p.Phones == nil {
			p.Phones = []store.Binding{}
		} else {
			p.LoggedInAt = logins[u]
			p.State = StateAvailable
		}
		switch {
		case connected[u]:
			p.State = StateOnCall
		case ringing[u] && len(p.Phones) > 0:
			p.State = StateRinging
		}
		out = append(out, p)
	}
	return out
}
