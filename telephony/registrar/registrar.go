// Package registrar is callflow's SIP registrar: Registrar.Handle takes
// the REGISTER requests of users' phones (telephony.WithRegistrar),
// authenticates them with digest authentication (RFC 7616, RFC 8760)
// against the hashes the store keeps, and writes their bindings (RFC 3261
// §10) to the store, where every node sees them. Registrar.Sweep expires
// bindings and logs out the users left with none.
//
// It answers an unknown user, a user with no password and a wrong
// password alike: the same challenge, the same 403, after the same store
// lookup and hashing (Asterisk's alwaysauthreject), so that nothing tells
// a scanner which users exist. Repeated failures from one address ban it
// (its requests are dropped unanswered), and repeated failures against
// one user lock the user (their authentications fail as a wrong password
// does); see BanPolicy.
package registrar

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/callflow/callflow/store"
)

// Store is what the registrar needs of the store (*store.Store).
type Store interface {
	Credential(ctx context.Context, user string) (store.Credential, error)
	Register(ctx context.Context, req store.RegisterRequest) (store.RegisterResult, error)
	ExpireBindings(ctx context.Context, now time.Time) ([]string, error)
	AllBindings(ctx context.Context, now time.Time) ([]store.Binding, error)
}

// Directory is what the registrar needs of the live configuration. Its
// methods are called on the goroutines of requests, at once, and must
// not block.
type Directory interface {
	// Known reports whether the live configuration declares user.
	Known(user string) bool
	// Domain is the domain phones register in (sip:NAME@DOMAIN), which
	// is also the digest realm.
	Domain() string
}

// Expiry limits.
const (
	DefaultExpires = 3600 * time.Second // when a REGISTER names none
	MaxExpires     = 3600 * time.Second // longer requests are shortened to it
	MinExpires     = 60 * time.Second   // shorter requests get 423
	MaxBindings    = 10                 // phones per user
)

// Registrar answers REGISTER. Make one with New; it is safe for
// concurrent use.
type Registrar struct {
	st    Store
	dir   Directory
	algs  []Algorithm // challenged with, in order; never empty
	log   *slog.Logger
	node  string
	clock func() time.Time

	nonces  *nonces
	sources *limiter // by source IP
	users   *limiter // by user name
	dummy   map[Algorithm]string

	registrations prometheus.Gauge
	failures      prometheus.Counter
	bans          *prometheus.CounterVec // by kind: source | user
	dropped       prometheus.Counter
}

// Option configures a Registrar.
type Option func(*Registrar)

// WithAlgorithms sets the digest algorithms challenged with, in the
// order offered; DefaultAlgorithms (MD5 alone) when not given or empty.
func WithAlgorithms(algs ...Algorithm) Option {
	return func(r *Registrar) {
		if len(algs) > 0 {
			r.algs = algs
		}
	}
}

// WithBanPolicy sets when failures ban a source or lock a user;
// DefaultBanPolicy when not given. A zero count turns that ban off.
func WithBanPolicy(p BanPolicy) Option {
	return func(r *Registrar) {
		r.sources = newLimiter(p.SourceFailures, p.SourceWindow, p.SourceBan)
		r.users = newLimiter(p.UserFailures, p.UserWindow, p.UserLock)
	}
}

// WithLogger sets where registrations, logouts and bans are logged;
// slog.Default() when not given.
func WithLogger(l *slog.Logger) Option { return func(r *Registrar) { r.log = l } }

// WithNode names the node, recorded in the bindings it writes.
func WithNode(node string) Option { return func(r *Registrar) { r.node = node } }

// WithClock sets the clock (tests); time.Now when not given.
func WithClock(now func() time.Time) Option { return func(r *Registrar) { r.clock = now } }

// WithNonceSecret sets the secret nonces are signed with, so that nodes
// sharing it accept each other's nonces; a random one per registrar when
// not given (a phone with another node's nonce is then challenged again,
// with stale=true, and registers without failing).
func WithNonceSecret(secret []byte) Option {
	return func(r *Registrar) { r.nonces = newNonces(secret, r.nonces.lifetime) }
}

// NonceLifetime is how long a nonce is good for; older ones are stale.
const NonceLifetime = 5 * time.Minute

// New makes a registrar over st and dir.
func New(st Store, dir Directory, opts ...Option) *Registrar {
	r := &Registrar{st: st, dir: dir, algs: DefaultAlgorithms, log: slog.Default(), clock: time.Now, nonces: newNonces(nil, NonceLifetime)}
	WithBanPolicy(DefaultBanPolicy)(r)
	for _, o := range opts {
		o(r)
	}
	// What a user with no password is checked against, so that they cost
	// the same hashing as a user with one.
	var b [16]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand does not fail on Linux
	r.dummy = map[Algorithm]string{MD5: MD5.h(hex.EncodeToString(b[:])), SHA256: SHA256.h(hex.EncodeToString(b[:]))}
	r.registrations = prometheus.NewGauge(prometheus.GaugeOpts{Name: "callflow_registrations", Help: "Live registrations (bindings) of users' phones, on every node, as of the last sweep."})
	r.failures = prometheus.NewCounter(prometheus.CounterOpts{Name: "callflow_register_auth_failures_total", Help: "REGISTER requests whose digest authentication failed (unknown user, no password, wrong password, locked user)."})
	r.bans = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callflow_register_bans_total", Help: "Bans for failed authentications, by kind: source (an IP address banned) or user (a user's authentication locked)."}, []string{"kind"})
	r.bans.WithLabelValues("source")
	r.bans.WithLabelValues("user")
	r.dropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "callflow_register_dropped_total", Help: "REGISTER requests dropped unanswered because their source is banned."})
	return r
}

// Collectors returns the registrar's metrics, for the node's registry.
func (r *Registrar) Collectors() []prometheus.Collector {
	return []prometheus.Collector{r.registrations, r.failures, r.bans, r.dropped}
}

// Algorithms returns the algorithms challenged with, in order.
func (r *Registrar) Algorithms() []Algorithm { return append([]Algorithm(nil), r.algs...) }

// storeTimeout bounds the store work of one REGISTER; a phone retries.
const storeTimeout = 5 * time.Second

// Handle answers one REGISTER (a sipgo.RequestHandler). It responds on
// tx before it returns, except to a banned source, whose request is
// dropped: answering would tell a scanner it was noticed, and costs a
// response per guess. It does not keep req or tx.
func (r *Registrar) Handle(req *sip.Request, tx sip.ServerTransaction) {
	if r.drop(req, tx, r.clock()) {
		return
	}
	domain := r.dir.Domain()
	to := req.To()
	if to == nil || to.Address.User == "" {
		r.respond(tx, req, sip.StatusBadRequest, "Bad Request", sip.NewHeader("Warning", `399 callflow "To names no user"`))
		return
	}
	if !strings.EqualFold(req.Recipient.Host, domain) || !strings.EqualFold(to.Address.Host, domain) {
		r.respond(tx, req, sip.StatusNotFound, "Not Found", sip.NewHeader("Warning", fmt.Sprintf(`399 callflow "this server registers phones in the domain %s"`, domain)))
		return
	}
	user := to.Address.User
	if !r.Authenticate(req, tx, user, false) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	r.register(ctx, tx, req, user, r.clock())
}

// Authenticate checks that req comes from user, by digest authentication
// against the user's stored credentials: with 401 and Authorization
// (REGISTER), or with 407 and Proxy-Authorization when proxy is set (a
// phone's INVITE). It reports whether the request is the user's; when it
// is not, it has answered tx already — a challenge, 403 Forbidden (the
// same for an unknown user, a user without a password and a wrong one,
// after the same work), 400 for credentials it cannot read, 500 when the
// store fails — or dropped the request of a banned source. Failures count
// towards the same bans as REGISTER's.
func (r *Registrar) Authenticate(req *sip.Request, tx sip.ServerTransaction, user string, proxy bool) bool {
	now := r.clock()
	if r.drop(req, tx, now) {
		return false
	}
	source := req.Source()
	ip := sourceIP(source)
	domain := r.dir.Domain()
	creds, err := r.authorization(req, domain, proxy)
	if err != nil {
		r.respond(tx, req, sip.StatusBadRequest, "Bad Request", sip.NewHeader("Warning", "399 callflow "+strconv.Quote(err.Error())))
		return false
	}
	if creds == nil {
		r.challenge(tx, req, domain, now, false, proxy)
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()

	// The same work whoever the user is: one lookup, one hash.
	cred, credErr := r.st.Credential(ctx, user)
	if credErr != nil && !errors.Is(credErr, store.ErrNotFound) {
		r.log.Error("reading a credential failed", "method", req.Method, "user", user, "err", credErr)
		r.respond(tx, req, sip.StatusInternalServerError, "Server Internal Error")
		return false
	}
	ha1 := r.dummy[creds.algorithm]
	usable := credErr == nil && cred.Realm == domain && r.dir.Known(user) && creds.username == user && r.offers(creds.algorithm)
	if usable {
		ha1 = cred.HA1MD5
		if creds.algorithm == SHA256 {
			ha1 = cred.HA1SHA256
		}
	}
	want := response(creds.algorithm, ha1, req.Method.String(), creds)
	match := subtle.ConstantTimeCompare([]byte(want), []byte(creds.response)) == 1
	locked := r.users.banned(user, now)
	if !usable || !match || locked {
		r.fail(tx, req, user, ip, source, now)
		return false
	}
	issued, ours, stale := r.nonces.check(creds.nonce, now)
	if !ours || stale || !r.nonces.count(creds.nonce, creds.nc, issued, now) {
		// The password is right; the nonce is old, another node's, or
		// used already: a fresh one, with no failure counted.
		r.challenge(tx, req, domain, now, true, proxy)
		return false
	}
	return true
}

// drop drops the request of a banned source, unanswered, and reports
// whether it did.
func (r *Registrar) drop(req *sip.Request, tx sip.ServerTransaction, now time.Time) bool {
	if !r.sources.banned(sourceIP(req.Source()), now) {
		return false
	}
	r.dropped.Inc()
	tx.Terminate()
	return true
}

// sourceIP is the host of a request's source address.
func sourceIP(source string) string {
	if h, _, err := net.SplitHostPort(source); err == nil {
		return h
	}
	return source
}

// authorization returns the request's Digest credentials for domain
// (from Proxy-Authorization when proxy is set), nil when it has none for
// it (it is then challenged), or an error for one that cannot be read.
func (r *Registrar) authorization(req *sip.Request, domain string, proxy bool) (*credentials, error) {
	name := "Authorization"
	if proxy {
		name = "Proxy-Authorization"
	}
	var firstErr error
	for _, h := range req.GetHeaders(name) {
		c, err := parseAuthorization(h.Value())
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("unreadable %s: %v", name, err)
			}
			continue
		}
		if strings.EqualFold(c.realm, domain) {
			return c, nil
		}
	}
	return nil, firstErr
}

func (r *Registrar) offers(a Algorithm) bool {
	for _, o := range r.algs {
		if o == a {
			return true
		}
	}
	return false
}

// fail answers a failed authentication, counts it against the source
// and the user, and bans either when it has had too many.
func (r *Registrar) fail(tx sip.ServerTransaction, req *sip.Request, user, ip, source string, now time.Time) {
	r.failures.Inc()
	r.log.Debug("REGISTER: authentication failed", "user", user, "source", source)
	if r.sources.fail(ip, now) {
		r.bans.WithLabelValues("source").Inc()
		r.log.Warn("REGISTER: source banned after repeated authentication failures; its requests are dropped", "source", ip, "user", user, "until", now.Add(r.sources.ban).UTC().Format(time.RFC3339))
	}
	if r.users.fail(user, now) {
		r.bans.WithLabelValues("user").Inc()
		r.log.Warn("REGISTER: user's authentication locked after repeated failures", "user", user, "source", ip, "until", now.Add(r.users.ban).UTC().Format(time.RFC3339))
	}
	r.respond(tx, req, sip.StatusForbidden, "Forbidden")
}

// challenge asks for credentials: 401 with WWW-Authenticate, or 407 with
// Proxy-Authenticate when proxy is set.
func (r *Registrar) challenge(tx sip.ServerTransaction, req *sip.Request, domain string, now time.Time, stale, proxy bool) {
	nonce := r.nonces.issue(now)
	header, status, reason := "WWW-Authenticate", sip.StatusUnauthorized, "Unauthorized"
	if proxy {
		header, status, reason = "Proxy-Authenticate", sip.StatusProxyAuthRequired, "Proxy Authentication Required"
	}
	hs := make([]sip.Header, 0, len(r.algs))
	for _, a := range r.algs {
		v := fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=%s, qop="auth"`, domain, nonce, a)
		if stale {
			v += ", stale=true"
		}
		hs = append(hs, sip.NewHeader(header, v))
	}
	r.respond(tx, req, status, reason, hs...)
}

// register applies an authenticated REGISTER's contacts.
func (r *Registrar) register(ctx context.Context, tx sip.ServerTransaction, req *sip.Request, user string, now time.Time) {
	var expiresHeader *uint64
	if h := req.GetHeader("Expires"); h != nil {
		v, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
		if err != nil {
			r.respond(tx, req, sip.StatusBadRequest, "Bad Request", sip.NewHeader("Warning", `399 callflow "Expires is not a number of seconds"`))
			return
		}
		expiresHeader = &v
	}
	rr := store.RegisterRequest{User: user, CallID: req.CallID().Value(), CSeq: int64(req.CSeq().SeqNo), Source: req.Source(),
		Transport: strings.ToLower(req.Transport()), Node: r.node, Now: now, MaxBindings: MaxBindings}
	if h := req.GetHeader("User-Agent"); h != nil {
		rr.UserAgent = h.Value()
	}
	contacts := req.GetHeaders("Contact")
	for _, h := range contacts {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			continue
		}
		if c.Address.Wildcard {
			if len(contacts) != 1 || expiresHeader == nil || *expiresHeader != 0 {
				r.respond(tx, req, sip.StatusBadRequest, "Bad Request", sip.NewHeader("Warning", `399 callflow "Contact: * must be alone, with Expires: 0"`))
				return
			}
			rr.Wildcard = true
			continue
		}
		secs := uint64(DefaultExpires / time.Second)
		if v, ok := c.Params.Get("expires"); ok {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				r.respond(tx, req, sip.StatusBadRequest, "Bad Request", sip.NewHeader("Warning", `399 callflow "a Contact's expires is not a number of seconds"`))
				return
			}
			secs = n
		} else if expiresHeader != nil {
			secs = *expiresHeader
		}
		exp := time.Duration(secs) * time.Second
		if exp != 0 && exp < MinExpires {
			r.respond(tx, req, sip.StatusIntervalToBrief, "Interval Too Brief", sip.NewHeader("Min-Expires", strconv.Itoa(int(MinExpires/time.Second))))
			return
		}
		exp = min(exp, MaxExpires)
		uri := c.Address.String()
		rr.Contacts = append(rr.Contacts, store.ContactUpdate{URI: uri, Expires: exp})
	}
	res, err := r.st.Register(ctx, rr)
	switch {
	case errors.Is(err, store.ErrOutOfOrder):
		r.respond(tx, req, sip.StatusBadRequest, "Bad Request", sip.NewHeader("Warning", `399 callflow "CSeq out of order: this Call-ID already registered with a CSeq as high"`))
		return
	case errors.Is(err, store.ErrTooManyBindings):
		r.respond(tx, req, sip.StatusForbidden, "Too Many Phones", sip.NewHeader("Warning", fmt.Sprintf(`399 callflow "at most %d phones may register for one user; unregister one first"`, MaxBindings)))
		return
	case err != nil:
		r.log.Error("REGISTER: writing bindings failed", "user", user, "err", err)
		r.respond(tx, req, sip.StatusInternalServerError, "Server Internal Error")
		return
	}
	if res.LoggedIn {
		r.log.Info("user logged in", "user", user, "source", rr.Source, "transport", rr.Transport)
	}
	if res.LoggedOut {
		r.log.Info("user logged out", "user", user, "why", "their last phone unregistered")
	}
	hs := make([]sip.Header, 0, len(res.Bindings)+1)
	for _, b := range res.Bindings {
		left := max(int(b.ExpiresAt.Sub(now).Round(time.Second)/time.Second), 0)
		hs = append(hs, sip.NewHeader("Contact", fmt.Sprintf("<%s>;expires=%d", b.Contact, left)))
	}
	hs = append(hs, sip.NewHeader("Date", now.UTC().Format(http1123)))
	r.respond(tx, req, sip.StatusOK, "OK", hs...)
}

// http1123 is the date format of SIP's Date header (RFC 3261 §20.17).
const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

// respond sends a final response with a To-tag of its own (RFC 3261
// §8.2.6.2) and the headers given.
func (r *Registrar) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, hs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	if to := res.To(); to != nil {
		if _, ok := to.Params.Get("tag"); !ok {
			if to.Params == nil {
				to.Params = sip.NewParams()
			}
			to.Params.Add("tag", sip.GenerateTagN(16))
		}
	}
	for _, h := range hs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		r.log.Debug("REGISTER: response not sent", "code", code, "err", err)
	}
}

// Sweep removes the bindings expired now, logs out the users left with
// none, and updates the registrations gauge. The node calls it every few
// seconds.
func (r *Registrar) Sweep(ctx context.Context) ([]string, error) {
	now := r.clock()
	out, err := r.st.ExpireBindings(ctx, now)
	if err != nil {
		return nil, err
	}
	for _, u := range out {
		r.log.Info("user logged out", "user", u, "why", "their last registration expired")
	}
	all, err := r.st.AllBindings(ctx, now)
	if err != nil {
		return out, err
	}
	r.registrations.Set(float64(len(all)))
	return out, nil
}
