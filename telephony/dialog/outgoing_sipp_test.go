package dialog_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/callflow/callflow/telephony/dialog"
)

// A phone rings (100, then a 180 from one fork) and answers (a 200 from
// another): Progress tells of the 180 only, Wait returns the confirmed
// dialog of the 200's tag with its SDP, the phone's requests match it,
// and our BYE (to the 200's Contact, CSeq 2) ends it. SIPp checks the
// ACK and the BYE.
func TestInviteAnswered(t *testing.T) {
	s := newStack(t)
	phone := startSIPp(t, "answer.xml")
	o, err := s.set.Invite(within(t, 5*time.Second), target(t, phone.addr), offer("sendrecv"))
	if err != nil {
		t.Fatal(err)
	}
	d, res, err := o.Wait(within(t, 15*time.Second))
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if got := statuses(t, o.Progress()); !slices.Equal(got, []int{180}) {
		t.Errorf("Progress gave %v, want [180]", got)
	}
	if res.StatusCode != 200 || !strings.Contains(string(res.Body()), "PCMA/8000") {
		t.Errorf("Wait's response: %d with body %q", res.StatusCode, res.Body())
	}
	tag, _ := res.To().Params.Get("tag")
	if !strings.Contains(tag, "SIPpTag01") {
		t.Errorf("the 2xx's tag is %q", tag)
	}
	// A request of the phone's names the dialog: its From-tag is the
	// 200's, its To-tag ours.
	from, _ := res.From().Params.Get("tag")
	bye := sip.NewRequest(sip.BYE, sip.Uri{Scheme: "sip", Host: "127.0.0.1"})
	fromPhone := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", Host: "127.0.0.1"}, Params: sip.NewParams()}
	fromPhone.Params.Add("tag", tag)
	toUs := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", Host: "127.0.0.1"}, Params: sip.NewParams()}
	toUs.Params.Add("tag", from)
	bye.AppendHeader(fromPhone)
	bye.AppendHeader(toUs)
	bye.AppendHeader(sip.HeaderClone(res.CallID()))
	if s.set.Match(bye) != d {
		t.Error("Match does not find the dialog of a request of the phone's")
	}
	if err := d.Bye(within(t, 10*time.Second)); err != nil {
		t.Errorf("Bye: %v", err)
	}
	if err := context.Cause(d.Context()); !errors.Is(err, dialog.ErrEnded) {
		t.Errorf("the dialog ended with %v, want ErrEnded", err)
	}
	if s.set.Match(bye) != nil {
		t.Error("an ended dialog is still matched")
	}
	d.Close()
	phone.wait(t)
}

// A phone that refuses (busy, no such user) gives no dialog, the
// response, and a *Rejected with its status; SIPp checks the ACK.
func TestInviteRejected(t *testing.T) {
	for scenario, status := range map[string]int{"busy.xml": 486, "notfound.xml": 404} {
		t.Run(scenario, func(t *testing.T) {
			s := newStack(t)
			phone := startSIPp(t, scenario)
			o, err := s.set.Invite(within(t, 5*time.Second), target(t, phone.addr), offer("sendrecv"))
			if err != nil {
				t.Fatal(err)
			}
			d, res, err := o.Wait(within(t, 15*time.Second))
			if d != nil || res == nil || res.StatusCode != status || !isRejected(err, status) {
				t.Errorf("Wait: %v, %v, %v; want no dialog, %d and a Rejected", d, res, err, status)
			}
			statuses(t, o.Progress())
			phone.wait(t)
		})
	}
}

// Ringing, then our ctx ends: the CANCEL goes (after the 180), the phone
// answers it 200 and the INVITE 487 (which we ACK), and Wait reports
// ErrCancelled once the INVITE is over.
func TestInviteCancelled(t *testing.T) {
	s := newStack(t)
	phone := startSIPp(t, "cancel.xml")
	o, err := s.set.Invite(within(t, 5*time.Second), target(t, phone.addr), offer("sendrecv"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case status := <-o.Progress():
		if status != 180 {
			t.Fatalf("Progress gave %d, want 180", status)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no 180")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the ring timeout
	d, res, err := o.Wait(ctx)
	if d != nil || !errors.Is(err, dialog.ErrCancelled) || res == nil || res.StatusCode != 487 {
		t.Errorf("Wait: %v, %v, %v; want no dialog, the 487 and ErrCancelled", d, res, err)
	}
	phone.wait(t)
}

// A 200 that crosses our CANCEL is acknowledged and hung up at once;
// Wait reports ErrCancelled and no dialog, and the set forgets it.
func TestInviteAnswerCrossesCancel(t *testing.T) {
	s := newStack(t)
	phone := startSIPp(t, "crossing.xml")
	o, err := s.set.Invite(within(t, 5*time.Second), target(t, phone.addr), offer("sendrecv"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-o.Progress():
	case <-time.After(10 * time.Second):
		t.Fatal("no 180")
	}
	o.Cancel()
	d, res, err := o.Wait(within(t, 15*time.Second))
	if d != nil || !errors.Is(err, dialog.ErrCancelled) || res == nil || res.StatusCode != 200 {
		t.Errorf("Wait: %v, %v, %v; want no dialog, the 200 and ErrCancelled", d, res, err)
	}
	phone.wait(t) // it checks the ACK and the BYE
	o.Cancel()    // once more, after the end: nothing happens
}

// The phone hangs up first: its BYE reaches the dialog through Match and
// HandleRequest, and the dialog's context ends with ErrBye.
func TestInvitePhoneHangsUp(t *testing.T) {
	s := newStack(t)
	phone := startSIPp(t, "phone_bye.xml")
	o, err := s.set.Invite(within(t, 5*time.Second), target(t, phone.addr), offer("sendrecv"))
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := o.Wait(within(t, 15*time.Second))
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	defer d.Close()
	if err := ended(t, d); !errors.Is(err, dialog.ErrBye) {
		t.Errorf("the dialog ended with %v, want ErrBye", err)
	}
	phone.wait(t)
}

// The phone puts the call on hold with a re-INVITE right after its ACK:
// the offer (a=sendonly) reaches the handler set on the Outgoing, and the
// handler's answer goes back in the 200 (SIPp checks a=recvonly); a key
// sent as INFO reaches the handler too.
func TestInvitePhoneHolds(t *testing.T) {
	s := newStack(t)
	phone := startSIPp(t, "hold.xml")
	o, err := s.set.Invite(within(t, 5*time.Second), target(t, phone.addr), offer("sendrecv"))
	if err != nil {
		t.Fatal(err)
	}
	h := &holder{offers: make(chan []byte, 4), infos: make(chan []byte, 4)}
	o.SetHandler(h)
	d, _, err := o.Wait(within(t, 15*time.Second))
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	defer d.Close()
	select {
	case offer := <-h.offers:
		if !strings.Contains(string(offer), "a=sendonly") {
			t.Errorf("the handler got %q, want the hold offer", offer)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the re-INVITE's offer did not reach the handler")
	}
	select {
	case info := <-h.infos:
		if !strings.Contains(string(info), "Signal=5") {
			t.Errorf("the handler got INFO %q", info)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the INFO did not reach the handler")
	}
	if err := ended(t, d); !errors.Is(err, dialog.ErrBye) {
		t.Errorf("the dialog ended with %v, want ErrBye", err)
	}
	phone.wait(t)
}

// An INVITE that cannot be sent (TCP to a port nobody listens on) fails
// at once with ErrNoResponse.
func TestInviteUnreachable(t *testing.T) {
	s := newStack(t)
	tg := target(t, "127.0.0.1:"+itoa(freePort(t)))
	tg.Transport = "tcp"
	o, err := s.set.Invite(within(t, 5*time.Second), tg, offer("sendrecv"))
	if err == nil {
		_, _, err = o.Wait(within(t, 40*time.Second))
	}
	if !errors.Is(err, dialog.ErrNoResponse) {
		t.Errorf("got %v, want ErrNoResponse", err)
	}
}
