package media

import (
	"encoding/binary"
	"errors"
)

// A Stream relays another call leg's media between StartRelay and
// StopRelay: each packet handed to Relay leaves at once, in the caller's
// goroutine, as the stream's own (its SSRC, its next sequence number, a
// timestamp on its clock), and the pacer sends nothing for the stream
// meanwhile. The pacer keeps the clock going, so that when relaying
// stops (the agent holds, or the bridge ends) its frames of music or
// silence go on with the right timestamps and sequence numbers: the
// phone on the other end sees one unbroken stream for the whole call.

// RelayPacket is one packet to relay: its payload, already in the
// stream's codec (or, for an event, RFC 4733's payload), its payload
// type on the stream's side, and its RTP timestamp and marker as they
// arrived from the other leg. Payload is not kept after Relay returns.
type RelayPacket struct {
	PayloadType uint8
	Payload     []byte
	Timestamp   uint32 // the source's, mapped onto the stream's clock
	Marker      bool
	// Event is set for a telephone event: events keep a timestamp
	// mapping of their own, because some senders number them apart
	// from their audio, and take no time on the stream's clock.
	Event bool
}

// ErrRelayTooLarge is returned by Relay for a payload that does not fit
// one UDP datagram of the stream.
var ErrRelayTooLarge = errors.New("media: relayed payload larger than 1488 bytes")

// relayState maps relayed timestamps onto a stream's clock. The first
// packet of each kind after StartRelay takes the clock's current
// timestamp and fixes the offset; later ones keep the source's spacing,
// so that the receiver's jitter buffer sees the sender's timing and not
// our arrival jitter. A timestamp that lands more than maxRelayDrift
// from the clock (the source changed its SSRC, or restarted) is taken
// as a new start.
type relayState struct {
	offset [2]uint32 // audio, events: added to the source's timestamp
	synced [2]bool
	spurt  bool // the next relayed audio packet starts a talk spurt
	// stopped is set when relaying stops, so that the pacer's next frame
	// starts a talk spurt of its own.
	stopped bool
}

// maxRelayDrift is how far (in samples: 2 s) a relayed timestamp may be
// from the stream's clock before the mapping starts again.
const maxRelayDrift = 2 * SampleRate

// resume marks the pacer's first frame after relaying as a talk spurt.
func (r *relayState) resume(s *Sender) {
	if r.stopped {
		r.stopped = false
		s.Spurt()
	}
}

// StartRelay makes the stream relay: the pacer stops sending its frames
// (its clock goes on), and what plays ends as stopped. A Play while
// relaying waits, without advancing, until StopRelay. It is safe to
// call from any goroutine, and again while relaying (the timestamp
// mapping starts again, for a new source).
func (s *Stream) StartRelay() {
	s.send.Lock()
	s.relaying.Store(true)
	s.relay = relayState{spurt: true}
	s.send.Unlock()
	s.mu.Lock()
	if s.play != nil {
		s.play.finish()
		s.play = nil
	}
	s.mu.Unlock()
}

// StopRelay gives the stream back to the pacer: from its next tick it
// sends the playback or silence again, continuing the sequence numbers
// and timestamps of what was relayed. Once StopRelay returns, Relay
// sends nothing.
func (s *Stream) StopRelay() {
	s.send.Lock()
	if s.relaying.Load() {
		s.relaying.Store(false)
		s.relay.stopped = true
	}
	s.send.Unlock()
}

// Relaying reports whether the stream relays.
func (s *Stream) Relaying() bool { return s.relaying.Load() }

// Relay sends p now, as the stream's next packet, and reports whether it
// was sent: nothing is sent when the stream is not relaying, is closed,
// or is on hold (SetSending(false)). It allocates nothing. It is safe to
// call from any goroutine; packets relayed from several goroutines leave
// in the order their calls took the stream.
func (s *Stream) Relay(p RelayPacket) (bool, error) {
	if len(p.Payload) > len(s.relayed)-12 {
		return false, ErrRelayTooLarge
	}
	s.send.Lock()
	if !s.relaying.Load() || !s.sending.Load() || s.ended.Load() {
		s.send.Unlock()
		return false, nil
	}
	remote := s.remote.Load()
	if remote == nil {
		s.send.Unlock()
		return false, nil
	}
	kind := 0
	if p.Event {
		kind = 1
	}
	r, snd := &s.relay, s.sender
	ts := p.Timestamp + r.offset[kind]
	if d := int32(ts - snd.ts); !r.synced[kind] || d > maxRelayDrift || d < -maxRelayDrift {
		r.offset[kind], r.synced[kind] = snd.ts-p.Timestamp, true
		ts = snd.ts
	}
	marker := p.Marker
	if !p.Event {
		marker = marker || r.spurt
		r.spurt = false
		// A source whose clock runs fast pushes the stream's clock on, so
		// that the pacer's frames never go back in time after relaying.
		if end := ts + uint32(len(p.Payload)); int32(end-snd.ts) > 0 {
			snd.ts = end
		}
	}
	b := s.relayed[:]
	b[0] = 0x80 // version 2
	b[1] = p.PayloadType & 0x7F
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], snd.seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], snd.SSRC)
	n := 12 + copy(b[12:], p.Payload)
	snd.seq++
	_, err := s.conn.WriteTo(b[:n], remote)
	s.send.Unlock()
	if err != nil {
		s.setErr(err)
		return false, err
	}
	if s.sent != nil {
		s.sent.Add(1)
	}
	return true, nil
}
