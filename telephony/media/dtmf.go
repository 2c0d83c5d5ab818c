package media

import (
	"encoding/binary"
	"errors"
)

// RFC 4733 telephone events: DTMF digits sent as RTP payloads of their
// own, the same event repeated while the key is held, the last packets
// marked "end" and commonly sent three times.

// TelephoneEvent is one telephone-event payload.
type TelephoneEvent struct {
	Event    uint8 // 0–9, 10 = *, 11 = #, 12–15 = A–D
	End      bool
	Volume   uint8  // dBm0 below 0, 0–63
	Duration uint16 // in timestamp units
}

// ErrShortEvent is returned for a payload shorter than 4 bytes.
var ErrShortEvent = errors.New("telephone-event payload shorter than 4 bytes")

// ParseTelephoneEvent reads a telephone-event payload.
func ParseTelephoneEvent(p []byte) (TelephoneEvent, error) {
	if len(p) < 4 {
		return TelephoneEvent{}, ErrShortEvent
	}
	return TelephoneEvent{
		Event: p[0], End: p[1]&0x80 != 0, Volume: p[1] & 0x3F,
		Duration: binary.BigEndian.Uint16(p[2:4]),
	}, nil
}

// Marshal writes the payload.
func (e TelephoneEvent) Marshal() []byte {
	b := []byte{e.Event, e.Volume & 0x3F, 0, 0}
	if e.End {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], e.Duration)
	return b
}

// Key returns the key of a DTMF event: '0'–'9', '*', '#', 'A'–'D'; 0 for
// events that are not DTMF.
func (e TelephoneEvent) Key() byte {
	switch {
	case e.Event <= 9:
		return '0' + e.Event
	case e.Event == 10:
		return '*'
	case e.Event == 11:
		return '#'
	case e.Event <= 15:
		return 'A' + e.Event - 12
	}
	return 0
}

// DTMFReceiver turns a stream of telephone-event packets into key
// presses: each event, identified by its RTP timestamp, is reported once
// — when its first packet arrives — however many times it is repeated or
// its end packet retransmitted, and in whatever order they arrive.
type DTMFReceiver struct {
	seen [8]uint32 // timestamps of recent events, a small ring
	n    int
}

// Receive takes one telephone-event packet's RTP timestamp and payload,
// and returns the key pressed when the packet begins a new event.
func (r *DTMFReceiver) Receive(timestamp uint32, payload []byte) (byte, bool) {
	e, err := ParseTelephoneEvent(payload)
	if err != nil || e.Key() == 0 {
		return 0, false
	}
	for i := 0; i < len(r.seen) && i < r.n; i++ {
		if r.seen[i] == timestamp {
			return 0, false
		}
	}
	r.seen[r.n%len(r.seen)] = timestamp
	r.n++
	return e.Key(), true
}
