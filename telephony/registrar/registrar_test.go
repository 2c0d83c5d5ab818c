package registrar_test

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/callflow/callflow/internal/storetest"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony/registrar"
)

const domain = "127.0.0.1"

type directory map[string]bool

func (d directory) Known(user string) bool { return d[user] }
func (d directory) Domain() string         { return domain }

// clock is a settable clock for nonce staleness and expiry.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

type fixture struct {
	st    *store.Store
	reg   *registrar.Registrar
	clock *clock
	addr  *net.UDPAddr
	tcp   net.Addr
}

// serve runs the registrar on UDP and TCP on loopback, with ann and bob
// declared (ann and bob have passwords, cy is declared without one).
func serve(t *testing.T, st *store.Store, opts ...registrar.Option) *fixture {
	t.Helper()
	ctx := context.Background()
	for user, pw := range map[string]string{"ann": "ann-secret-1", "bob": "bob-secret-2", "ghost": "ghost-pw-3"} {
		if err := st.SetCredential(ctx, registrar.NewCredential(user, domain, pw)); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{st: st, clock: newClock()}
	opts = append([]registrar.Option{registrar.WithClock(f.clock.now), registrar.WithNode("n1"),
		registrar.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, opts...)
	// ghost has a password but is not in the live configuration.
	f.reg = registrar.New(st, directory{"ann": true, "bob": true, "cy": true}, opts...)
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRegister(f.reg.Handle)
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr, f.tcp = conn.LocalAddr().(*net.UDPAddr), ln.Addr()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); srv.ServeUDP(conn) }()
	go func() { defer wg.Done(); srv.ServeTCP(ln) }()
	t.Cleanup(func() {
		conn.Close()
		ln.Close()
		ua.Close()
		wg.Wait()
	})
	return f
}

// phone speaks SIP by hand over UDP from a source address of its own.
type phone struct {
	t      *testing.T
	conn   *net.UDPConn
	server *net.UDPAddr
	callID string
	cseq   int
	msgs   chan string
}

func newPhone(t *testing.T, f *fixture, ip string) *phone {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	p := &phone{t: t, conn: conn, server: f.addr, callID: randHex(8) + "@test", msgs: make(chan string, 16)}
	go func() {
		buf := make([]byte, 65535)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(p.msgs)
				return
			}
			p.msgs <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return p
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (p *phone) local() string { return p.conn.LocalAddr().String() }

// request sends a REGISTER for user with the given extra header lines
// and returns the response, raw and parsed.
func (p *phone) request(user string, headers ...string) (string, *sip.Response) {
	p.t.Helper()
	p.cseq++
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER sip:%s SIP/2.0\r\n", domain)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\n", p.local(), randHex(6))
	fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: <sip:%s@%s>;tag=ft1\r\nTo: <sip:%s@%s>\r\n", user, domain, user, domain)
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d REGISTER\r\nUser-Agent: rawphone\r\n", p.callID, p.cseq)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	if _, err := p.conn.WriteTo([]byte(b.String()), p.server); err != nil {
		p.t.Fatal(err)
	}
	select {
	case raw, ok := <-p.msgs:
		if !ok {
			p.t.Fatal("socket closed")
		}
		m, err := sip.ParseMessage([]byte(raw))
		if err != nil {
			p.t.Fatalf("unparsable response %q: %v", raw, err)
		}
		res, ok := m.(*sip.Response)
		if !ok {
			p.t.Fatalf("not a response: %q", raw)
		}
		return raw, res
	case <-time.After(5 * time.Second):
		p.t.Fatalf("no response to REGISTER of %s", user)
	}
	return "", nil
}

var nonceRE = regexp.MustCompile(`nonce="([^"]+)"`)

// authorization answers a challenge as a phone knowing password would.
func authorization(challenge *sip.Response, user, password string) string {
	h := challenge.GetHeader("WWW-Authenticate")
	nonce := nonceRE.FindStringSubmatch(h.Value())[1]
	md := func(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }
	uri := "sip:" + domain
	ha1 := md(user + ":" + domain + ":" + password)
	resp := md(ha1 + ":" + nonce + ":00000001:c0ffee:auth:" + md("REGISTER:"+uri))
	return fmt.Sprintf(`Authorization: Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5, qop=auth, nc=00000001, cnonce="c0ffee"`,
		user, domain, nonce, uri, resp)
}

// register runs the whole exchange: challenge, then the answer.
func (p *phone) register(user, password string, headers ...string) (string, *sip.Response) {
	p.t.Helper()
	_, ch := p.request(user, headers...)
	if ch.StatusCode != 401 {
		p.t.Fatalf("unauthenticated REGISTER got %d, want 401", ch.StatusCode)
	}
	return p.request(user, append(headers, authorization(ch, user, password))...)
}

func contactsOf(res *sip.Response) map[string]string {
	out := map[string]string{}
	for _, h := range res.GetHeaders("Contact") {
		c := h.(*sip.ContactHeader)
		e, _ := c.Params.Get("expires")
		out[c.Address.String()] = e
	}
	return out
}

func TestRegisterOverUDP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store, _ string) {
		f := serve(t, st)
		ctx := context.Background()
		desk := newPhone(t, f, "127.0.0.1")
		deskContact := "sip:ann@" + desk.local()

		// Challenge: MD5 alone by default, with qop auth.
		_, ch := desk.request("ann", "Contact: <"+deskContact+">")
		if ch.StatusCode != 401 {
			t.Fatalf("challenge %d", ch.StatusCode)
		}
		if hs := ch.GetHeaders("WWW-Authenticate"); len(hs) != 1 || !strings.Contains(hs[0].Value(), "algorithm=MD5") || !strings.Contains(hs[0].Value(), `qop="auth"`) || !strings.Contains(hs[0].Value(), `realm="127.0.0.1"`) {
			t.Errorf("challenge headers %v", hs)
		}
		// Success: the binding, with the Expires header's interval.
		_, res := desk.request("ann", "Contact: <"+deskContact+">", "Expires: 600", authorization(ch, "ann", "ann-secret-1"))
		if res.StatusCode != 200 || contactsOf(res)[deskContact] != "600" {
			t.Fatalf("register: %d %v", res.StatusCode, contactsOf(res))
		}
		bs, err := st.Bindings(ctx, "ann", f.clock.now())
		if err != nil || len(bs) != 1 || bs[0].Source != desk.local() || bs[0].Transport != "udp" || bs[0].Node != "n1" || bs[0].UserAgent != "rawphone" {
			t.Fatalf("stored bindings %+v, %v", bs, err)
		}
		if logins, _ := st.Logins(ctx, f.clock.now()); !logins["ann"].Equal(f.clock.now()) {
			t.Errorf("login %v", logins)
		}
		// A refresh with a longer interval than allowed is shortened.
		f.clock.advance(time.Minute)
		_, res = desk.register("ann", "ann-secret-1", "Contact: <"+deskContact+">;expires=99999")
		if res.StatusCode != 200 || contactsOf(res)[deskContact] != "3600" {
			t.Fatalf("refresh: %d %v", res.StatusCode, contactsOf(res))
		}
		// Too brief: 423 with Min-Expires.
		_, res = desk.register("ann", "ann-secret-1", "Contact: <"+deskContact+">;expires=30")
		if res.StatusCode != 423 || res.GetHeader("Min-Expires") == nil || res.GetHeader("Min-Expires").Value() != "60" {
			t.Fatalf("too brief: %d %v", res.StatusCode, res.GetHeader("Min-Expires"))
		}
		// A second phone: the 200 lists both.
		mobile := newPhone(t, f, "127.0.0.1")
		mobileContact := "sip:ann@" + mobile.local()
		_, res = mobile.register("ann", "ann-secret-1", "Contact: <"+mobileContact+">")
		if c := contactsOf(res); res.StatusCode != 200 || len(c) != 2 || c[mobileContact] != "3600" || c[deskContact] == "" {
			t.Fatalf("second phone: %d %v", res.StatusCode, c)
		}
		// A query (no Contact) lists them and changes nothing.
		_, res = mobile.register("ann", "ann-secret-1")
		if c := contactsOf(res); res.StatusCode != 200 || len(c) != 2 {
			t.Fatalf("query: %d %v", res.StatusCode, c)
		}
		// Out of order: the same Call-ID with a CSeq not higher.
		desk.cseq -= 5 // the binding has CSeq 4, from the refresh
		_, ch = desk.request("ann")
		_, res = desk.request("ann", "Contact: <"+deskContact+">;expires=0", authorization(ch, "ann", "ann-secret-1"))
		if res.StatusCode != 400 || !strings.Contains(res.GetHeader("Warning").Value(), "out of order") {
			t.Fatalf("out of order: %d %v", res.StatusCode, res.GetHeader("Warning"))
		}
		desk.cseq += 10
		// Remove one.
		_, res = desk.register("ann", "ann-secret-1", "Contact: <"+deskContact+">;expires=0")
		if c := contactsOf(res); res.StatusCode != 200 || len(c) != 1 || c[mobileContact] == "" {
			t.Fatalf("remove one: %d %v", res.StatusCode, c)
		}
		// A wildcard with a nonzero Expires is refused; with 0, it
		// removes everything and logs ann out.
		_, res = desk.register("ann", "ann-secret-1", "Contact: *", "Expires: 60")
		if res.StatusCode != 400 {
			t.Fatalf("wildcard with Expires 60: %d", res.StatusCode)
		}
		_, res = desk.register("ann", "ann-secret-1", "Contact: *", "Expires: 0")
		if res.StatusCode != 200 || len(contactsOf(res)) != 0 {
			t.Fatalf("wildcard: %d %v", res.StatusCode, contactsOf(res))
		}
		if logins, _ := st.Logins(ctx, f.clock.now()); len(logins) != 0 {
			t.Errorf("logins after the wildcard: %v", logins)
		}
	})
}

func TestExpiryAndStaleNonce(t *testing.T) {
	st := storetest.Open(t, t.TempDir()+"/callflow.db")
	f := serve(t, st)
	ctx := context.Background()
	p := newPhone(t, f, "127.0.0.1")
	contact := "sip:bob@" + p.local()
	_, ch := p.request("bob", "Contact: <"+contact+">;expires=60")
	if _, res := p.request("bob", "Contact: <"+contact+">;expires=60", authorization(ch, "bob", "bob-secret-2")); res.StatusCode != 200 {
		t.Fatalf("register %d", res.StatusCode)
	}
	// The same nonce and nc again is a replay: challenged again, stale.
	_, res := p.request("bob", "Contact: <"+contact+">;expires=60", authorization(ch, "bob", "bob-secret-2"))
	if res.StatusCode != 401 || !strings.Contains(res.GetHeader("WWW-Authenticate").Value(), "stale=true") {
		t.Fatalf("replayed nonce count: %d %v", res.StatusCode, res.GetHeader("WWW-Authenticate"))
	}
	// A nonce past its lifetime, with the right password: stale, no failure.
	f.clock.advance(registrar.NonceLifetime + time.Second)
	_, res = p.request("bob", "Contact: <"+contact+">;expires=60", authorization(ch, "bob", "bob-secret-2"))
	if res.StatusCode != 401 || !strings.Contains(res.GetHeader("WWW-Authenticate").Value(), "stale=true") {
		t.Fatalf("stale nonce: %d %v", res.StatusCode, res.GetHeader("WWW-Authenticate"))
	}
	if n := metric(t, f.reg, "callflow_register_auth_failures_total", ""); n != 0 {
		t.Errorf("%v auth failures counted for stale nonces", n)
	}
	// The sweep expires the binding and logs bob out.
	out, err := f.reg.Sweep(ctx)
	if err != nil || len(out) != 1 || out[0] != "bob" {
		t.Fatalf("sweep: %v, %v", out, err)
	}
	if n := metric(t, f.reg, "callflow_registrations", ""); n != 0 {
		t.Errorf("registrations gauge %v after the sweep", n)
	}
}

var (
	tagRE    = regexp.MustCompile(`tag=[^;\r\n>]+`)
	branchRE = regexp.MustCompile(`branch=[^;\r\n]+`)
	portRE   = regexp.MustCompile(`127\.\d+\.\d+\.\d+:\d+|rport=\d+|received=[0-9.]+`)
	callIDRE = regexp.MustCompile(`Call-ID: [^\r\n]+`)
)

func mask(raw, user string) string {
	raw = nonceRE.ReplaceAllString(raw, `nonce="NONCE"`)
	raw = tagRE.ReplaceAllString(raw, "tag=TAG")
	raw = branchRE.ReplaceAllString(raw, "branch=BRANCH")
	raw = portRE.ReplaceAllString(raw, "ADDR")
	raw = callIDRE.ReplaceAllString(raw, "Call-ID: CALLID")
	return strings.ReplaceAll(raw, "sip:"+user+"@", "sip:USER@")
}

// An unknown user, a user with a password who is not in the live
// configuration, a declared user with no password, and a wrong password
// get the same challenge and the same final response, byte for byte once
// tags, branches, nonces, ports and the name are masked.
func TestSameAnswers(t *testing.T) {
	st := storetest.Open(t, t.TempDir()+"/callflow.db")
	f := serve(t, st, registrar.WithBanPolicy(registrar.BanPolicy{}))
	var challenges, finals []string
	for _, c := range []struct{ user, password string }{{"ann", "wrong"}, {"nobody", "wrong"}, {"ghost", "ghost-pw-3"}, {"cy", "anything"}} {
		p := newPhone(t, f, "127.0.0.1")
		p.callID = "same-call-id"
		rawCh, ch := p.request(c.user, "Contact: <sip:x@127.0.0.1:5999>")
		rawFinal, final := p.request(c.user, "Contact: <sip:x@127.0.0.1:5999>", authorization(ch, c.user, c.password))
		if final.StatusCode != 403 {
			t.Errorf("%s: %d, want 403", c.user, final.StatusCode)
		}
		challenges = append(challenges, mask(rawCh, c.user))
		finals = append(finals, mask(rawFinal, c.user))
	}
	for i := 1; i < len(finals); i++ {
		if challenges[i] != challenges[0] {
			t.Errorf("challenge %d differs:\n%s\nvs\n%s", i, challenges[i], challenges[0])
		}
		if finals[i] != finals[0] {
			t.Errorf("final %d differs:\n%s\nvs\n%s", i, finals[i], finals[0])
		}
	}
}

func TestSourceBan(t *testing.T) {
	st := storetest.Open(t, t.TempDir()+"/callflow.db")
	f := serve(t, st)
	p := newPhone(t, f, "127.0.0.1")
	for i := range registrar.DefaultBanPolicy.SourceFailures {
		if _, res := p.register("ann", fmt.Sprintf("guess-%d", i)); res.StatusCode != 403 {
			t.Fatalf("guess %d: %d", i, res.StatusCode)
		}
	}
	if got := metric(t, f.reg, "callflow_register_bans_total", "source"); got != 1 {
		t.Fatalf("source bans %v, want 1", got)
	}
	// Banned: even the right password is dropped unanswered.
	p.cseq++
	p.conn.WriteTo([]byte(fmt.Sprintf("REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKban1;rport\r\nFrom: <sip:ann@%s>;tag=1\r\nTo: <sip:ann@%s>\r\nCall-ID: %s\r\nCSeq: %d REGISTER\r\nContent-Length: 0\r\n\r\n",
		domain, p.local(), domain, domain, p.callID, p.cseq)), p.server)
	deadline := time.Now().Add(5 * time.Second)
	for metric(t, f.reg, "callflow_register_dropped_total", "") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the banned source's request was not dropped")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case m := <-p.msgs:
		t.Fatalf("a banned source got an answer: %q", m)
	default:
	}
	// Another source is not banned.
	if _, res := newPhone(t, f, "127.0.0.2").register("ann", "ann-secret-1", "Contact: <sip:ann@127.0.0.2:5060>"); res.StatusCode != 200 {
		t.Errorf("another source: %d", res.StatusCode)
	}
}

// metric reads one of the registrar's metrics, of the kind label when
// kind is not "".
func metric(t *testing.T, r *registrar.Registrar, name, kind string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := kind == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == kind {
					match = true
				}
			}
			if !match {
				continue
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no metric %s %s", name, kind)
	return 0
}

// Failures against one user from many sources lock the user: then even
// the right password gets the wrong password's answer.
func TestUserLock(t *testing.T) {
	st := storetest.Open(t, t.TempDir()+"/callflow.db")
	f := serve(t, st)
	n := registrar.DefaultBanPolicy.UserFailures
	var wrong string
	for i := range n {
		raw, res := newPhone(t, f, fmt.Sprintf("127.0.1.%d", i+1)).register("bob", "guess")
		if res.StatusCode != 403 {
			t.Fatalf("guess %d: %d", i, res.StatusCode)
		}
		wrong = mask(raw, "bob")
	}
	if got := metric(t, f.reg, "callflow_register_bans_total", "user"); got != 1 {
		t.Fatalf("user locks %v, want 1", got)
	}
	if got := metric(t, f.reg, "callflow_register_bans_total", "source"); got != 0 {
		t.Fatalf("source bans %v, want 0: each source failed once", got)
	}
	raw, res := newPhone(t, f, "127.0.2.1").register("bob", "bob-secret-2", "Contact: <sip:bob@127.0.2.1:5060>")
	if res.StatusCode != 403 || mask(raw, "bob") != wrong {
		t.Fatalf("locked user with the right password: %d\n%s\nwant\n%s", res.StatusCode, mask(raw, "bob"), wrong)
	}
	// Another user is not locked.
	if _, res := newPhone(t, f, "127.0.2.1").register("ann", "ann-secret-1", "Contact: <sip:ann@127.0.2.1:5060>"); res.StatusCode != 200 {
		t.Errorf("ann: %d", res.StatusCode)
	}
	// The lock ends.
	f.clock.advance(registrar.DefaultBanPolicy.UserLock + time.Second)
	if _, res := newPhone(t, f, "127.0.2.2").register("bob", "bob-secret-2", "Contact: <sip:bob@127.0.2.2:5060>"); res.StatusCode != 200 {
		t.Errorf("after the lock: %d", res.StatusCode)
	}
}

func TestTooManyPhonesAndDomain(t *testing.T) {
	st := storetest.Open(t, t.TempDir()+"/callflow.db")
	f := serve(t, st)
	p := newPhone(t, f, "127.0.0.1")
	for i := range registrar.MaxBindings {
		if _, res := p.register("ann", "ann-secret-1", fmt.Sprintf("Contact: <sip:ann@127.0.0.1:%d>", 6000+i)); res.StatusCode != 200 {
			t.Fatalf("phone %d: %d", i, res.StatusCode)
		}
	}
	_, res := p.register("ann", "ann-secret-1", "Contact: <sip:ann@127.0.0.1:7000>")
	if res.StatusCode != 403 || !strings.Contains(res.GetHeader("Warning").Value(), "at most 10 phones") {
		t.Fatalf("eleventh phone: %d %v", res.StatusCode, res.GetHeader("Warning"))
	}
	if bs, _ := st.Bindings(context.Background(), "ann", f.clock.now()); len(bs) != registrar.MaxBindings {
		t.Errorf("%d bindings stored", len(bs))
	}
	// Another domain is not ours.
	raw := "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP " + p.local() + ";branch=z9hG4bKdom1\r\nFrom: <sip:ann@example.com>;tag=1\r\nTo: <sip:ann@example.com>\r\nCall-ID: dom@x\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
	p.conn.WriteTo([]byte(raw), p.server)
	select {
	case m := <-p.msgs:
		if !strings.HasPrefix(m, "SIP/2.0 404") {
			t.Errorf("another domain: %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer for another domain")
	}
}
