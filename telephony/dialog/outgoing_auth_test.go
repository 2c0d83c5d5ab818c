package dialog_test

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/callflow/callflow/telephony/dialog"
)

// goCarrier is a carrier in Go on 127.0.0.1 whose INVITE handler the
// test writes, for what SIPp 3.6 cannot check (a SHA-256 digest, a
// Proxy-Authorization's hash) or cannot time (a Cancel while the
// challenge is answered).
func goCarrier(t *testing.T, onInvite func(req *sip.Request, tx sip.ServerTransaction)) string {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("carrier"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnInvite(onInvite)
	srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var serving sync.WaitGroup
	serving.Go(func() { srv.ServeUDP(conn) })
	t.Cleanup(func() {
		ua.Close()
		conn.Close()
		serving.Wait()
	})
	return conn.LocalAddr().String()
}

// digestParam reads one parameter of a digest header, quoted or not.
func digestParam(h, name string) string {
	m := regexp.MustCompile(`(?:^|[ ,])` + name + `=(?:"([^"]*)"|([^, ]*))`).FindStringSubmatch(h)
	if m == nil {
		return ""
	}
	return m[1] + m[2]
}

// digestResponse is the qop=auth response (RFC 7616 §3.4.1), written
// here rather than taken from the library under test.
func digestResponse(newHash func() hash.Hash, user, realm, password, method, uri, nonce, nc, cnonce string) string {
	h := func(s string) string {
		x := newHash()
		x.Write([]byte(s))
		return hex.EncodeToString(x.Sum(nil))
	}
	return h(h(user+":"+realm+":"+password) + ":" + nonce + ":" + nc + ":" + cnonce + ":auth:" + h(method+":"+uri))
}

// verifyDigest checks a Proxy-Authorization or Authorization value
// against the credentials, with the hash its algorithm names.
func verifyDigest(h, method, password string) bool {
	newHash := md5.New
	switch strings.ToUpper(digestParam(h, "algorithm")) {
	case "SHA-256":
		newHash = sha256.New
	case "", "MD5":
	default:
		return false
	}
	want := digestResponse(newHash, digestParam(h, "username"), digestParam(h, "realm"), password, method,
		digestParam(h, "uri"), digestParam(h, "nonce"), digestParam(h, "nc"), digestParam(h, "cnonce"))
	return digestParam(h, "qop") == "auth" && digestParam(h, "response") == want
}

// A carrier that offers MD5 and SHA-256 (MD5 first) gets a SHA-256
// answer in the realm asked for, which verifies; a challenge in a realm
// other than the credentials' is not answered.
func TestInviteDigestSHA256(t *testing.T) {
	got := make(chan string, 2)
	addr := goCarrier(t, func(req *sip.Request, tx sip.ServerTransaction) {
		if h := req.GetHeader("Proxy-Authorization"); h != nil {
			got <- h.Value()
			tx.Respond(sip.NewResponseFromRequest(req, 486, "Busy Here", nil))
			return
		}
		res := sip.NewResponseFromRequest(req, 407, "Proxy Authentication Required", nil)
		res.AppendHeader(sip.NewHeader("Proxy-Authenticate", `Digest realm="carrier.example", nonce="n-md5", qop="auth", algorithm=MD5`))
		res.AppendHeader(sip.NewHeader("Proxy-Authenticate", `Digest realm="carrier.example", nonce="n-sha", qop="auth", algorithm=SHA-256`))
		tx.Respond(res)
	})
	s := newStack(t)
	creds := dialog.Credentials{Username: "trunkuser", Password: "s3cret pass", Realm: "carrier.example"}
	o, err := s.set.Invite(within(t, 5*time.Second), trunkTarget(t, addr, &creds), offer("sendrecv"))
	if err != nil {
		t.Fatal(err)
	}
	_, res, err := o.Wait(within(t, 15*time.Second))
	if res == nil || res.StatusCode != 486 || !isRejected(err, 486) {
		t.Fatalf("Wait: %v, %v; want the 486 that follows a verified digest", res, err)
	}
	h := <-got
	if digestParam(h, "algorithm") != "SHA-256" || digestParam(h, "nonce") != "n-sha" || !verifyDigest(h, "INVITE", creds.Password) {
		t.Errorf("Proxy-Authorization %q: want a SHA-256 answer that verifies", h)
	}

	other := creds
	other.Realm = "elsewhere.example"
	o, err = s.set.Invite(within(t, 5*time.Second), trunkTarget(t, addr, &other), offer("sendrecv"))
	if err != nil {
		t.Fatal(err)
	}
	_, res, err = o.Wait(within(t, 15*time.Second))
	if res == nil || res.StatusCode != 407 || !isRejected(err, 407) || !strings.Contains(err.Error(), "carrier.example") {
		t.Errorf("Wait: %v, %v; want the 407, unanswered, with an error naming its realm", res, err)
	}
	select {
	case h := <-got:
		t.Errorf("credentials for another realm were sent: %q", h)
	default:
	}
}

// Cancel while the challenge is being answered: the INVITE with
// credentials is cancelled once it rings, and Wait reports ErrCancelled
// with its 487, as without a challenge.
func TestInviteCancelDuringChallenge(t *testing.T) {
	retried := make(chan struct{})
	ring := make(chan struct{})
	addr := goCarrier(t, func(req *sip.Request, tx sip.ServerTransaction) {
		if req.GetHeader("Authorization") == nil {
			res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
			res.AppendHeader(sip.NewHeader("WWW-Authenticate", `Digest realm="carrier.example", nonce="n1", qop="auth"`))
			tx.Respond(res)
			return
		}
		close(retried)
		<-ring
		tx.Respond(sip.NewResponseFromRequest(req, 180, "Ringing", nil))
		<-tx.Done() // sipgo answers the CANCEL 200 and the INVITE 487
	})
	s := newStack(t)
	o, err := s.set.Invite(within(t, 5*time.Second), trunkTarget(t, addr, &trunkCredentials), offer("sendrecv"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-retried:
	case <-time.After(10 * time.Second):
		t.Fatal("the INVITE did not come again with credentials")
	}
	o.Cancel() // before the new INVITE has a provisional response: the CANCEL waits for one
	close(ring)
	d, res, err := o.Wait(within(t, 15*time.Second))
	if d != nil || !errors.Is(err, dialog.ErrCancelled) || res == nil || res.StatusCode != 487 {
		t.Errorf("Wait: %v, %v, %v; want no dialog, the 487 and ErrCancelled", d, res, err)
	}
	if res != nil && res.CSeq().SeqNo != 2 {
		t.Errorf("the 487 is of CSeq %d, want the INVITE with credentials' 2", res.CSeq().SeqNo)
	}
}

// Cancel before the challenge comes: the INVITE is not sent again, and
// Wait reports ErrCancelled with the challenge.
func TestInviteCancelBeforeChallenge(t *testing.T) {
	invites := make(chan *sip.Request, 2)
	challenge := make(chan struct{})
	addr := goCarrier(t, func(req *sip.Request, tx sip.ServerTransaction) {
		invites <- req
		<-challenge
		res := sip.NewResponseFromRequest(req, 407, "Proxy Authentication Required", nil)
		res.AppendHeader(sip.NewHeader("Proxy-Authenticate", `Digest realm="carrier.example", nonce="n1", qop="auth"`))
		tx.Respond(res)
	})
	s := newStack(t)
	o, err := s.set.Invite(within(t, 5*time.Second), trunkTarget(t, addr, &trunkCredentials), offer("sendrecv"))
	if err != nil {
		t.Fatal(err)
	}
	<-invites
	o.Cancel()
	close(challenge)
	d, res, err := o.Wait(within(t, 15*time.Second))
	if d != nil || !errors.Is(err, dialog.ErrCancelled) || res == nil || res.StatusCode != 407 {
		t.Errorf("Wait: %v, %v, %v; want no dialog, the 407 and ErrCancelled", d, res, err)
	}
	select {
	case req := <-invites:
		t.Errorf("the INVITE went again after Cancel: %v", req.CSeq())
	default:
	}
}
