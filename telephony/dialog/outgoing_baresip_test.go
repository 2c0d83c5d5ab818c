package dialog_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/callflow/callflow/internal/baresiptest"
	"github.com/callflow/callflow/telephony/dialog"
)

// baresip as an agent's phone (answer mode auto) registers with the
// stack over UDP or TCP; we ring it at its registered Contact through the
// REGISTER's source, as the server will, it answers, and either side
// hangs up. Over TCP the INVITE comes on the connection the phone
// registered on.
func TestInviteBaresip(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		for _, who := range []string{"we", "phone"} {
			t.Run(transport+"/"+who+" hang up", func(t *testing.T) {
				s := newStack(t)
				phone := baresiptest.New(t, baresiptest.Options{
					SIPPort: freePort(t), CtrlPort: freePort(t), RTPPorts: freeRTPPorts(t),
					Server: "127.0.0.1:" + itoa(s.port), Transport: transport,
					User: "agent", Domain: "127.0.0.1", Password: "secret", Regint: 60, AnswerMode: "auto",
				})
				var reg registration
				select {
				case reg = <-s.registered:
				case <-time.After(15 * time.Second):
					t.Fatal("baresip did not register")
				}
				o, err := s.set.Invite(within(t, 5*time.Second), dialog.Target{
					URI: reg.contact, Destination: reg.source, Transport: transport,
					From: caller, FromName: "A Caller", To: target(t, "127.0.0.1:5060").To,
				}, offer("sendrecv"))
				if err != nil {
					t.Fatal(err)
				}
				d, res, err := o.Wait(within(t, 15*time.Second))
				if err != nil {
					t.Fatalf("Wait: %v", err)
				}
				defer d.Close()
				if !strings.Contains(string(res.Body()), "PCMA") {
					t.Errorf("baresip's answer: %s", res.Body())
				}
				ctx := within(t, 15*time.Second)
				if _, err := phone.Wait(ctx, "CALL_ESTABLISHED"); err != nil {
					t.Fatal(err)
				}
				if transport == "tcp" {
					sameConnection(t, phone)
				}
				if who == "we" {
					if err := d.Bye(ctx); err != nil {
						t.Errorf("Bye: %v", err)
					}
					if _, err := phone.Wait(ctx, "CALL_CLOSED"); err != nil {
						t.Error(err)
					}
					return
				}
				if err := phone.Do(ctx, "hangup", ""); err != nil {
					t.Fatal(err)
				}
				if err := ended(t, d); !errors.Is(err, dialog.ErrBye) {
					t.Errorf("the dialog ended with %v, want ErrBye", err)
				}
			})
		}
	}
}

// sameConnection checks, in baresip's SIP trace, that the INVITE came
// over TCP between the two addresses its REGISTER went between.
func sameConnection(t *testing.T, phone *baresiptest.Phone) {
	t.Helper()
	var register, invite *baresiptest.Message
	for _, m := range phone.Messages() {
		switch {
		case register == nil && strings.HasPrefix(m.StartLine, "REGISTER "):
			register = &m
		case invite == nil && strings.HasPrefix(m.StartLine, "INVITE "):
			invite = &m
		}
	}
	if register == nil || invite == nil {
		t.Fatalf("baresip's trace has no REGISTER or INVITE: %v", phone.Messages())
	}
	if invite.Transport != "TCP" || invite.From != register.To || invite.To != register.From {
		t.Errorf("the INVITE came as %v; the REGISTER went as %v", invite, register)
	}
}
