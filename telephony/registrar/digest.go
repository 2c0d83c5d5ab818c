package registrar

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"

	"github.com/callflow/callflow/store"
)

// Algorithm is a digest algorithm the registrar challenges with (RFC
// 7616, RFC 8760 for SIP).
type Algorithm string

const (
	MD5    Algorithm = "MD5"
	SHA256 Algorithm = "SHA-256"
)

// DefaultAlgorithms is MD5 alone: Debian's baresip 1.0.0 (libre 1.1.0)
// fails to register when any challenge is SHA-256, even one offered next
// to MD5, so offering SHA-256 by default would lock such phones out.
var DefaultAlgorithms = []Algorithm{MD5}

// ParseAlgorithms reads a comma-separated list such as "md5,sha-256",
// in the order the challenges are to be sent (a phone takes the first it
// supports).
func ParseAlgorithms(s string) ([]Algorithm, error) {
	var out []Algorithm
	seen := map[Algorithm]bool{}
	for _, f := range strings.Split(s, ",") {
		var a Algorithm
		switch strings.ToUpper(strings.TrimSpace(f)) {
		case "MD5":
			a = MD5
		case "SHA-256", "SHA256":
			a = SHA256
		default:
			return nil, fmt.Errorf("unknown digest algorithm %q: use md5, sha-256, or both separated by a comma", strings.TrimSpace(f))
		}
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, nil
}

func (a Algorithm) hash() hash.Hash {
	if a == SHA256 {
		return sha256.New()
	}
	return md5.New()
}

// h returns the hex digest of the parts joined by colons.
func (a Algorithm) h(parts ...string) string {
	hh := a.hash()
	for i, p := range parts {
		if i > 0 {
			hh.Write([]byte{':'})
		}
		hh.Write([]byte(p))
	}
	return hex.EncodeToString(hh.Sum(nil))
}

// HA1 is H(user:realm:password), what is stored instead of a password.
func HA1(a Algorithm, user, realm, password string) string { return a.h(user, realm, password) }

// NewCredential makes the stored form of a password: its HA1 with every
// algorithm, for the realm phones register in.
func NewCredential(user, realm, password string) store.Credential {
	return store.Credential{User: user, Realm: realm, HA1MD5: HA1(MD5, user, realm, password), HA1SHA256: HA1(SHA256, user, realm, password)}
}

// response is the digest response a phone that knows the password
// computes (RFC 7616 §3.4.1; RFC 2069's form when there is no qop).
func response(a Algorithm, ha1, method string, c *credentials) string {
	ha2 := a.h(method, c.uri)
	if c.qop == "" {
		return a.h(ha1, c.nonce, ha2)
	}
	return a.h(ha1, c.nonce, c.nc, c.cnonce, c.qop, ha2)
}

// credentials are the parameters of a Digest Authorization header.
type credentials struct {
	username, realm, nonce, uri, response string
	algorithm                             Algorithm
	cnonce, nc, qop, opaque               string
}

// parseAuthorization reads a Digest Authorization (or
// Proxy-Authorization) value: the scheme, then comma-separated
// name=value pairs whose values are tokens or quoted strings with
// backslash escapes. Names are case-insensitive; a repeated name, an
// unterminated quote, or a missing username, realm, nonce, uri or
// response is an error.
func parseAuthorization(v string) (*credentials, error) {
	v = strings.TrimLeft(v, " \t")
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Digest") {
		return nil, fmt.Errorf("scheme %q is not Digest", scheme)
	}
	params := map[string]string{}
	s := rest
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		if s == "" {
			break
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, fmt.Errorf("parameter without a value near %q", truncate(s))
		}
		name := strings.ToLower(strings.TrimRight(s[:eq], " \t"))
		if strings.ContainsAny(name, " \t,\"") {
			return nil, fmt.Errorf("bad parameter name %q", truncate(name))
		}
		s = strings.TrimLeft(s[eq+1:], " \t")
		var value string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if c == '"' {
					closed = true
					i++
					break
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return nil, fmt.Errorf("unterminated quoted value of %s", name)
			}
			value, s = b.String(), s[i:]
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			value, s = strings.TrimRight(s[:end], " \t"), s[end:]
		}
		if _, dup := params[name]; dup {
			return nil, fmt.Errorf("parameter %s given twice", name)
		}
		params[name] = value
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			break
		}
		if s[0] != ',' {
			return nil, fmt.Errorf("expected a comma near %q", truncate(s))
		}
		s = s[1:]
	}
	c := &credentials{
		username: params["username"], realm: params["realm"], nonce: params["nonce"], uri: params["uri"],
		response: strings.ToLower(params["response"]), cnonce: params["cnonce"], nc: strings.ToLower(params["nc"]),
		qop: strings.ToLower(params["qop"]), opaque: params["opaque"], algorithm: MD5,
	}
	for _, required := range []string{"username", "realm", "nonce", "uri", "response"} {
		if _, ok := params[required]; !ok {
			return nil, fmt.Errorf("no %s", required)
		}
	}
	if a, ok := params["algorithm"]; ok {
		switch strings.ToUpper(a) {
		case "MD5":
		case "SHA-256":
			c.algorithm = SHA256
		default:
			return nil, fmt.Errorf("algorithm %q is not supported", truncate(a))
		}
	}
	if c.qop != "" && (c.qop != "auth" || c.nc == "" || c.cnonce == "") {
		return nil, fmt.Errorf("qop %q needs qop=auth with nc and cnonce", truncate(c.qop))
	}
	return c, nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
