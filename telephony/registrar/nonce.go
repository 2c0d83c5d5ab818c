package registrar

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"sync"
	"time"
)

// Nonces are stateless: a nonce is its issue time and 8 random bytes,
// signed with a secret of the registrar's (HMAC-SHA-256, 16 bytes kept),
// so that any nonce is checked without remembering it. One older than
// the nonce lifetime is stale: the phone is challenged again with
// stale=true and answers without asking its user. The nonce counts a
// nonce was used with are remembered for its lifetime only, to refuse a
// replayed request.

const nonceRaw = 8 + 8 + 16

type nonces struct {
	secret   []byte
	lifetime time.Duration

	mu   sync.Mutex
	used map[string]usedNonce // guarded by mu; pruned of expired nonces
}

type usedNonce struct {
	nc     uint64
	issued time.Time
}

// maxTracked bounds the nonce counts remembered; past it, the expired are
// pruned, and if none are, counts are not checked for new nonces until
// some expire (replay protection degrades, nothing else).
const maxTracked = 1 << 17

func newNonces(secret []byte, lifetime time.Duration) *nonces {
	if len(secret) == 0 {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			panic("registrar: no randomness: " + err.Error()) // crypto/rand does not fail on Linux
		}
	}
	return &nonces{secret: secret, lifetime: lifetime, used: map[string]usedNonce{}}
}

func (n *nonces) sign(b []byte) []byte {
	mac := hmac.New(sha256.New, n.secret)
	mac.Write(b)
	return mac.Sum(nil)[:16]
}

func (n *nonces) issue(now time.Time) string {
	var b [nonceRaw]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	rand.Read(b[8:16]) //nolint:errcheck // crypto/rand does not fail on Linux
	copy(b[16:], n.sign(b[:16]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// check reports whether nonce is one of ours, and whether it is stale at
// now.
func (n *nonces) check(nonce string, now time.Time) (issued time.Time, ours, stale bool) {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != nonceRaw || !hmac.Equal(b[16:], n.sign(b[:16])) {
		return time.Time{}, false, false
	}
	issued = time.Unix(0, int64(binary.BigEndian.Uint64(b[:8])))
	age := now.Sub(issued)
	return issued, true, age > n.lifetime || age < -time.Minute
}

// count records nc's use of nonce and reports false when it is not higher
// than a count already used with it (a replay). A request without qop
// has no count: every use of its nonce is nc 1, so a nonce without qop
// is good for one request.
func (n *nonces) count(nonce, nc string, issued, now time.Time) bool {
	v := uint64(1)
	if nc != "" {
		var err error
		if v, err = strconv.ParseUint(nc, 16, 64); err != nil || v == 0 {
			return false
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if u, ok := n.used[nonce]; ok {
		if v <= u.nc {
			return false
		}
		n.used[nonce] = usedNonce{nc: v, issued: issued}
		return true
	}
	if len(n.used) >= maxTracked {
		for k, u := range n.used {
			if now.Sub(u.issued) > n.lifetime {
				delete(n.used, k)
			}
		}
		if len(n.used) >= maxTracked {
			return true
		}
	}
	n.used[nonce] = usedNonce{nc: v, issued: issued}
	return true
}
