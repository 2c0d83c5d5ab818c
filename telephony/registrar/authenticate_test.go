package registrar_test

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/callflow/callflow/internal/storetest"
)

// TestAuthenticateINVITE: a phone's INVITE is challenged with 407 and
// Proxy-Authenticate, and taken with the right Proxy-Authorization; a
// forged From, a wrong password and an unknown user get the same 403.
func TestAuthenticateINVITE(t *testing.T) {
	st := storetest.Open(t, "")
	f := serve(t, st)
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		if f.reg.Authenticate(req, tx, req.From().Address.User, true) {
			tx.Respond(sip.NewResponseFromRequest(req, 488, "Authenticated", nil)) // a final answer the test reads
		}
	})
	srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go srv.ServeUDP(conn)
	p := newPhone(t, f, "127.0.0.1")
	p.server = conn.LocalAddr().(*net.UDPAddr)

	invite := func(user string, auth string) *sip.Response {
		t.Helper()
		p.cseq++
		branch := "z9hG4bK" + randHex(6)
		head := fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=%s;rport\r\nMax-Forwards: 70\r\nFrom: <sip:%s@%s>;tag=ft1\r\nTo: <sip:+442071838750@%s>\r\nCall-ID: %s\r\n",
			p.local(), branch, user, domain, domain, p.callID)
		msg := "INVITE sip:+442071838750@" + domain + " SIP/2.0\r\n" + head + fmt.Sprintf("CSeq: %d INVITE\r\n", p.cseq)
		if auth != "" {
			msg += auth + "\r\n"
		}
		msg += "Content-Length: 0\r\n\r\n"
		if _, err := p.conn.WriteTo([]byte(msg), p.server); err != nil {
			t.Fatal(err)
		}
		for {
			select {
			case raw := <-p.msgs:
				m, err := sip.ParseMessage([]byte(raw))
				if err != nil {
					t.Fatal(err)
				}
				res := m.(*sip.Response)
				if res.StatusCode < 200 || res.CSeq().SeqNo != uint32(p.cseq) {
					continue // 100 Trying, or a retransmission of an earlier answer
				}
				// ACK the final answer, as the transaction requires.
				ack := "ACK sip:+442071838750@" + domain + " SIP/2.0\r\n" + strings.Replace(head, "To: <sip:+442071838750@"+domain+">", res.To().String(), 1) + fmt.Sprintf("CSeq: %d ACK\r\nContent-Length: 0\r\n\r\n", p.cseq)
				p.conn.WriteTo([]byte(ack), p.server)
				return res
			case <-time.After(5 * time.Second):
				t.Fatal("no answer to the INVITE")
			}
		}
	}
	answer := func(ch *sip.Response, user, password string) string {
		h := ch.GetHeader("Proxy-Authenticate")
		if h == nil {
			t.Fatalf("a %d without Proxy-Authenticate", ch.StatusCode)
		}
		nonce := nonceRE.FindStringSubmatch(h.Value())[1]
		md := func(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }
		uri := "sip:+442071838750@" + domain
		ha1 := md(user + ":" + domain + ":" + password)
		resp := md(ha1 + ":" + nonce + ":00000001:c0ffee:auth:" + md("INVITE:"+uri))
		return fmt.Sprintf(`Proxy-Authorization: Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5, qop=auth, nc=00000001, cnonce="c0ffee"`, user, domain, nonce, uri, resp)
	}

	ch := invite("ann", "")
	if ch.StatusCode != 407 {
		t.Fatalf("an unauthenticated INVITE got %d, want 407", ch.StatusCode)
	}
	if got := invite("ann", answer(ch, "ann", "ann-secret-1")); got.StatusCode != 488 || got.Reason != "Authenticated" {
		t.Fatalf("the right password got %d %s, want it taken", got.StatusCode, got.Reason)
	}
	// A forged From: bob's own credentials, in an INVITE that says it is
	// ann's, are refused as a wrong password is.
	forged := invite("ann", answer(invite("ann", ""), "bob", "bob-secret-2"))
	if forged.StatusCode != 403 {
		t.Fatalf("bob's credentials in ann's name got %d, want 403", forged.StatusCode)
	}
	wrong := invite("ann", answer(invite("ann", ""), "ann", "not-the-password"))
	unknown := invite("zed", answer(invite("zed", ""), "zed", "whatever-1"))
	if wrong.StatusCode != 403 || unknown.StatusCode != 403 || wrong.Reason != unknown.Reason {
		t.Fatalf("a wrong password got %d %q and an unknown user %d %q, want the same 403", wrong.StatusCode, wrong.Reason, unknown.StatusCode, unknown.Reason)
	}
}
