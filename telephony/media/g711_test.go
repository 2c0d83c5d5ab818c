package media_test

import (
	"testing"

	"github.com/callflow/callflow/telephony/media"
)

// Known code words from ITU-T G.711 and every implementation of it.
func TestG711KnownValues(t *testing.T) {
	if got := media.EncodeULaw(0); got != 0xFF {
		t.Errorf("µ-law of silence is 0xFF, got %#x", got)
	}
	if got := media.EncodeALaw(0); got != 0xD5 {
		t.Errorf("A-law of silence is 0xD5, got %#x", got)
	}
	if got := media.DecodeULaw(0x00); got != -32124 {
		t.Errorf("µ-law 0x00 decodes to -32124, got %d", got)
	}
	if got := media.DecodeULaw(0x80); got != 32124 {
		t.Errorf("µ-law 0x80 decodes to 32124, got %d", got)
	}
	if got := media.DecodeALaw(0x55); got != -8 {
		t.Errorf("A-law 0x55 decodes to -8, got %d", got)
	}
	if got := media.DecodeALaw(0xD5); got != 8 {
		t.Errorf("A-law 0xD5 decodes to 8, got %d", got)
	}
}

// Every code word decodes and encodes back to itself (but for µ-law's two
// zeros), and every 16-bit sample survives a round trip within the
// codec's quantisation step.
func TestG711RoundTrip(t *testing.T) {
	for b := 0; b < 256; b++ {
		if got := media.EncodeALaw(media.DecodeALaw(byte(b))); got != byte(b) {
			t.Errorf("A-law %#x → %d → %#x", b, media.DecodeALaw(byte(b)), got)
		}
		if b == 0x7F { // negative zero encodes as positive zero
			continue
		}
		if got := media.EncodeULaw(media.DecodeULaw(byte(b))); got != byte(b) {
			t.Errorf("µ-law %#x → %d → %#x", b, media.DecodeULaw(byte(b)), got)
		}
	}
	for s := -32768; s <= 32767; s++ {
		for _, c := range []struct {
			name string
			enc  func(int16) byte
			dec  func(byte) int16
		}{{"µ-law", media.EncodeULaw, media.DecodeULaw}, {"A-law", media.EncodeALaw, media.DecodeALaw}} {
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
		pt  uint8
		enc func(int16) byte
	}{{media.PayloadPCMU, media.EncodeULaw}, {media.PayloadPCMA, media.EncodeALaw}} {
		media.Encode(c.pt, out, samples)
		for i, s := range samples {
			if out[i] != c.enc(s) {
				t.Fatalf("payload type %d: sample %d encodes to %#x, want %#x", c.pt, s, out[i], c.enc(s))
			}
		}
	}
}

func BenchmarkEncodeFrame(b *testing.B) {
	samples, out := make([]int16, media.FrameSamples), make([]byte, media.FrameSamples)
	for i := range samples {
		samples[i] = int16(i * 200)
	}
	for b.Loop() {
		media.Encode(media.PayloadPCMU, out, samples)
	}
}
