package wav

// G.711 decoding (ITU-T G.711) for A-law and µ-law WAV files. It is
// written here from the standard rather than imported from
// telephony/media, so that the compiler can read WAV files without the
// runtime; a test in telephony/prompt checks both tables agree.

var ulawTable, alawTable [256]int16

func init() {
	for i := range 256 {
		ulawTable[i] = decodeULaw(byte(i))
		alawTable[i] = decodeALaw(byte(i))
	}
}

func decodeULaw(b byte) int16 {
	const bias = 0x84
	b = ^b
	sign, exponent, mantissa := b&0x80, int(b>>4)&0x07, int(b&0x0F)
	s := ((mantissa<<3)+bias)<<exponent - bias
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
