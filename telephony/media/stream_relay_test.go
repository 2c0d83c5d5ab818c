package media_test

import (
	"net"
	"testing"
	"time"

	"github.com/callflow/callflow/internal/g711"
	"github.com/callflow/callflow/telephony/media"
)

// relayFrames relays n frames of payload byte b, one every 20 ms, with
// the source's timestamps from ts on, and returns the next timestamp.
func relayFrames(t *testing.T, s *media.Stream, n int, b byte, ts uint32) uint32 {
	t.Helper()
	payload := make([]byte, media.FrameSamples)
	for i := range payload {
		payload[i] = b
	}
	tick := time.NewTicker(media.FrameInterval)
	defer tick.Stop()
	for i := range n {
		sent, err := s.Relay(media.RelayPacket{PayloadType: media.PayloadPCMU, Payload: payload, Timestamp: ts, Marker: i == 0})
		if err != nil || !sent {
			t.Fatalf("relayed frame %d not sent: %v", i, err)
		}
		ts += media.FrameSamples
		<-tick.C
	}
	return ts
}

// awaitPayload reads packets until one whose first payload byte is b,
// and returns it with those before it.
func awaitPayload(t *testing.T, ch <-chan received, b byte) []received {
	t.Helper()
	var got []received
	for {
		r := next(t, ch)
		got = append(got, r)
		if r.p.Payload[0] == b {
			return got
		}
	}
}

// A receiver sees one stream for the whole call, across a prompt, a
// relay, music on hold and a relay again: one SSRC, every sequence
// number once and in order, timestamps that follow the time between
// packets (exactly the source's spacing while relaying), a talk spurt
// at each change, and nothing from the pacer while relaying.
func TestRelayContinuity(t *testing.T) {
	var pc media.Pacer
	defer pc.Close()
	remote, ch := listen(t)
	s := media.NewStream(sender(t), remote, media.PayloadPCMU, nil)
	pc.Add(s)
	prompt := make([]int16, 3*media.FrameSamples)
	for i := range prompt {
		prompt[i] = 8000
	}
	loud, quiet := g711.EncodeULaw(8000), g711.EncodeULaw(3000)
	s.Play(prompt)
	all := awaitPayload(t, ch, loud)

	s.StartRelay()
	if !s.Relaying() {
		t.Fatal("not relaying after StartRelay")
	}
	src := relayFrames(t, s, 10, 0x11, 1_000_000)
	s.StopRelay()
	if sent, _ := s.Relay(media.RelayPacket{PayloadType: media.PayloadPCMU, Payload: []byte{0x11}}); sent {
		t.Error("a packet relayed after StopRelay was sent")
	}
	music := make([]int16, 50*media.FrameSamples) // a second of it
	for i := range music {
		music[i] = 3000
	}
	hold := s.Play(music)
	all = append(all, awaitPayload(t, ch, quiet)...)
	for range 4 {
		all = append(all, next(t, ch))
	}
	s.StartRelay()
	select {
	case <-hold.Done():
	default:
		t.Error("the music did not end when relaying started again")
	}
	relayFrames(t, s, 10, 0x22, src+40_000) // the source's clock jumped 5 s
	s.StopRelay()
	all = append(all, awaitPayload(t, ch, g711.EncodeULaw(0))...)

	relayed := map[byte][]int{}
	for i, r := range all {
		if r.p.SSRC != all[0].p.SSRC {
			t.Fatalf("packet %d has SSRC %#x, the stream %#x", i, r.p.SSRC, all[0].p.SSRC)
		}
		if b := r.p.Payload[0]; b == 0x11 || b == 0x22 {
			relayed[b] = append(relayed[b], i)
		}
		if i == 0 {
			continue
		}
		prev := all[i-1]
		if r.p.SequenceNumber != prev.p.SequenceNumber+1 {
			t.Errorf("packet %d: sequence number %d after %d", i, r.p.SequenceNumber, prev.p.SequenceNumber)
		}
		dts := int32(r.p.Timestamp - prev.p.Timestamp)
		if dts <= 0 {
			t.Errorf("packet %d: timestamp %d after %d does not go on", i, r.p.Timestamp, prev.p.Timestamp)
		}
		// The clock and the arrival times agree within a couple of frames
		// of jitter.
		if ms, gap := int64(dts)/8, r.at.Sub(prev.at).Milliseconds(); ms-gap > 45 || gap-ms > 45 {
			t.Errorf("packet %d: timestamp moved %d ms in %d ms", i, ms, gap)
		}
	}
	for _, b := range []byte{0x11, 0x22} {
		idx := relayed[b]
		if len(idx) != 10 {
			t.Fatalf("%d packets of relay %#x arrived, want 10", len(idx), b)
		}
		if idx[9]-idx[0] != 9 {
			t.Errorf("the pacer sent %d packets during relay %#x", idx[9]-idx[0]-9, b)
		}
		first := all[idx[0]]
		if !first.p.Marker {
			t.Errorf("relay %#x does not start a talk spurt", b)
		}
		for _, i := range idx[1:] {
			if d := all[i].p.Timestamp - all[i-1].p.Timestamp; d != media.FrameSamples || all[i].p.Marker {
				t.Errorf("relay %#x: a frame %d samples after the one before (marker %v), want the source's 160", b, d, all[i].p.Marker)
			}
		}
		if after := all[idx[9]+1]; !after.p.Marker {
			t.Errorf("the pacer's first frame after relay %#x does not start a talk spurt", b)
		}
	}
}

// Relaying a packet allocates nothing.
func TestRelayAllocatesNothing(t *testing.T) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s := media.NewStream(sender(t), conn.LocalAddr().(*net.UDPAddr), media.PayloadPCMA, nil)
	defer s.Close()
	s.StartRelay()
	p := media.RelayPacket{PayloadType: media.PayloadPCMA, Payload: make([]byte, media.FrameSamples)}
	buf := make([]byte, 1500)
	if n := testing.AllocsPerRun(200, func() {
		p.Timestamp += media.FrameSamples
		if sent, err := s.Relay(p); !sent || err != nil {
			t.Fatalf("not sent: %v", err)
		}
		if n, err := conn.Read(buf); err != nil || n != 12+media.FrameSamples {
			t.Fatalf("read %d bytes, %v", n, err)
		}
	}); n != 0 {
		t.Errorf("%v allocations a relayed packet", n)
	}
	s.Close()
	if sent, _ := s.Relay(p); sent {
		t.Error("a closed stream relayed")
	}
}
