package prompt

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
)

// Prompts converted by the averaging resampler (key version v1) must not
// be found by this conversion: a cache directory that outlives an
// upgrade is converted again.
func TestKeyVersionChanged(t *testing.T) {
	v1 := func(parts ...string) string {
		h := sha256.New()
		h.Write([]byte("callflow-prompt-v1"))
		for _, p := range parts {
			fmt.Fprintf(h, "\x00%d:%s", len(p), p)
		}
		return hex.EncodeToString(h.Sum(nil))[:32]
	}
	for _, parts := range [][]string{{"say", "en-us", "Hello."}, {"file", "00ff"}} {
		if key(parts...) == v1(parts...) {
			t.Errorf("key%q is the v1 key: conversions by the old resampler would be reused", parts)
		}
	}
	if key("say", "en-us", "Hello.") != key("say", "en-us", "Hello.") || key("say", "en-us", "Hello.") == key("say", "en-us", "Hello!") {
		t.Error("a key names exactly what it was made from")
	}
}
