package g711_test

import (
	"testing"

	"github.com/callflow/callflow/internal/g711"
)

// Transcoding by table gives, for every one of the 256 code words, what
// decoding and encoding again by the frame functions (their own tables)
// gives, in place as well as into another buffer.
func TestTranscodeIsDecodeThenEncode(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	linear := make([]int16, 256)
	want := make([]byte, 256)
	got := make([]byte, 256)
	for _, c := range []struct {
		name      string
		decode    func([]int16, []byte)
		encode    func([]byte, []int16)
		transcode func(dst, src []byte)
		one       func(byte) byte
	}{
		{"µ-law to A-law", g711.DecodeULawFrame, g711.EncodeALawFrame, g711.ULawToALawFrame, g711.ULawToALaw},
		{"A-law to µ-law", g711.DecodeALawFrame, g711.EncodeULawFrame, g711.ALawToULawFrame, g711.ALawToULaw},
	} {
		c.decode(linear, all)
		c.encode(want, linear)
		c.transcode(got, all)
		inPlace := append([]byte(nil), all...)
		c.transcode(inPlace, inPlace)
		for i := range all {
			if got[i] != want[i] || inPlace[i] != want[i] || c.one(byte(i)) != want[i] {
				t.Errorf("%s of %#02x: %#02x (in place %#02x, one %#02x), want %#02x", c.name, i, got[i], inPlace[i], c.one(byte(i)), want[i])
			}
		}
	}
	// A-law has no zero: its quietest word decodes to 8, which µ-law
	// keeps as 8 (0xFE) rather than rounding it to silence.
	if g711.ULawToALaw(0xFF) != 0xD5 || g711.ALawToULaw(0xD5) != 0xFE {
		t.Errorf("silence transcodes to %#02x and %#02x, want 0xd5 and 0xfe", g711.ULawToALaw(0xFF), g711.ALawToULaw(0xD5))
	}
}

func BenchmarkULawToALawFrame(b *testing.B) {
	src := make([]byte, 160)
	dst := make([]byte, 160)
	for i := range src {
		src[i] = byte(i)
	}
	b.SetBytes(160)
	for b.Loop() {
		g711.ULawToALawFrame(dst, src)
	}
}
