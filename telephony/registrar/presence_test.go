package registrar_test

import (
	"testing"
	"time"

	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony/registrar"
)

func TestPresences(t *testing.T) {
	at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	bindings := []store.Binding{{User: "ann", Contact: "sip:ann@a"}, {User: "bob", Contact: "sip:bob@b"}, {User: "cy", Contact: "sip:cy@c"}}
	calls := []store.AgentCall{{CallID: "1", User: "bob", State: store.AgentRinging}, {CallID: "2", User: "cy", State: store.AgentRinging},
		{CallID: "3", User: "cy", State: store.AgentConnected}, {CallID: "4", User: "eve", State: store.AgentRinging}}
	ps := registrar.Presences([]string{"ann", "bob", "cy", "dan", "eve"}, bindings, map[string]time.Time{"ann": at}, calls)
	want := []string{registrar.StateAvailable, registrar.StateRinging, registrar.StateOnCall, registrar.StateUnregistered, registrar.StateUnregistered}
	for i, p := range ps {
		if p.State != want[i] {
			t.Errorf("%s: %s, want %s", p.User, p.State, want[i])
		}
	}
	if !ps[0].LoggedInAt.Equal(at) || len(ps[0].Phones) != 1 || ps[3].Phones == nil {
		t.Errorf("%+v", ps)
	}
}
