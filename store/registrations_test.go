package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/callflow/callflow/store"
)

func contacts(bs []store.Binding) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Contact)
	}
	return out
}

func TestRegister(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		req := func(callID string, cseq int64, at time.Time, cs ...store.ContactUpdate) store.RegisterRequest {
			return store.RegisterRequest{User: "ann", CallID: callID, CSeq: cseq, Contacts: cs, Source: "127.0.0.1:5070", Transport: "udp",
				Node: "n1", UserAgent: "phone/1", Now: at, MaxBindings: 2}
		}
		desk := store.ContactUpdate{URI: "sip:ann@127.0.0.1:5070", Expires: time.Hour}
		// The first binding logs the user in.
		res, err := s.Register(ctx, req("c1", 1, t0, desk))
		if err != nil || !res.LoggedIn || res.LoggedOut || len(res.Bindings) != 1 {
			t.Fatalf("first register: %+v, %v", res, err)
		}
		b := res.Bindings[0]
		if b.Source != "127.0.0.1:5070" || b.Transport != "udp" || b.Node != "n1" || b.UserAgent != "phone/1" || !b.ExpiresAt.Equal(t0.Add(time.Hour)) || b.CSeq != 1 {
			t.Errorf("binding %+v", b)
		}
		// A retransmission (same Call-ID, same CSeq) changes nothing.
		if _, err := s.Register(ctx, req("c1", 1, t0.Add(time.Second), store.ContactUpdate{URI: desk.URI, Expires: 0})); !errors.Is(err, store.ErrOutOfOrder) {
			t.Errorf("same CSeq: %v, want ErrOutOfOrder", err)
		}
		// A refresh, and a second phone from another Call-ID: no new login.
		res, err = s.Register(ctx, req("c1", 2, t0.Add(time.Minute), desk))
		if err != nil || res.LoggedIn || !res.Bindings[0].ExpiresAt.Equal(t0.Add(time.Minute+time.Hour)) {
			t.Fatalf("refresh: %+v, %v", res, err)
		}
		mobile := store.ContactUpdate{URI: "sip:ann@127.0.0.1:5080;transport=tcp", Expires: 120 * time.Second}
		res, err = s.Register(ctx, req("c2", 1, t0.Add(time.Minute), mobile))
		if err != nil || res.LoggedIn || len(res.Bindings) != 2 {
			t.Fatalf("second phone: %+v, %v", res, err)
		}
		// A third is one too many, and nothing is written.
		if _, err := s.Register(ctx, req("c3", 1, t0.Add(time.Minute), store.ContactUpdate{URI: "sip:ann@10.0.0.9", Expires: time.Hour})); !errors.Is(err, store.ErrTooManyBindings) {
			t.Errorf("third phone: %v, want ErrTooManyBindings", err)
		}
		if bs, _ := s.Bindings(ctx, "ann", t0.Add(time.Minute)); len(bs) != 2 {
			t.Errorf("after a refused third phone: %v", contacts(bs))
		}
		logins, err := s.Logins(ctx, t0.Add(time.Minute))
		if err != nil || !logins["ann"].Equal(t0) {
			t.Errorf("logins %v, %v; want ann at %v", logins, err, t0)
		}
		// The mobile expires: the sweeper removes it, ann stays logged in.
		out, err := s.ExpireBindings(ctx, t0.Add(4*time.Minute))
		if err != nil || len(out) != 0 {
			t.Errorf("expire the mobile: logged out %v, %v", out, err)
		}
		if bs, _ := s.AllBindings(ctx, t0.Add(4*time.Minute)); len(bs) != 1 || bs[0].Contact != desk.URI {
			t.Errorf("after expiry: %v", contacts(bs))
		}
		// Removing the last binding logs out.
		res, err = s.Register(ctx, req("c1", 3, t0.Add(5*time.Minute), store.ContactUpdate{URI: desk.URI}))
		if err != nil || !res.LoggedOut || len(res.Bindings) != 0 {
			t.Fatalf("remove: %+v, %v", res, err)
		}
		if logins, _ := s.Logins(ctx, t0.Add(5*time.Minute)); len(logins) != 0 {
			t.Errorf("logins after logout: %v", logins)
		}
	})
}

func TestRegisterWildcardAndExpiry(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		reg := func(user, callID string, cseq int64, at time.Time, wildcard bool, cs ...store.ContactUpdate) (store.RegisterResult, error) {
			return s.Register(ctx, store.RegisterRequest{User: user, CallID: callID, CSeq: cseq, Wildcard: wildcard, Contacts: cs, Transport: "udp", Now: at})
		}
		for i, uri := range []string{"sip:bob@a", "sip:bob@b"} {
			if _, err := reg("bob", "x"+uri, 1, t0.Add(time.Duration(i)*time.Second), false, store.ContactUpdate{URI: uri, Expires: time.Minute}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := reg("cy", "cy", 1, t0.Add(10*time.Second), false, store.ContactUpdate{URI: "sip:cy@c", Expires: time.Minute}); err != nil {
			t.Fatal(err)
		}
		logins, _ := s.Logins(ctx, t0.Add(20*time.Second))
		if !logins["bob"].Equal(t0) || !logins["cy"].Equal(t0.Add(10*time.Second)) {
			t.Errorf("login order: %v", logins)
		}
		// A wildcard whose Call-ID and CSeq match a binding is out of order.
		if _, err := reg("bob", "xsip:bob@a", 1, t0.Add(20*time.Second), true); !errors.Is(err, store.ErrOutOfOrder) {
			t.Errorf("stale wildcard: %v", err)
		}
		res, err := reg("bob", "other", 1, t0.Add(20*time.Second), true)
		if err != nil || !res.LoggedOut || len(res.Bindings) != 0 {
			t.Fatalf("wildcard: %+v, %v", res, err)
		}
		// A login the sweeper has not reached is over: registering again
		// after expiry is a new login.
		if res, err := reg("cy", "cy", 2, t0.Add(2*time.Minute), false, store.ContactUpdate{URI: "sip:cy@c", Expires: time.Minute}); err != nil || !res.LoggedIn {
			t.Errorf("register after expiry: %+v, %v", res, err)
		}
		if logins, _ := s.Logins(ctx, t0.Add(2*time.Minute)); !logins["cy"].Equal(t0.Add(2 * time.Minute)) {
			t.Errorf("cy's new login: %v", logins)
		}
		// The sweeper logs out those left with nothing.
		out, err := s.ExpireBindings(ctx, t0.Add(10*time.Minute))
		if err != nil || len(out) != 1 || out[0] != "cy" {
			t.Errorf("sweep: %v, %v; want [cy]", out, err)
		}
		if bs, _ := s.AllBindings(ctx, t0); len(bs) != 0 {
			t.Errorf("bindings left: %v", contacts(bs))
		}
	})
}

func TestCredentials(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		if _, err := s.Credential(ctx, "ann"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("no credential: %v", err)
		}
		c := store.Credential{User: "ann", Realm: "pbx.example", HA1MD5: "aa", HA1SHA256: "bb", UpdatedAt: t0}
		if err := s.SetCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
		c.HA1MD5 = "cc"
		if err := s.SetCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := s.Credential(ctx, "ann")
		if err != nil || got != c {
			t.Errorf("credential %+v, %v; want %+v", got, err, c)
		}
		if us, err := s.CredentialUsers(ctx); err != nil || len(us) != 1 || us[0] != "ann" {
			t.Errorf("users %v, %v", us, err)
		}
	})
}

func TestAgentCalls(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		if err := s.SetAgentCall(ctx, store.AgentCall{CallID: "c1", User: "ann", State: store.AgentRinging, Node: "n1", Since: t0}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAgentCall(ctx, store.AgentCall{CallID: "c2", User: "ann", State: store.AgentRinging, Node: "n2", Since: t0}); err != nil {
			t.Fatal(err)
		}
		// Both calls' phones are answered at once on two nodes: one wins.
		results := make(chan bool, 2)
		for _, c := range []struct{ call, node string }{{"c1", "n1"}, {"c2", "n2"}} {
			go func() {
				ok, err := s.ClaimAgent(ctx, c.call, "ann", c.node)
				if err != nil {
					t.Error(err)
				}
				results <- ok
			}()
		}
		a, b := <-results, <-results
		if a == b {
			t.Fatalf("claims %v and %v: exactly one must win", a, b)
		}
		// Claiming the call one is on again is fine.
		calls, _ := s.AgentCalls(ctx)
		var won string
		for _, c := range calls {
			if c.State == store.AgentConnected {
				won = c.CallID
			}
		}
		if ok, err := s.ClaimAgent(ctx, won, "ann", "n1"); err != nil || !ok {
			t.Errorf("claim the same call again: %v, %v", ok, err)
		}
		if err := s.EndAgentCall(ctx, won, "ann"); err != nil {
			t.Fatal(err)
		}
		other := map[string]string{"c1": "c2", "c2": "c1"}[won]
		if ok, _ := s.ClaimAgent(ctx, other, "ann", "n1"); !ok {
			t.Errorf("claim after the first call ended: refused")
		}
		// A node starting clears only its own rows.
		if err := s.SetAgentCall(ctx, store.AgentCall{CallID: "c3", User: "bob", State: store.AgentRinging, Node: "n2"}); err != nil {
			t.Fatal(err)
		}
		if err := s.ClearAgentCalls(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
		calls, err := s.AgentCalls(ctx)
		if err != nil || len(calls) != 1 || calls[0].CallID != "c3" || calls[0].User != "bob" || calls[0].State != store.AgentRinging {
			t.Errorf("after clearing n1: %+v, %v", calls, err)
		}
	})
}
