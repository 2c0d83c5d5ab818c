package media

import (
	"crypto/rand"
	"encoding/binary"

	"github.com/pion/rtp"
)

// Sender numbers the RTP packets of one outgoing stream: a random SSRC,
// sequence number and timestamp to start (RFC 3550 §5.1), the sequence
// number one higher per packet, the timestamp one frame of samples
// higher per frame, and the marker bit on the first packet of a talk
// spurt.
type Sender struct {
	PayloadType uint8
	SSRC        uint32
	seq         uint16
	ts          uint32
	spurt       bool // the next media packet starts a talk spurt
}

// NewSender returns a sender for payload type pt with random starting
// values.
func NewSender(pt uint8) *Sender {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("media: no randomness: " + err.Error()) // crypto/rand does not fail on Linux
	}
	return &Sender{
		PayloadType: pt,
		SSRC:        binary.BigEndian.Uint32(b[0:4]),
		seq:         binary.BigEndian.Uint16(b[4:6]),
		ts:          binary.BigEndian.Uint32(b[6:10]),
		spurt:       true,
	}
}

// MarshalFrame writes the packet for one frame of media into buf and
// returns its length; it allocates nothing, for the 50 packets a second
// of every call. buf must hold the 12-byte header and the payload.
func (s *Sender) MarshalFrame(buf, payload []byte, samples int) (int, error) {
	p := s.next(payload, samples)
	return p.MarshalTo(buf)
}

// next makes the next frame's packet and moves the sequence number and
// timestamp on.
func (s *Sender) next(payload []byte, samples int) rtp.Packet {
	p := rtp.Packet{
		Header: rtp.Header{
			Version: 2, PayloadType: s.PayloadType, SequenceNumber: s.seq,
			Timestamp: s.ts, SSRC: s.SSRC, Marker: s.spurt,
		},
		Payload: payload,
	}
	s.seq++
	s.ts += uint32(samples)
	s.spurt = false
	return p
}

// Spurt marks the next frame as the start of a talk spurt: a new prompt,
// after one was cut short.
func (s *Sender) Spurt() { s.spurt = true }

// Silence advances the timestamp over a gap in which nothing is sent, so
// that the next frame starts a new talk spurt at the right time.
func (s *Sender) Silence(samples int) {
	s.ts += uint32(samples)
	s.spurt = true
}

// Skip moves the timestamp on over samples that were not sent: frames
// a late tick missed, or time on hold.
func (s *Sender) Skip(samples int64) { s.ts += uint32(samples) }
