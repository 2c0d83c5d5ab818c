package media_test

import (
	"testing"

	"github.com/pion/rtp"

	"github.com/callflow/callflow/telephony/media"
)

// frame sends one frame through s and returns the packet as it went out.
func frame(t *testing.T, s *media.Sender, payload []byte) *rtp.Packet {
	t.Helper()
	buf := make([]byte, 1500)
	n, err := s.MarshalFrame(buf, payload, media.FrameSamples)
	if err != nil {
		t.Fatal(err)
	}
	var p rtp.Packet
	if err := p.Unmarshal(buf[:n]); err != nil {
		t.Fatal(err)
	}
	return &p
}

func TestSender(t *testing.T) {
	s := media.NewSender(media.PayloadPCMA)
	first := frame(t, s, make([]byte, 160))
	second := frame(t, s, make([]byte, 160))
	if !first.Marker || second.Marker {
		t.Error("the marker bit starts a talk spurt only")
	}
	if second.SequenceNumber != first.SequenceNumber+1 || second.Timestamp != first.Timestamp+160 || second.SSRC != first.SSRC || second.PayloadType != 8 {
		t.Errorf("consecutive frames: %+v then %+v", first.Header, second.Header)
	}
	s.Silence(800)
	third := frame(t, s, make([]byte, 160))
	if !third.Marker || third.Timestamp != second.Timestamp+160+800 {
		t.Errorf("after 100 ms of silence: %+v", third.Header)
	}
	// Sequence numbers wrap.
	var last uint16
	for i := 0; i < 70000; i++ {
		p := frame(t, s, nil)
		if i > 0 && p.SequenceNumber != last+1 {
			t.Fatalf("sequence %d after %d", p.SequenceNumber, last)
		}
		last = p.SequenceNumber
	}
	b, err := third.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var back rtp.Packet
	if err := back.Unmarshal(b); err != nil || back.SequenceNumber != third.SequenceNumber || len(back.Payload) != 160 {
		t.Errorf("round trip: %+v %v", back.Header, err)
	}
}

func TestDTMFReceiver(t *testing.T) {
	var r media.DTMFReceiver
	var got []byte
	send := func(ts uint32, e media.TelephoneEvent) {
		if k, ok := r.Receive(ts, e.Marshal()); ok {
			got = append(got, k)
		}
	}
	// "1": three packets while held, then the end packet three times.
	for d := uint16(160); d <= 480; d += 160 {
		send(1000, media.TelephoneEvent{Event: 1, Volume: 10, Duration: d})
	}
	for i := 0; i < 3; i++ {
		send(1000, media.TelephoneEvent{Event: 1, End: true, Volume: 10, Duration: 640})
	}
	// "*" then "#", the first of them known only from its end packets
	// (the others were lost).
	send(5000, media.TelephoneEvent{Event: 10, End: true, Duration: 800})
	send(5000, media.TelephoneEvent{Event: 10, End: true, Duration: 800})
	send(9000, media.TelephoneEvent{Event: 11, Duration: 160})
	// A late retransmission of the first event is not a new press.
	send(1000, media.TelephoneEvent{Event: 1, End: true, Duration: 640})
	// Not DTMF, and too short.
	send(12000, media.TelephoneEvent{Event: 99})
	if _, ok := r.Receive(13000, []byte{1, 2}); ok {
		t.Error("a short payload is no key")
	}
	if string(got) != "1*#" {
		t.Errorf("keys %q, want \"1*#\"", got)
	}
	e, err := media.ParseTelephoneEvent(media.TelephoneEvent{Event: 5, End: true, Volume: 63, Duration: 1234}.Marshal())
	if err != nil || e.Event != 5 || !e.End || e.Volume != 63 || e.Duration != 1234 {
		t.Errorf("round trip %+v %v", e, err)
	}
}

// FuzzTelephoneEvent: any bytes parse or fail cleanly, and a receiver fed
// arbitrary packets never reports a key that is not DTMF.
func FuzzTelephoneEvent(f *testing.F) {
	f.Add(uint32(0), []byte{1, 0x8a, 0, 160})
	f.Add(uint32(7), []byte{11, 0, 1, 0, 9})
	f.Fuzz(func(t *testing.T, ts uint32, p []byte) {
		var r media.DTMFReceiver
		if k, ok := r.Receive(ts, p); ok && !(k >= '0' && k <= '9' || k == '*' || k == '#' || k >= 'A' && k <= 'D') {
			t.Fatalf("key %q from %x", k, p)
		}
		if _, ok := r.Receive(ts, p); ok {
			t.Fatal("the same event twice")
		}
	})
}

// A frame is sent 50 times a second in every call: it must not allocate.
func TestMarshalFrameAllocatesNothing(t *testing.T) {
	s := media.NewSender(media.PayloadPCMU)
	buf, payload := make([]byte, 1500), make([]byte, 160)
	if n := testing.AllocsPerRun(100, func() { s.MarshalFrame(buf, payload, media.FrameSamples) }); n != 0 {
		t.Errorf("MarshalFrame allocates %.0f times per frame", n)
	}
}
