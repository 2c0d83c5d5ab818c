package dialog_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/callflow/callflow/telephony/dialog"
)

// rawPhone is a phone on a UDP socket that the test drives message by
// message, for what SIPp cannot do: repeat a 2xx after its ACK, answer
// from a second fork, ask for a session timer.
type rawPhone struct {
	t    *testing.T
	conn net.PacketConn
	seen map[string]bool // requests read, by method, CSeq and branch: their retransmissions are skipped
}

func newRawPhone(t *testing.T) *rawPhone {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawPhone{t: t, conn: conn, seen: map[string]bool{}}
}

func (p *rawPhone) addr() string { return p.conn.LocalAddr().String() }

// next returns the next request, and whether it repeats one read
// before (the same method, CSeq and branch); nil when none comes within d.
func (p *rawPhone) next(d time.Duration) (*sip.Request, bool) {
	p.t.Helper()
	buf := make([]byte, 65535)
	p.conn.SetReadDeadline(time.Now().Add(d))
	for {
		n, from, err := p.conn.ReadFrom(buf)
		if err != nil {
			return nil, false
		}
		msg, err := sip.ParseMessage(append([]byte(nil), buf[:n]...))
		if err != nil {
			p.t.Fatalf("the phone read what does not parse: %v\n%s", err, buf[:n])
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			continue
		}
		branch, _ := req.Via().Params.Get("branch")
		key := string(req.Method) + " " + req.CSeq().Value() + " " + branch
		repeat := p.seen[key]
		p.seen[key] = true
		req.SetSource(from.String())
		return req, repeat
	}
}

// expect reads requests, skipping retransmissions, and fails the test
// unless the next new one is method.
func (p *rawPhone) expect(method sip.RequestMethod) *sip.Request {
	p.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		req, repeat := p.next(time.Until(deadline))
		switch {
		case req == nil:
			p.t.Fatalf("the phone got no %s", method)
		case repeat:
			continue
		case req.Method != method:
			p.t.Fatalf("the phone got %s, want %s:\n%s", req.Method, method, req)
		}
		return req
	}
}

// expectRepeat reads requests until one that repeats an earlier one of
// method, and fails the test when something new comes first.
func (p *rawPhone) expectRepeat(method sip.RequestMethod) *sip.Request {
	p.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		req, repeat := p.next(time.Until(deadline))
		switch {
		case req == nil:
			p.t.Fatalf("the phone got no %s again", method)
		case repeat && req.Method == method:
			return req
		case !repeat:
			p.t.Fatalf("the phone got %s, want %s again", req.StartLine(), method)
		}
	}
}

// quiet fails the test if a new request of method comes within d.
func (p *rawPhone) quiet(method sip.RequestMethod, d time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for {
		req, repeat := p.next(time.Until(deadline))
		if req == nil {
			return
		}
		if !repeat && req.Method == method {
			p.t.Fatalf("the phone got %s too early", req.StartLine())
		}
	}
}

// respond sends a response to req, to the address its Via names (as a
// phone does), with To-tag tag (none when "") and headers.
func (p *rawPhone) respond(req *sip.Request, status int, reason, tag string, body []byte, headers ...sip.Header) {
	p.t.Helper()
	res := sip.NewResponseFromRequest(req, status, reason, body)
	if tag != "" {
		res.To().Params.Add("tag", tag)
	}
	for _, h := range headers {
		res.AppendHeader(h)
	}
	if len(body) > 0 {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	via := req.Via()
	to, err := net.ResolveUDPAddr("udp", net.JoinHostPort(via.Host, itoa(via.Port)))
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.conn.WriteTo([]byte(res.String()), to); err != nil {
		p.t.Fatal(err)
	}
}

func (p *rawPhone) contact() sip.Header {
	return sip.NewHeader("Contact", "<sip:phone@"+p.addr()+">")
}

func toTag(req *sip.Request) string {
	tag, _ := req.To().Params.Get("tag")
	return tag
}

// A 2xx repeated after its ACK is acknowledged again, with the same ACK;
// a 2xx from a second fork (another tag) is acknowledged and hung up at
// once; the dialog Wait returns is the first fork's, and our BYE names it.
func TestInviteRepeated2xxAndSecondFork(t *testing.T) {
	s := newStack(t)
	phone := newRawPhone(t)
	o, err := s.set.Invite(within(t, 5*time.Second), target(t, phone.addr()), offer("sendrecv"))
	if err != nil {
		t.Fatal(err)
	}
	invite := phone.expect(sip.INVITE)
	answer := offer("sendrecv")
	phone.respond(invite, 200, "OK", "first", answer, phone.contact())
	ack := phone.expect(sip.ACK)
	if ack.Recipient.User != "phone" || toTag(ack) != "first" || ack.CSeq().Value() != "1 ACK" {
		t.Errorf("the ACK: %s, To-tag %q, CSeq %s", ack.StartLine(), toTag(ack), ack.CSeq().Value())
	}
	d, res, err := o.Wait(within(t, 5*time.Second))
	if err != nil || d == nil || resTag(res) != "first" {
		t.Fatalf("Wait: %v, %v", d, err)
	}
	defer d.Close()

	phone.respond(invite, 200, "OK", "first", answer, phone.contact()) // as if its ACK were lost
	phone.expectRepeat(sip.ACK)

	phone.respond(invite, 200, "OK", "second", answer, phone.contact()) // another fork
	second := phone.expect(sip.ACK)
	if toTag(second) != "second" {
		t.Errorf("the second fork's ACK has To-tag %q", toTag(second))
	}
	bye := phone.expect(sip.BYE)
	if toTag(bye) != "second" {
		t.Errorf("the BYE of the second fork has To-tag %q", toTag(bye))
	}
	phone.respond(bye, 200, "OK", "", nil)
	if d.Context().Err() != nil {
		t.Errorf("hanging up the second fork ended the first: %v", context.Cause(d.Context()))
	}

	done := make(chan error, 1)
	go func() { done <- d.Bye(within(t, 5*time.Second)) }()
	bye = phone.expect(sip.BYE)
	if toTag(bye) != "first" || bye.CSeq().SeqNo != 2 {
		t.Errorf("our BYE: To-tag %q, CSeq %s", toTag(bye), bye.CSeq().Value())
	}
	phone.respond(bye, 200, "OK", "", nil)
	if err := <-done; err != nil {
		t.Errorf("Bye: %v", err)
	}
}

// resTag is a response's To-tag, "" for none (or no response).
func resTag(res *sip.Response) string {
	if res == nil {
		return ""
	}
	tag, _ := res.To().Params.Get("tag")
	return tag
}

// Cancel before any response: the CANCEL waits for the first provisional
// response (RFC 3261 §9.1), then goes with the INVITE's branch; the
// phone's 487 is acknowledged, and Wait reports ErrCancelled.
func TestInviteCancelBeforeProvisional(t *testing.T) {
	s := newStack(t)
	phone := newRawPhone(t)
	o, err := s.set.Invite(within(t, 5*time.Second), target(t, phone.addr()), offer("sendrecv"))
	if err != nil {
		t.Fatal(err)
	}
	invite := phone.expect(sip.INVITE)
	o.Cancel()
	phone.quiet(sip.CANCEL, 700*time.Millisecond) // no CANCEL before a provisional response
	phone.respond(invite, 180, "Ringing", "ring", nil)
	cancel := phone.expect(sip.CANCEL)
	ib, _ := invite.Via().Params.Get("branch")
	cb, _ := cancel.Via().Params.Get("branch")
	if cb != ib || cancel.CSeq().Value() != "1 CANCEL" || toTag(cancel) != "" || cancel.Recipient.String() != invite.Recipient.String() {
		t.Errorf("the CANCEL: %s, branch %s (the INVITE's: %s), CSeq %s, To-tag %q", cancel.StartLine(), cb, ib, cancel.CSeq().Value(), toTag(cancel))
	}
	phone.respond(cancel, 200, "OK", "ring", nil)
	phone.respond(invite, 487, "Request Terminated", "ring", nil)
	ack := phone.expect(sip.ACK)
	if ab, _ := ack.Via().Params.Get("branch"); ab != ib {
		t.Errorf("the ACK of the 487 has branch %s, want the INVITE's", ab)
	}
	d, res, err := o.Wait(within(t, 5*time.Second))
	if d != nil || !errors.Is(err, dialog.ErrCancelled) || res == nil || res.StatusCode != 487 {
		t.Errorf("Wait: %v, %v, %v; want no dialog, the 487 and ErrCancelled", d, res, err)
	}
}

// A phone whose 2xx demands a session timer with us as refresher
// (refresher=uac, though we offered none) gets our UPDATE at half the
// interval, which says refresher=uac (the UPDATE is ours).
func TestInviteSessionTimerWeRefresh(t *testing.T) {
	s := newStack(t)
	phone := newRawPhone(t)
	o, err := s.set.Invite(within(t, 5*time.Second), target(t, phone.addr()), offer("sendrecv"))
	if err != nil {
		t.Fatal(err)
	}
	invite := phone.expect(sip.INVITE)
	if invite.GetHeader("Supported") != nil || invite.GetHeader("Session-Expires") != nil {
		t.Errorf("the INVITE offers a session timer: %v %v", invite.GetHeader("Supported"), invite.GetHeader("Session-Expires"))
	}
	phone.respond(invite, 200, "OK", "timed", offer("sendrecv"), phone.contact(),
		sip.NewHeader("Session-Expires", "2;refresher=uac"), sip.NewHeader("Require", "timer"))
	phone.expect(sip.ACK)
	d, _, err := o.Wait(within(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	update := phone.expect(sip.UPDATE)
	if se := update.GetHeader("Session-Expires"); se == nil || se.Value() != "2;refresher=uac" || toTag(update) != "timed" {
		t.Errorf("the refresh: %s with Session-Expires %v", update.StartLine(), se)
	}
	phone.respond(update, 200, "OK", "", nil, sip.NewHeader("Session-Expires", "2;refresher=uac"))
	if d.Context().Err() != nil {
		t.Errorf("the dialog ended: %v", context.Cause(d.Context()))
	}
	phone.expect(sip.UPDATE) // and again, a second later
}

// A phone whose 2xx names itself refresher and that never refreshes: the
// dialog ends with ErrSessionExpired before the interval is over, and we
// send BYE.
func TestInviteSessionTimerPhoneRefreshes(t *testing.T) {
	s := newStack(t)
	phone := newRawPhone(t)
	o, err := s.set.Invite(within(t, 5*time.Second), target(t, phone.addr()), offer("sendrecv"))
	if err != nil {
		t.Fatal(err)
	}
	invite := phone.expect(sip.INVITE)
	phone.respond(invite, 200, "OK", "timed", offer("sendrecv"), phone.contact(), sip.NewHeader("Session-Expires", "2;refresher=uas"))
	phone.expect(sip.ACK)
	d, _, err := o.Wait(within(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	bye := phone.expect(sip.BYE)
	phone.respond(bye, 200, "OK", "", nil)
	if err := ended(t, d); !errors.Is(err, dialog.ErrSessionExpired) {
		t.Errorf("the dialog ended with %v, want ErrSessionExpired", err)
	}
}

// A phone behind a NAT names private addresses in its Contact; every
// request of ours (INVITE, ACK, BYE) goes to Target.Destination, where
// its REGISTER came from, while the Request-URIs keep the Contact's.
func TestInviteThroughNAT(t *testing.T) {
	s := newStack(t)
	phone := newRawPhone(t)
	private := "192.0.2.10:5060" // TEST-NET-1: nothing answers there
	tg := target(t, private)
	tg.Destination = phone.addr()
	o, err := s.set.Invite(within(t, 5*time.Second), tg, offer("sendrecv"))
	if err != nil {
		t.Fatal(err)
	}
	invite := phone.expect(sip.INVITE)
	if invite.Recipient.HostPort() != private {
		t.Errorf("the INVITE's Request-URI is %s", invite.Recipient.String())
	}
	phone.respond(invite, 200, "OK", "natted", offer("sendrecv"), sip.NewHeader("Contact", "<sip:phone@"+private+">"))
	ack := phone.expect(sip.ACK)
	if ack.Recipient.String() != "sip:phone@"+private {
		t.Errorf("the ACK's Request-URI is %s, want the 2xx's Contact", ack.Recipient.String())
	}
	d, _, err := o.Wait(within(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	done := make(chan error, 1)
	go func() { done <- d.Bye(within(t, 5*time.Second)) }()
	bye := phone.expect(sip.BYE)
	phone.respond(bye, 200, "OK", "", nil)
	if err := <-done; err != nil {
		t.Errorf("Bye: %v", err)
	}
}

// The 2xx's Record-Route, reversed, is the route set (RFC 3261 §12.1.2):
// the ACK and the BYE go to the proxy nearest us (here the phone's own
// socket stands in for it) with Route headers in that order, and the
// Request-URI is the 2xx's Contact.
func TestInviteRouteSet(t *testing.T) {
	s := newStack(t)
	phone := newRawPhone(t)
	o, err := s.set.Invite(within(t, 5*time.Second), target(t, phone.addr()), offer("sendrecv"))
	if err != nil {
		t.Fatal(err)
	}
	invite := phone.expect(sip.INVITE)
	near := "<sip:" + phone.addr() + ";lr>"
	far := "<sip:192.0.2.20;lr>"
	phone.respond(invite, 200, "OK", "routed", offer("sendrecv"), sip.NewHeader("Contact", "<sip:phone@192.0.2.30>"),
		sip.NewHeader("Record-Route", far+", <sip:192.0.2.21;lr>"), sip.NewHeader("Record-Route", near))
	want := []string{near, "<sip:192.0.2.21;lr>", far}
	routes := func(req *sip.Request) []string {
		var got []string
		for _, h := range req.GetHeaders("Route") {
			for _, r := range strings.Split(h.Value(), ",") {
				got = append(got, strings.TrimSpace(r))
			}
		}
		return got
	}
	ack := phone.expect(sip.ACK)
	if got := routes(ack); !slices.Equal(got, want) || ack.Recipient.String() != "sip:phone@192.0.2.30" {
		t.Errorf("the ACK: %s with routes %v, want %v", ack.StartLine(), got, want)
	}
	d, _, err := o.Wait(within(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	done := make(chan error, 1)
	go func() { done <- d.Bye(within(t, 5*time.Second)) }()
	bye := phone.expect(sip.BYE)
	if got := routes(bye); !slices.Equal(got, want) {
		t.Errorf("the BYE's routes are %v, want %v", got, want)
	}
	phone.respond(bye, 200, "OK", "", nil)
	if err := <-done; err != nil {
		t.Errorf("Bye: %v", err)
	}
}

// A 2xx that came before Cancel but that Wait has not handed out is hung
// up by Wait, which reports ErrCancelled: after Cancel, Wait never
// returns a dialog (what a caller that rang several phones needs).
func TestInviteCancelAfterAnswer(t *testing.T) {
	s := newStack(t)
	phone := newRawPhone(t)
	o, err := s.set.Invite(within(t, 5*time.Second), target(t, phone.addr()), offer("sendrecv"))
	if err != nil {
		t.Fatal(err)
	}
	invite := phone.expect(sip.INVITE)
	phone.respond(invite, 200, "OK", "late", offer("sendrecv"), phone.contact())
	phone.expect(sip.ACK) // the answer is in
	o.Cancel()
	done := make(chan error, 1)
	go func() {
		d, _, err := o.Wait(within(t, 10*time.Second))
		if d != nil {
			err = errors.New("Wait returned a dialog after Cancel")
		}
		done <- err
	}()
	bye := phone.expect(sip.BYE)
	if toTag(bye) != "late" {
		t.Errorf("the BYE has To-tag %q", toTag(bye))
	}
	phone.respond(bye, 200, "OK", "", nil)
	if err := <-done; !errors.Is(err, dialog.ErrCancelled) {
		t.Errorf("Wait: %v, want ErrCancelled", err)
	}
}
