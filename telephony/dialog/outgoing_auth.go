package dialog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Credentials answer a carrier's digest challenge to our INVITE (RFC
// 3261 §22, with RFC 7616's and RFC 8760's SHA-256); telephony/trunk
// loads them.
type Credentials struct {
	Username string
	Password string
	// Realm, when set, is the only realm the credentials are given in: a
	// challenge in another realm is not answered (a proxy on the way
	// would otherwise learn a response to the carrier's password). ""
	// answers the realm of whichever challenge comes.
	Realm string
}

// String hides the password, so that a Credentials or a Target logged by
// mistake gives nothing away.
func (c Credentials) String() string {
	realm := c.Realm
	if realm == "" {
		realm = "any realm"
	}
	return fmt.Sprintf("%s in %s (password hidden)", c.Username, realm)
}

// GoString hides the password from %#v too.
func (c Credentials) GoString() string { return "dialog.Credentials{" + c.String() + "}" }

// errNoChallenge: a 401 or 407 with no challenge we can answer.
var errNoChallenge = errors.New("no digest challenge we can answer")

// authorized is the INVITE to send again after its challenge res: the
// same Request-URI, Call-ID, From (and tag), To and body, CSeq one more,
// no Via (the new transaction's goes on top, with a new branch), and the
// Authorization (401) or Proxy-Authorization (407) answering the
// strongest challenge we support. The credentials of an earlier
// challenge are kept: a 407 after a 401 needs both (RFC 3261 §22.3).
func authorized(sent *sip.Request, res *sip.Response, c *Credentials) (*sip.Request, error) {
	challengeHeader, answerHeader := "WWW-Authenticate", "Authorization"
	if res.StatusCode == sip.StatusProxyAuthRequired {
		challengeHeader, answerHeader = "Proxy-Authenticate", "Proxy-Authorization"
	}
	chal, err := strongest(res.GetHeaders(challengeHeader), c.Realm)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", challengeHeader, err)
	}
	req := sent.Clone()
	req.RemoveHeader("Via")
	body := req.Body()
	cred, err := digest.Digest(chal, digest.Options{
		Method:   string(req.Method),
		URI:      req.Recipient.String(),
		Username: c.Username,
		Password: c.Password,
		// qop=auth-int hashes the body.
		GetBody: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", challengeHeader, err)
	}
	// The answer to this realm replaces one given before; answers to
	// other realms stay.
	for _, h := range req.GetHeaders(answerHeader) {
		if old, err := digest.ParseCredentials(h.Value()); err == nil && old.Realm == chal.Realm {
			removeHeader(req, h)
		}
	}
	req.AppendHeader(sip.NewHeader(answerHeader, cred.String()))
	cseq := req.CSeq()
	cseq.SeqNo++
	return req, nil
}

// removeHeader removes the one header h of req.
func removeHeader(req *sip.Request, h sip.Header) {
	rest := req.GetHeaders(h.Name())
	for req.RemoveHeader(h.Name()) { // it removes the first only
	}
	for _, o := range rest {
		if o != h {
			req.AppendHeader(o)
		}
	}
}

// strongest picks, among a response's challenges, the one to answer:
// digest, in realm when it is set, with an algorithm and qop we support,
// SHA-256 before MD5 (RFC 8760 §2.4 lets the server offer both, most
// preferred first; we prefer the stronger whatever the order).
func strongest(headers []sip.Header, realm string) (*digest.Challenge, error) {
	var best *digest.Challenge
	rank := func(c *digest.Challenge) int {
		switch strings.ToUpper(c.Algorithm) {
		case "SHA-256":
			return 2
		case "", "MD5":
			return 1
		}
		return 0 // -sess variants, SHA-512-256, AKA…: not ours
	}
	var realms []string
	for _, h := range headers {
		chal, err := digest.ParseChallenge(h.Value())
		if err != nil {
			continue
		}
		chal.Algorithm = strings.ToUpper(chal.Algorithm)
		for i, q := range chal.QOP { // "auth, auth-int" is split at the comma only
			chal.QOP[i] = strings.TrimSpace(q)
		}
		if realm != "" && chal.Realm != realm {
			realms = append(realms, chal.Realm)
			continue
		}
		if len(chal.QOP) > 0 && !supportsQOP(chal) {
			continue
		}
		if rank(chal) > 0 && (best == nil || rank(chal) > rank(best)) {
			best = chal
		}
	}
	if best == nil {
		if len(realms) > 0 {
			return nil, fmt.Errorf("%w: the realm is %q, and the credentials are for %q", errNoChallenge, realms[0], realm)
		}
		return nil, errNoChallenge
	}
	return best, nil
}

func supportsQOP(c *digest.Challenge) bool {
	for _, q := range c.QOP {
		switch q {
		case "auth", "auth-int":
			return true
		}
	}
	return false
}
