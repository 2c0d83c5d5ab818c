// Package media holds a call's media: G.711 by payload type (the codec
// itself is internal/g711), RTP framing with correct sequence numbers,
// timestamps and SSRC, one stream per call paced every 20 ms (Pacer,
// Stream), RFC 4733 DTMF events, SDP offer/answer (Session), symmetric
// RTP (Latch), and for two-party calls the Bridge, which relays each
// leg's RTP into the other leg's Stream, and the two-channel Recorder.
package media

import "github.com/callflow/callflow/internal/g711"

// Payload types of the codecs callflow speaks (RFC 3551).
const (
	PayloadPCMU = 0
	PayloadPCMA = 8
)

// SampleRate is G.711's sample rate; FrameSamples is one 20 ms frame.
const (
	SampleRate   = 8000
	FrameSamples = 160
)

// Encode encodes samples into dst (which must be as long) with the codec
// of payload type pt, PCMU or PCMA.
func Encode(pt uint8, dst []byte, samples []int16) {
	if pt == PayloadPCMA {
		g711.EncodeALawFrame(dst, samples)
		return
	}
	g711.EncodeULawFrame(dst, samples)
}

// Decode decodes a G.711 payload into dst (which must be as long).
func Decode(pt uint8, dst []int16, payload []byte) {
	if pt == PayloadPCMA {
		g711.DecodeALawFrame(dst, payload)
		return
	}
	g711.DecodeULawFrame(dst, payload)
}

// Transcode converts a G.711 payload from payload type from to payload
// type to into dst (which must be as long; it may be src), by a table
// that gives exactly what decoding and encoding again would.
func Transcode(from, to uint8, dst, src []byte) {
	switch {
	case from == to:
		copy(dst, src)
	case from == PayloadPCMU:
		g711.ULawToALawFrame(dst, src)
	default:
		g711.ALawToULawFrame(dst, src)
	}
}
