package media

import "encoding/binary"

// rtpHeader is what the bridge reads of a packet: enough to admit it,
// relay it and record it. parseRTP reads it without allocating, for the
// 100 packets a second of every bridged call; pion's Unmarshal builds
// CSRC and extension slices the relay has no use for.
type rtpHeader struct {
	PayloadType uint8
	Marker      bool
	Sequence    uint16
	Timestamp   uint32
	SSRC        uint32
}

// parseRTP reads an RTP packet (RFC 3550 §5.1): version 2, CSRCs and a
// header extension skipped, padding removed. ok is false for anything
// that is not a whole packet, which the caller ignores, as hostile input
// must be.
func parseRTP(b []byte) (h rtpHeader, payload []byte, ok bool) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return h, nil, false
	}
	h.Marker = b[1]&0x80 != 0
	h.PayloadType = b[1] & 0x7F
	h.Sequence = binary.BigEndian.Uint16(b[2:])
	h.Timestamp = binary.BigEndian.Uint32(b[4:])
	h.SSRC = binary.BigEndian.Uint32(b[8:])
	off := 12 + 4*int(b[0]&0x0F)
	if b[0]&0x10 != 0 { // extension: a 4-byte header, then its words
		if len(b) < off+4 {
			return h, nil, false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
	}
	end := len(b)
	if b[0]&0x20 != 0 { // padding: its last byte counts it
		if end <= off {
			return h, nil, false
		}
		pad := int(b[end-1])
		if pad == 0 {
			return h, nil, false
		}
		end -= pad
	}
	if end < off {
		return h, nil, false
	}
	return h, b[off:end], true
}
