package telephony_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/callflow/callflow/telephony"
	"github.com/callflow/callflow/vm"
)

// ended is how a call ended, as Live.Begin's end saw it.
type ended struct {
	id     string
	final  vm.Effect
	cause  error
	ending string
	path   []string
}

// watched counts the calls a server begins and reports how each ends.
type watched struct {
	mu    sync.Mutex
	begun int
	ends  chan ended
}

func (w *watched) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.begun
}

// watch makes live's calls observable: each begins with a path hook, and
// its end is sent on the returned channel.
func watch(srv *telephony.Server, live telephony.Live) *watched {
	w := &watched{ends: make(chan ended, 64)}
	live.Begin = func(_ context.Context, c telephony.CallInfo, _ func(error)) ([]vm.Hook, func(vm.Effect, error), error) {
		w.mu.Lock()
		w.begun++
		w.mu.Unlock()
		path := &telephony.PathHook{Program: live.Programs[c.Flow]}
		return []vm.Hook{path}, func(final vm.Effect, cause error) {
			w.ends <- ended{id: c.ID, final: final, cause: cause, ending: telephony.Ending(final, cause), path: path.Path()}
		}, nil
	}
	srv.Load(&live)
	return w
}

func (w *watched) end(t *testing.T) ended {
	t.Helper()
	select {
	case e := <-w.ends:
		return e
	case <-time.After(20 * time.Second):
		t.Fatal("no call ended in 20 s")
		return ended{}
	}
}

// A re-INVITE changes the call in progress: hold (sendonly answered with
// recvonly, and no RTP while held), resume (sendrecv again, RTP again),
// in the same dialog (the same To-tag and RTP port), with one call
// record; the caller's key still works after resuming, and no RTP follows
// the caller's BYE.
func TestReinviteHoldsAndResumes(t *testing.T) {
	addr, srv, live := startServerWith(t, "127.0.0.0/8")
	w := watch(srv, live)
	p := newRawPeer(t, addr, "udp")
	c := p.newCall("+14155550104")
	c.send("INVITE", p.sdp("sendrecv"))
	ok := p.response(sip.INVITE, 5*time.Second)
	if ok.StatusCode != 200 {
		t.Fatalf("INVITE: %d", ok.StatusCode)
	}
	c.answered(ok)
	c.send("ACK", "")
	media := sdpAddr(t, ok.Body())
	if p.quiet(time.Second) {
		t.Fatal("no RTP after the answer")
	}

	c.send("INVITE", p.sdp("sendonly"))
	hold := p.response(sip.INVITE, 5*time.Second)
	if hold.StatusCode != 200 || !strings.Contains(string(hold.Body()), "a=recvonly") {
		t.Fatalf("hold: %d, answer:\n%s\nwant 200 with a=recvonly", hold.StatusCode, hold.Body())
	}
	c.answered(hold) // fails the test if the To-tag changed
	if got := sdpAddr(t, hold.Body()); got != media {
		t.Errorf("hold moved the server's RTP from %s to %s", media, got)
	}
	c.send("ACK", "")
	p.settleRTP() // forget the packets already on the wire
	if !p.quiet(500 * time.Millisecond) {
		t.Error("RTP while the caller holds the call")
	}

	c.send("INVITE", p.sdp("sendrecv"))
	resume := p.response(sip.INVITE, 5*time.Second)
	if resume.StatusCode != 200 || !strings.Contains(string(resume.Body()), "a=sendrecv") {
		t.Fatalf("resume: %d\n%s", resume.StatusCode, resume.Body())
	}
	c.answered(resume)
	c.send("ACK", "")
	if p.quiet(time.Second) {
		t.Fatal("no RTP after resuming")
	}
	p.press(media, 1)
	// "one" plays (10 frames), the flow ends and the server hangs up.
	bye := p.request(sip.BYE, 10*time.Second)
	p.reply(bye, 200, "OK")
	e := w.end(t)
	if strings.Join(e.path, " ") != "ivr.main announce.one" {
		t.Errorf("path %v: the key after resuming was not taken", e.path)
	}
	if n := w.count(); n != 1 {
		t.Errorf("%d calls begun for one call and two re-INVITEs", n)
	}
	p.settleRTP()
	if !p.quiet(500 * time.Millisecond) {
		t.Error("RTP after the call ended")
	}
}

// The caller hangs up with BYE while on hold: the call ends at once, and
// no RTP follows.
func TestByeEndsACallOnHold(t *testing.T) {
	addr, srv, live := startServerWith(t, "127.0.0.0/8")
	w := watch(srv, live)
	p := newRawPeer(t, addr, "udp")
	c := p.newCall("+14155550103") // a 20 s prompt
	c.send("INVITE", p.sdp("sendrecv"))
	ok := p.response(sip.INVITE, 5*time.Second)
	c.answered(ok)
	c.send("ACK", "")
	c.send("INVITE", p.sdp("inactive"))
	if r := p.response(sip.INVITE, 5*time.Second); r.StatusCode != 200 || !strings.Contains(string(r.Body()), "a=inactive") {
		t.Fatalf("hold: %d\n%s", r.StatusCode, r.Body())
	}
	c.send("ACK", "")
	c.send("BYE", "")
	if r := p.response(sip.BYE, 5*time.Second); r.StatusCode != 200 {
		t.Fatalf("BYE: %d", r.StatusCode)
	}
	if e := w.end(t); e.final.Reason != vm.ReasonCallerHungUp {
		t.Errorf("ended %s, want caller-hung-up", e.ending)
	}
	p.settleRTP()
	if !p.quiet(500 * time.Millisecond) {
		t.Error("RTP after the caller's BYE")
	}
}

// A re-INVITE for a dialog that does not exist is refused with 481, never
// routed as a new call.
func TestReinviteOfNoDialog(t *testing.T) {
	addr, srv, live := startServerWith(t, "127.0.0.0/8")
	w := watch(srv, live)
	p := newRawPeer(t, addr, "udp")
	c := p.newCall("+14155550104")
	c.toTag = "nosuchtag"
	c.send("INVITE", p.sdp("sendrecv"))
	if r := p.response(sip.INVITE, 5*time.Second); r.StatusCode != 481 {
		t.Errorf("re-INVITE of no dialog: %d, want 481", r.StatusCode)
	}
	if w.count() != 0 {
		t.Error("a re-INVITE of no dialog began a call")
	}
}

// A CANCEL that races the INVITE, 0 to 5 ms after it, leaves the INVITE
// with exactly one final response: 487 (and no 200 ever, though the
// server retransmits a 200 for 2 s over UDP), or 200 when the answer
// won. A cancelled call ends as cancelled, not confirmed.
func TestCancelRacesTheInvite(t *testing.T) {
	addr, srv, live := startServerWith(t, "127.0.0.0/8")
	w := watch(srv, live)
	for delay := range 6 {
		t.Run(fmt.Sprintf("%dms", delay), func(t *testing.T) {
			p := newRawPeer(t, addr, "udp")
			c := p.newCall("+14155550103")
			c.send("INVITE", p.sdp("sendrecv"))
			time.Sleep(time.Duration(delay) * time.Millisecond) // the race being tested
			c.send("CANCEL", "")
			var finals []int
			var answer *sip.Response
			cancelStatus := 0
			tags := map[string]bool{} // the To-tags of the final responses and the CANCEL's
			deadline := time.Now().Add(2500 * time.Millisecond)
			for time.Now().Before(deadline) {
				r, ok := p.next(time.Until(deadline)).(*sip.Response)
				if !ok {
					continue
				}
				if r.StatusCode >= 200 {
					tag, _ := r.To().Params.Get("tag")
					tags[tag] = true
				}
				switch {
				case r.CSeq().MethodName == sip.CANCEL:
					cancelStatus = r.StatusCode
				case r.StatusCode >= 200:
					finals = append(finals, r.StatusCode)
					if r.StatusCode >= 300 {
						c.send("ACK", "")
					} else if answer == nil {
						answer = r
					}
				}
			}
			if cancelStatus == 200 && len(tags) != 1 {
				t.Errorf("the CANCEL's 200 and the INVITE's final response carry To-tags %v; RFC 3261 §9.2 wants one", tags)
			}
			distinct := map[int]bool{}
			for _, f := range finals {
				distinct[f] = true
			}
			if len(distinct) != 1 {
				t.Fatalf("final responses %v to one INVITE (CANCEL got %d); want exactly one", finals, cancelStatus)
			}
			switch {
			case distinct[487]:
				if cancelStatus != 200 {
					t.Errorf("CANCEL got %d, want 200", cancelStatus)
				}
				if e := w.end(t); e.ending != "cancelled" {
					t.Errorf("a cancelled call ended %s", e.ending)
				}
			case distinct[200]:
				// The answer went first (the CANCEL found nothing to
				// cancel): the caller confirms, and hangs up.
				c.answered(answer)
				c.send("ACK", "")
				c.send("BYE", "")
				if e := w.end(t); e.ending != "caller-hung-up" {
					t.Errorf("a call answered before its CANCEL ended %s (%v)", e.ending, e.cause)
				}
			default:
				t.Fatalf("final response %v", finals)
			}
		})
	}
}

// A CANCEL that matches no INVITE gets 481.
func TestStrayCancel(t *testing.T) {
	addr := startServer(t, "127.0.0.0/8")
	p := newRawPeer(t, addr, "udp")
	c := p.newCall("+14155550100")
	c.inviteBranch, c.inviteCSeq = "z9hG4bKnothing", 1
	c.send("CANCEL", "")
	if r := p.response(sip.CANCEL, 5*time.Second); r.StatusCode != 481 {
		t.Errorf("stray CANCEL: %d, want 481", r.StatusCode)
	}
}

// An INVITE without SDP (late offer) gets our offer in the 200, and the
// answer in the ACK says where media goes.
func TestLateOffer(t *testing.T) {
	addr, srv, live := startServerWith(t, "127.0.0.0/8")
	w := watch(srv, live)
	p := newRawPeer(t, addr, "udp")
	c := p.newCall("+14155550100")
	c.send("INVITE", "")
	ok := p.response(sip.INVITE, 5*time.Second)
	if ok.StatusCode != 200 {
		t.Fatalf("late offer: %d, want 200", ok.StatusCode)
	}
	offer := string(ok.Body())
	if !strings.Contains(offer, "RTP/AVP 0 8 101") || !strings.Contains(offer, "a=sendrecv") {
		t.Errorf("the 200's offer:\n%s", offer)
	}
	c.answered(ok)
	if !p.quiet(300 * time.Millisecond) {
		t.Error("RTP before the ACK brought the answer: the server cannot know where to send it")
	}
	c.send("ACK", p.sdp("sendrecv"))
	if p.quiet(time.Second) {
		t.Fatal("no RTP to the address the ACK's answer gave")
	}
	bye := p.request(sip.BYE, 10*time.Second)
	p.reply(bye, 200, "OK")
	if e := w.end(t); e.ending != "flow-end" {
		t.Errorf("ended %s", e.ending)
	}
}

// A 200 OK that is never acknowledged ends the call as not-confirmed,
// after the server repeated the 200 over UDP.
func TestNoACK(t *testing.T) {
	addr, srv, live := startServerOpts(t, []telephony.Option{telephony.WithACKTimeout(1500 * time.Millisecond)}, "127.0.0.0/8")
	w := watch(srv, live)
	p := newRawPeer(t, addr, "udp")
	c := p.newCall("+14155550100")
	c.send("INVITE", p.sdp("sendrecv"))
	oks := 0
	deadline := time.Now().Add(1300 * time.Millisecond)
	for time.Now().Before(deadline) {
		if r, ok := p.next(time.Until(deadline)).(*sip.Response); ok && r.StatusCode == 200 {
			oks++
		}
	}
	if oks < 2 {
		t.Errorf("%d 200 OKs in 1.3 s without an ACK; the server repeats it at 0.5 and 1.5 s", oks)
	}
	e := w.end(t)
	if e.ending != "not-confirmed" || !errors.Is(e.cause, telephony.ErrNotConfirmed) {
		t.Errorf("a call never acknowledged ended %s (%v)", e.ending, e.cause)
	}
	if len(e.path) != 0 {
		t.Errorf("its flow ran: %v", e.path)
	}
}

// What the server says of itself and of requests it cannot take.
func TestStatusLines(t *testing.T) {
	addr := startServer(t, "127.0.0.0/8")
	p := newRawPeer(t, addr, "udp")
	raw := func(method, version, cseqMethod, body string) *sip.Response {
		t.Helper()
		p.send(strings.Join([]string{
			fmt.Sprintf("%s sip:+14155550100@%s %s", method, addr, version),
			fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport", p.local, token()),
			"Max-Forwards: 70",
			"From: <sip:a@127.0.0.1>;tag=" + token(),
			fmt.Sprintf("To: <sip:+14155550100@%s>", addr),
			"Call-ID: " + token(),
			"CSeq: 1 " + cseqMethod,
			fmt.Sprintf("Contact: <sip:a@%s>", p.local),
		}, "\r\n"), body)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if r, ok := p.next(time.Until(deadline)).(*sip.Response); ok && r.StatusCode != 100 {
				return r
			}
		}
		t.Fatalf("no response to %s %s", method, version)
		return nil
	}
	if r := raw("OPTIONS", "SIP/7.0", "OPTIONS", ""); r.StatusCode != 505 || r.SipVersion != "SIP/2.0" {
		t.Errorf("SIP/7.0: %s %d, want SIP/2.0 505", r.SipVersion, r.StatusCode)
	}
	if r := raw("INVITE", "SIP/2.0", "BYE", p.sdp("sendrecv")); r.StatusCode != 400 || r.Reason != "Bad Request" {
		t.Errorf("INVITE with CSeq BYE: %d %s, want 400 Bad Request", r.StatusCode, r.Reason)
	}
	if r := raw("INVITE", "SIP/2.0", "INVITE", "v=0\r\nthis is not SDP\r\n"); r.StatusCode != 400 || r.Reason != "Bad Request" {
		t.Errorf("INVITE with bad SDP: %d %s, want 400 Bad Request", r.StatusCode, r.Reason)
	}
	v6 := strings.ReplaceAll(p.sdp("sendrecv"), "IP4 127.0.0.1", "IP6 ::1")
	if r := raw("INVITE", "SIP/2.0", "INVITE", v6); r.StatusCode != 488 {
		t.Errorf("an IPv6 offer to an IPv4 RTP socket: %d, want 488", r.StatusCode)
	}
	r := raw("SUBSCRIBE", "SIP/2.0", "SUBSCRIBE", "")
	if r.StatusCode != 405 || r.GetHeader("Allow") == nil || !strings.Contains(r.GetHeader("Allow").Value(), "INVITE") {
		t.Errorf("SUBSCRIBE: %d, Allow %v; want 405 with Allow", r.StatusCode, r.GetHeader("Allow"))
	}
	r = raw("OPTIONS", "SIP/2.0", "OPTIONS", "")
	for _, h := range []string{"Allow", "Supported", "Server", "Accept"} {
		if r.GetHeader(h) == nil {
			t.Errorf("OPTIONS' 200 has no %s header", h)
		}
	}
	if r.StatusCode != 200 || !strings.Contains(r.GetHeader("Supported").Value(), "timer") {
		t.Errorf("OPTIONS: %d, Supported %v", r.StatusCode, r.GetHeader("Supported"))
	}
}

// Session timers (RFC 4028): the interval the caller asks for is granted
// with the caller as refresher; refreshes (UPDATE) keep the call up; when
// they stop, the server hangs up at the interval's end. An interval below
// the minimum gets 422 with Min-SE.
func TestSessionTimer(t *testing.T) {
	addr, srv, live := startServerOpts(t, []telephony.Option{telephony.WithMinSessionExpires(2)}, "127.0.0.0/8")
	w := watch(srv, live)
	p := newRawPeer(t, addr, "udp")

	short := p.newCall("+14155550103")
	short.send("INVITE", p.sdp("sendrecv"), "Supported: timer", "Session-Expires: 1")
	if r := p.response(sip.INVITE, 5*time.Second); r.StatusCode != 422 || r.GetHeader("Min-SE") == nil || r.GetHeader("Min-SE").Value() != "2" {
		t.Errorf("Session-Expires below the minimum: %d, Min-SE %v", r.StatusCode, r.GetHeader("Min-SE"))
	}
	short.send("ACK", "")

	c := p.newCall("+14155550103") // a 20 s prompt
	c.send("INVITE", p.sdp("sendrecv"), "Supported: timer", "Session-Expires: 3")
	ok := p.response(sip.INVITE, 5*time.Second)
	se := ok.GetHeader("Session-Expires")
	if ok.StatusCode != 200 || se == nil || se.Value() != "3;refresher=uac" || ok.GetHeader("Require") == nil {
		t.Fatalf("200 with Session-Expires %v, Require %v; want 3;refresher=uac and Require: timer", se, ok.GetHeader("Require"))
	}
	c.answered(ok)
	c.send("ACK", "")
	for range 3 { // refreshes every second for 3 s: longer than the interval
		time.Sleep(time.Second) // the caller's refresh interval
		c.send("UPDATE", "", "Session-Expires: 3;refresher=uac")
		if r := p.response(sip.UPDATE, 5*time.Second); r.StatusCode != 200 {
			t.Fatalf("refresh: %d", r.StatusCode)
		}
	}
	select {
	case e := <-w.ends:
		t.Fatalf("the call ended (%s) while it was refreshed", e.ending)
	default:
	}
	refreshed := time.Now()
	bye := p.request(sip.BYE, 10*time.Second)
	p.reply(bye, 200, "OK")
	if d := time.Since(refreshed); d < 1500*time.Millisecond || d > 3500*time.Millisecond {
		t.Errorf("the server hung up %s after the last refresh; the interval is 3 s (less a third)", d)
	}
	if e := w.end(t); e.final.Reason != vm.ReasonCallerHungUp {
		t.Errorf("an expired session ended %s", e.ending)
	}
}

// Over TCP, the 200's Contact says transport=tcp, and the server's BYE
// comes over the caller's own connection.
func TestTCPDialogUsesTheCallersConnection(t *testing.T) {
	addr, srv, live := startServerWith(t, "127.0.0.0/8")
	w := watch(srv, live)
	p := newRawPeer(t, addr, "tcp")
	c := p.newCall("+14155550100") // "hello": the flow ends and the server hangs up
	c.send("INVITE", p.sdp("sendrecv"))
	ok := p.response(sip.INVITE, 5*time.Second)
	if ok.StatusCode != 200 {
		t.Fatalf("INVITE over TCP: %d", ok.StatusCode)
	}
	if ct := ok.Contact(); ct == nil || !strings.EqualFold(paramOf(ct.Address.UriParams, "transport"), "tcp") {
		t.Errorf("Contact %v: want ;transport=tcp", ct)
	}
	c.answered(ok)
	c.send("ACK", "")
	bye := p.request(sip.BYE, 10*time.Second) // read from the connection the INVITE went over
	p.reply(bye, 200, "OK")
	if e := w.end(t); e.ending != "flow-end" {
		t.Errorf("ended %s", e.ending)
	}
}

func paramOf(p sip.HeaderParams, k string) string {
	v, _ := p.Get(k)
	return v
}

// Behind a one-to-one NAT the server advertises its public address: the
// 200's Contact and SDP name it, while it listens on its own.
func TestAdvertisedAddress(t *testing.T) {
	addr, srv, live := startServerOpts(t, []telephony.Option{telephony.WithAdvertisedAddr(netip.MustParseAddr("127.0.0.9"))}, "127.0.0.0/8")
	w := watch(srv, live)
	p := newRawPeer(t, addr, "udp")
	c := p.newCall("+14155550100")
	c.send("INVITE", p.sdp("sendrecv"))
	ok := p.response(sip.INVITE, 5*time.Second)
	if ok.StatusCode != 200 {
		t.Fatalf("INVITE: %d", ok.StatusCode)
	}
	if got := sdpAddr(t, ok.Body()).Addr(); got.String() != "127.0.0.9" {
		t.Errorf("SDP names %s, want the advertised 127.0.0.9", got)
	}
	if ct := ok.Contact(); ct == nil || ct.Address.Host != "127.0.0.9" {
		t.Errorf("Contact %v, want the advertised 127.0.0.9", ct)
	}
	c.answered(ok)
	c.send("ACK", "")
	c.send("BYE", "")
	w.end(t)
}
