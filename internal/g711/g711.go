// Package g711 is the project's one G.711 codec (ITU-T G.711 µ-law and
// A-law), for calls' RTP (telephony/media) and for WAV files in those
// encodings (internal/wav). It imports only the standard library, so that
// the compiler can read a WAV file without the runtime.
//
// G.711 is small enough to write from the standard rather than import:
// encoding is a few shifts, done by a 64 KiB table per law, and decoding
// is a 256-entry table; the tables are built once.
package g711

const (
	ulawBias = 0x84
	ulawClip = 32635
)

// EncodeULaw encodes one 16-bit linear sample as µ-law.
func EncodeULaw(sample int16) byte {
	s := int(sample)
	sign := 0
	if s < 0 {
		s, sign = -s, 0x80
	}
	if s > ulawClip {
		s = ulawClip
	}
	s += ulawBias
	exponent := 7
	for mask := 0x4000; s&mask == 0 && exponent > 0; mask >>= 1 {
		exponent--
	}
	mantissa := (s >> (exponent + 3)) & 0x0F
	return ^byte(sign | exponent<<4 | mantissa)
}

// EncodeALaw encodes one 16-bit linear sample as A-law.
func EncodeALaw(sample int16) byte {
	s := int(sample) >> 3 // A-law works on 13 bits
	sign := 0x80
	if s < 0 {
		s, sign = -s-1, 0
	}
	var out int
	if s < 32 {
		out = s >> 1
	} else {
		exponent := 1
		for t := s >> 5; t > 1 && exponent < 7; t >>= 1 {
			exponent++
		}
		if s >= 4096 {
			exponent, s = 7, 4095
		}
		out = exponent<<4 | (s>>exponent)&0x0F
	}
	return byte(out|sign) ^ 0x55
}

var ulawTable, alawTable [256]int16

// ulawEnc and alawEnc encode every 16-bit sample by lookup (64 KiB each):
// a server sends 8,000 samples a second to every caller.
var ulawEnc, alawEnc [1 << 16]byte

func init() {
	for i := 0; i < 256; i++ {
		ulawTable[i] = decodeULaw(byte(i))
		alawTable[i] = decodeALaw(byte(i))
	}
	for i := range 1 << 16 {
		ulawEnc[i] = EncodeULaw(int16(uint16(i)))
		alawEnc[i] = EncodeALaw(int16(uint16(i)))
	}
}

func decodeULaw(b byte) int16 {
	b = ^b
	sign, exponent, mantissa := b&0x80, int(b>>4)&0x07, int(b&0x0F)
	s := ((mantissa<<3)+ulawBias)<<exponent - ulawBias
	if sign != 0 {
		return int16(-s)
	}
	return int16(s)
}

func decodeALaw(b byte) int16 {
	b ^= 0x55
	sign, exponent, mantissa := b&0x80, int(b>>4)&0x07, int(b&0x0F)
	var s int
	if exponent == 0 {
		s = mantissa<<4 + 8
	} else {
		s = (mantissa<<4 + 0x108) << (exponent - 1)
	}
	if sign == 0 {
		return int16(-s)
	}
	return int16(s)
}

// DecodeULaw decodes one µ-law byte.
func DecodeULaw(b byte) int16 { return ulawTable[b] }

// DecodeALaw decodes one A-law byte.
func DecodeALaw(b byte) int16 { return alawTable[b] }

// EncodeULawFrame encodes samples into dst (which must be as long) as
// µ-law, by table.
func EncodeULawFrame(dst []byte, samples []int16) {
	dst = dst[:len(samples)]
	for i, s := range samples {
		dst[i] = ulawEnc[uint16(s)]
	}
}

// EncodeALawFrame encodes samples into dst (which must be as long) as
// A-law, by table.
func EncodeALawFrame(dst []byte, samples []int16) {
	dst = dst[:len(samples)]
	for i, s := range samples {
		dst[i] = alawEnc[uint16(s)]
	}
}

// DecodeULawFrame decodes a µ-law payload into dst (which must be as long).
func DecodeULawFrame(dst []int16, payload []byte) {
	for i, b := range payload {
		dst[i] = ulawTable[b]
	}
}

// DecodeALawFrame decodes an A-law payload into dst (which must be as long).
func DecodeALawFrame(dst []int16, payload []byte) {
	for i, b := range payload {
		dst[i] = alawTable[b]
	}
}

// ulawToALaw and alawToULaw transcode one byte by table: the A-law (or
// µ-law) encoding of the other law's decoded sample, so that a bridge
// between a PCMU and a PCMA phone converts exactly as decoding and
// encoding again would, at a lookup a byte.
var ulawToALaw, alawToULaw [256]byte

func init() {
	for i := 0; i < 256; i++ {
		ulawToALaw[i] = EncodeALaw(DecodeULaw(byte(i)))
		alawToULaw[i] = EncodeULaw(DecodeALaw(byte(i)))
	}
}

// ULawToALaw converts one µ-law byte to A-law.
func ULawToALaw(b byte) byte { return ulawToALaw[b] }

// ALawToULaw converts one A-law byte to µ-law.
func ALawToULaw(b byte) byte { return alawToULaw[b] }

// ULawToALawFrame converts a µ-law payload to A-law into dst (which must
// be as long). dst may be src.
func ULawToALawFrame(dst, src []byte) {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = ulawToALaw[b]
	}
}

// ALawToULawFrame converts an A-law payload to µ-law into dst (which
// must be as long). dst may be src.
func ALawToULawFrame(dst, src []byte) {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = alawToULaw[b]
	}
}
