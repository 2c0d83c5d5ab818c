package dialog_test

import (
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/callflow/callflow/telephony/dialog"
)

// trunkCredentials are those the SIPp carriers expect.
var trunkCredentials = dialog.Credentials{Username: "trunkuser", Password: "s3cret pass"}

// trunkTarget is a call to +442071234567 through the carrier at addr,
// from Alice's caller ID, with the credentials c.
func trunkTarget(t *testing.T, addr string, c *dialog.Credentials) dialog.Target {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return dialog.Target{
		URI:  sip.Uri{Scheme: "sip", User: "+442071234567", Host: host, Port: p},
		From: caller, FromName: "Alice Tanaka",
		To:   sip.Uri{Scheme: "sip", User: "+442071234567", Host: "127.0.0.1"},
		Auth: c,
	}
}

// pai is the P-Asserted-Identity of Alice's caller ID.
func pai() sip.Header { return sip.NewHeader("P-Asserted-Identity", "<sip:+14155550100@127.0.0.1>") }

// The carrier challenges with 407 (after a 100): the INVITE goes again
// with Proxy-Authorization (SIPp checks its fields, the same From tag,
// CSeq 2 and a new branch), and the 200 makes the dialog as without a
// challenge: Progress saw nothing, our ACK has CSeq 2 and our BYE 3.
func TestInviteTrunkProxyAuth(t *testing.T) {
	s := newStack(t)
	carrier := startSIPp(t, "trunk_407.xml")
	o, err := s.set.Invite(within(t, 5*time.Second), trunkTarget(t, carrier.addr, &trunkCredentials), offer("sendrecv"))
	if err != nil {
		t.Fatal(err)
	}
	callID := o.CallID()
	d, res, err := o.Wait(within(t, 15*time.Second))
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if res.StatusCode != 200 || res.CallID().Value() != callID || o.CallID() != callID {
		t.Errorf("the 200 is %d for Call-ID %q; the INVITE's was %q", res.StatusCode, res.CallID().Value(), callID)
	}
	if got := statuses(t, o.Progress()); len(got) != 0 {
		t.Errorf("Progress gave %v, want nothing", got)
	}
	if err := d.Bye(within(t, 10*time.Second)); err != nil {
		t.Errorf("Bye: %v", err)
	}
	d.Close()
	carrier.wait(t)
}

// The carrier checks the From and the P-Asserted-Identity given to
// Invite (and fails the call otherwise).
func TestInviteTrunkCallerID(t *testing.T) {
	s := newStack(t)
	carrier := startSIPp(t, "trunk_identity.xml")
	o, err := s.set.Invite(within(t, 5*time.Second), trunkTarget(t, carrier.addr, &trunkCredentials), offer("sendrecv"), pai())
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := o.Wait(within(t, 15*time.Second))
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if err := d.Bye(within(t, 10*time.Second)); err != nil {
		t.Errorf("Bye: %v", err)
	}
	d.Close()
	carrier.wait(t)
}

// A carrier that answers busy after the challenge: Wait reports its 486
// as a *Rejected, not as the 407.
func TestInviteTrunkBusy(t *testing.T) {
	s := newStack(t)
	carrier := startSIPp(t, "trunk_busy.xml")
	o, err := s.set.Invite(within(t, 5*time.Second), trunkTarget(t, carrier.addr, &trunkCredentials), offer("sendrecv"), pai())
	if err != nil {
		t.Fatal(err)
	}
	d, res, err := o.Wait(within(t, 15*time.Second))
	if d != nil || res == nil || res.StatusCode != 486 || !isRejected(err, 486) {
		t.Errorf("Wait: %v, %v, %v; want no dialog, the 486 and a Rejected", d, res, err)
	}
	statuses(t, o.Progress())
	carrier.wait(t)
}

// The carrier verifies our Authorization with SIPp's own digest
// (verifyauth): the right password is answered 200.
func TestInviteTrunkAuthVerified(t *testing.T) {
	s := newStack(t)
	carrier := startSIPp(t, "trunk_401.xml")
	o, err := s.set.Invite(within(t, 5*time.Second), trunkTarget(t, carrier.addr, &trunkCredentials), offer("sendrecv"))
	if err != nil {
		t.Fatal(err)
	}
	d, res, err := o.Wait(within(t, 15*time.Second))
	if err != nil {
		t.Fatalf("Wait: %v (a 403 is SIPp's verifyauth refusing the digest)", err)
	}
	if res.StatusCode != 200 {
		t.Errorf("Wait's response is %d", res.StatusCode)
	}
	if err := d.Bye(within(t, 10*time.Second)); err != nil {
		t.Errorf("Bye: %v", err)
	}
	d.Close()
	carrier.wait(t)
}

// A wrong password: the carrier challenges again, and that second 401 is
// the outcome; no third INVITE goes (SIPp fails the call if one comes).
func TestInviteTrunkWrongPassword(t *testing.T) {
	s := newStack(t)
	carrier := startSIPp(t, "trunk_401_wrong.xml")
	wrong := dialog.Credentials{Username: "trunkuser", Password: "not it"}
	o, err := s.set.Invite(within(t, 5*time.Second), trunkTarget(t, carrier.addr, &wrong), offer("sendrecv"))
	if err != nil {
		t.Fatal(err)
	}
	d, res, err := o.Wait(within(t, 15*time.Second))
	if d != nil || res == nil || res.StatusCode != 401 || !isRejected(err, 401) {
		t.Fatalf("Wait: %v, %v, %v; want no dialog, the second 401 and a Rejected", d, res, err)
	}
	if tag, _ := res.To().Params.Get("tag"); !strings.Contains(tag, "SIPpAuth2") {
		t.Errorf("Wait gave the 401 of tag %q, want the second challenge's", tag)
	}
	if !strings.Contains(err.Error(), "credentials were refused") {
		t.Errorf("the error %q does not say the credentials were refused", err)
	}
	carrier.wait(t)
}

// Without credentials a challenge is a rejection, as before.
func TestInviteChallengeWithoutCredentials(t *testing.T) {
	s := newStack(t)
	carrier := startSIPp(t, "challenge.xml")
	o, err := s.set.Invite(within(t, 5*time.Second), trunkTarget(t, carrier.addr, nil), offer("sendrecv"))
	if err != nil {
		t.Fatal(err)
	}
	_, res, err := o.Wait(within(t, 15*time.Second))
	if res == nil || res.StatusCode != 407 || !isRejected(err, 407) {
		t.Errorf("Wait: %v, %v; want the 407 and a Rejected", res, err)
	}
	carrier.wait(t)
}

// A 183 with SDP reaches Early whole, its status reaches Progress; the
// carrier never answers, and our CANCEL ends the INVITE.
func TestInviteTrunkEarlyMedia(t *testing.T) {
	s := newStack(t)
	carrier := startSIPp(t, "trunk_early.xml")
	o, err := s.set.Invite(within(t, 5*time.Second), trunkTarget(t, carrier.addr, &trunkCredentials), offer("sendrecv"), pai())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-o.Early():
		if res.StatusCode != 183 || !strings.Contains(string(res.Body()), "a=sendonly") ||
			res.ContentType() == nil || res.ContentType().Value() != "application/sdp" {
			t.Errorf("Early gave %d (%v) with body %q, want the 183's SDP", res.StatusCode, res.ContentType(), res.Body())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no 183 on Early")
	}
	o.Cancel()
	d, res, err := o.Wait(within(t, 15*time.Second))
	if d != nil || !errors.Is(err, dialog.ErrCancelled) || res == nil || res.StatusCode != 487 {
		t.Errorf("Wait: %v, %v, %v; want no dialog, the 487 and ErrCancelled", d, res, err)
	}
	if got := statuses(t, o.Progress()); !slices.Equal(got, []int{183}) {
		t.Errorf("Progress gave %v, want [183]", got)
	}
	if _, open := <-o.Early(); open {
		t.Error("Early holds another response, or is not closed after the final response")
	}
	carrier.wait(t)
}
