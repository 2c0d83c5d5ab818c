package g711_test

import (
	"testing"

	"github.com/callflow/callflow/internal/g711"
)

// Known code words from ITU-T G.711 and every implementation of it.
func TestG711KnownValues(t *testing.T) {
	if got := g711.EncodeULaw(0); got != 0xFF {
		t.Errorf("µ-law of silence is 0xFF, got %#x", got)
	}
	if got := g711.EncodeALaw(0); got != 0xD5 {
		t.Errorf("A-law of silence is 0xD5, got %#x", got)
	}
	if got := g711.DecodeULaw(0x00); got != -32124 {
		t.Errorf("µ-law 0x00 decodes to -32124, got %d", got)
	}
	if got := g711.DecodeULaw(0x80); got != 32124 {
		t.Errorf("µ-law 0x80 decodes to 32124, got %d", got)
	}
	if got := g711.DecodeALaw(0x55); got != -8 {
		t.Errorf("A-law 0x55 decodes to -8, got %d", got)
	}
	if got := g711.DecodeALaw(0xD5); got != 8 {
		t.Errorf("A-law 0xD5 decodes to 8, got %d", got)
	}
}

// Every code word decodes and encodes back to itself (but for µ-law's two
// zeros), and every 16-bit sample survives a round trip within the
// codec's quantisation step.
func TestG711RoundTrip(t *testing.T) {
	for b := 0; b < 256; b++ {
		if got := g711.EncodeALaw(g711.DecodeALaw(byte(b))); got != byte(b) {
			t.Errorf("A-law %#x → %d → %#x", b, g711.DecodeALaw(byte(b)), got)
		}
		if b == 0x7F { // negative zero encodes as positive zero
			continue
		}
		if got := g711.EncodeULaw(g711.DecodeULaw(byte(b))); got != byte(b) {
			t.Errorf("µ-law %#x → %d → %#x", b, g711.DecodeULaw(byte(b)), got)
		}
	}
	for s := -32768; s <= 32767; s++ {
		for _, c := range []struct {
			name string
			enc  func(int16) byte
			dec  func(byte) int16
		}{{"µ-law", g711.EncodeULaw, g711.DecodeULaw}, {"A-law", g711.EncodeALaw, g711.DecodeALaw}} {
			back := int(c.dec(c.enc(int16(s))))
			err := back - s
			if err < 0 {
				err = -err
			}
			// The step doubles with each segment: at most 1/16 of the
			// magnitude, plus a little near zero, and the clip at the top.
			limit := abs(s)/16 + 16
			if abs(s) > 32000 {
				limit = 1100
			}
			if err > limit {
				t.Fatalf("%s: %d → %d, off by %d", c.name, s, back, err)
			}
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Encode (by table) agrees with the per-sample encoders for every sample.
func TestEncodeMatchesPerSample(t *testing.T) {
	samples := make([]int16, 1<<16)
	for i := range samples {
		samples[i] = int16(i - 32768)
	}
	out := make([]byte, len(samples))
	for _, c := range []struct {
		law   string
		frame func([]byte, []int16)
		enc   func(int16) byte
	}{{"µ-law", g711.EncodeULawFrame, g711.EncodeULaw}, {"A-law", g711.EncodeALawFrame, g711.EncodeALaw}} {
		c.frame(out, samples)
		for i, s := range samples {
			if out[i] != c.enc(s) {
				t.Fatalf("%s: sample %d encodes to %#x, want %#x", c.law, s, out[i], c.enc(s))
			}
		}
	}
}

func BenchmarkEncodeFrame(b *testing.B) {
	samples, out := make([]int16, 160), make([]byte, 160)
	for i := range samples {
		samples[i] = int16(i * 200)
	}
	for b.Loop() {
		g711.EncodeULawFrame(out, samples)
	}
}
