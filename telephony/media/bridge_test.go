package media_test

import (
	"context"
	"encoding/binary"
	"math"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/callflow/callflow/internal/g711"
	"github.com/callflow/callflow/telephony/media"
)

// phone is the far end of a leg: a socket that sends the leg's RTP to
// the bridge and receives what the bridge relays to it.
type phone struct {
	conn  *net.UDPConn
	rx    chan received
	codec uint8
	seq   uint16
	ts    uint32
	ssrc  uint32
}

// testLeg makes a leg of codec and dtmf: its local socket, its stream
// (to the phone, added to pc) and its latch, and the phone.
func testLeg(t *testing.T, pc *media.Pacer, codec, dtmf uint8, ssrc uint32) (media.Leg, *phone) {
	t.Helper()
	local, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { local.Close() })
	pconn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ph := &phone{conn: pconn, rx: make(chan received, 2000), codec: codec, ssrc: ssrc, seq: 100, ts: 50_000}
	done := make(chan struct{})
	t.Cleanup(func() { pconn.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, err := pconn.Read(buf)
			if err != nil {
				return
			}
			r := received{at: time.Now()}
			if r.p.Unmarshal(append([]byte(nil), buf[:n]...)) == nil {
				ph.rx <- r
			}
		}
	}()
	addr := pconn.LocalAddr().(*net.UDPAddr)
	s := media.NewStream(local, addr, codec, nil)
	pc.Add(s)
	t.Cleanup(s.Close)
	leg := media.Leg{Conn: local, Stream: s, Latch: media.NewLatch(addr.AddrPort(), addr.AddrPort().Addr()), Codec: codec, DTMFType: dtmf}
	return leg, ph
}

// send sends one packet of pt from the phone to leg's socket; it may be
// called from any one goroutine at a time.
func (ph *phone) send(t *testing.T, to net.PacketConn, pt uint8, payload []byte, marker bool, ts uint32) {
	t.Helper()
	b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: ph.seq, Timestamp: ts, SSRC: ph.ssrc, Marker: marker}, Payload: payload}).Marshal()
	if err == nil {
		_, err = ph.conn.WriteTo(b, to.LocalAddr())
	}
	if err != nil {
		t.Error(err) // not Fatal: a phone may talk in a goroutine of its own
	}
	ph.seq++
}

// talk sends frames of samples, one every 20 ms, in the phone's codec.
func (ph *phone) talk(t *testing.T, to net.PacketConn, samples []int16) {
	t.Helper()
	tick := time.NewTicker(media.FrameInterval)
	defer tick.Stop()
	payload := make([]byte, media.FrameSamples)
	for off := 0; off < len(samples); off += media.FrameSamples {
		media.Encode(ph.codec, payload, samples[off:off+media.FrameSamples])
		ph.send(t, to, ph.codec, payload, off == 0, ph.ts)
		ph.ts += media.FrameSamples
		<-tick.C
	}
}

// speech is n frames of a tone whose pitch and loudness change from
// frame to frame, so that no two frames are alike and none is silence.
func speech(n int, seed float64) []int16 {
	s := make([]int16, n*media.FrameSamples)
	for i := range s {
		f := float64(i / media.FrameSamples)
		s[i] = int16((4000 + 300*f) * math.Sin(float64(i)*(0.05+0.002*f)+seed))
	}
	return s
}

// heard collects what a phone receives until it has want frames that
// are not the pacer's silence (or the deadline passes), and returns them
// with the packets among them.
func (ph *phone) heard(t *testing.T, want int) (payload []byte, all []received) {
	t.Helper()
	quiet := g711.EncodeULaw(0)
	if ph.codec == media.PayloadPCMA {
		quiet = g711.EncodeALaw(0)
	}
	frames := 0
	for frames < want {
		r := next(t, ph.rx)
		all = append(all, r)
		if r.p.PayloadType == ph.codec && !allBytes(r.p.Payload, quiet) {
			payload = append(payload, r.p.Payload...)
			frames++
		}
	}
	return payload, all
}

func allBytes(b []byte, v byte) bool {
	for _, x := range b {
		if x != v {
			return false
		}
	}
	return true
}

// run runs br until the returned stop is called, which returns Run's
// results.
func run(t *testing.T, br *media.Bridge) (stop func() media.BridgeStats) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		st  media.BridgeStats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := br.Run(ctx)
		done <- result{st, err}
	}()
	stopped := false
	var res result
	stop = func() media.BridgeStats {
		if !stopped {
			stopped = true
			cancel()
			res = <-done
			if res.err != nil {
				t.Errorf("Run: %v", res.err)
			}
		}
		return res.st
	}
	t.Cleanup(func() { stop() })
	return stop
}

// Audio crosses a PCMA bridge both ways byte for byte, and the bridge's
// goroutines are gone once Run returns.
func TestBridgeRelaysBothWaysExactly(t *testing.T) {
	var pc media.Pacer
	defer pc.Close()
	a, phoneA := testLeg(t, &pc, media.PayloadPCMA, 0, 0xA)
	b, phoneB := testLeg(t, &pc, media.PayloadPCMA, 0, 0xB)
	before := runtime.NumGoroutine()
	stop := run(t, media.NewBridge(a, b, media.BridgeOptions{}))
	const frames = 25
	fromA, fromB := speech(frames, 0), speech(frames, 1)
	done := make(chan struct{})
	go func() { defer close(done); phoneB.talk(t, b.Conn, fromB) }()
	phoneA.talk(t, a.Conn, fromA)
	<-done
	gotB, _ := phoneB.heard(t, frames)
	gotA, _ := phoneA.heard(t, frames)
	for _, c := range []struct {
		name string
		sent []int16
		got  []byte
	}{{"a to b", fromA, gotB}, {"b to a", fromB, gotA}} {
		want := make([]byte, len(c.sent))
		media.Encode(media.PayloadPCMA, want, c.sent)
		if string(c.got) != string(want) {
			t.Errorf("%s: the audio differs from what was sent", c.name)
		}
	}
	st := stop()
	if st.A.In != frames || st.A.Relayed != frames || st.B.In != frames || st.B.Relayed != frames || st.A.Dropped+st.B.Dropped+st.A.Rejected+st.B.Rejected != 0 {
		t.Errorf("stats %+v, want %d frames in and relayed each way", st, frames)
	}
	if a.Stream.Relaying() || b.Stream.Relaying() {
		t.Error("a stream still relays after Run returned")
	}
	// Run's own goroutine in the test ends just after handing over its
	// results.
	for deadline := time.Now().Add(time.Second); runtime.NumGoroutine() > before && time.Now().Before(deadline); {
		runtime.Gosched()
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Run returned, %d before it", n, before)
	}
}

// Between a PCMU and a PCMA phone the bridge converts each byte as
// decoding and encoding would, and the audio keeps G.711's quality.
func TestBridgeTranscodes(t *testing.T) {
	var pc media.Pacer
	defer pc.Close()
	a, phoneA := testLeg(t, &pc, media.PayloadPCMU, 0, 0xA)
	b, phoneB := testLeg(t, &pc, media.PayloadPCMA, 0, 0xB)
	stop := run(t, media.NewBridge(a, b, media.BridgeOptions{}))
	const frames = 25
	fromA, fromB := speech(frames, 0), speech(frames, 2)
	done := make(chan struct{})
	go func() { defer close(done); phoneB.talk(t, b.Conn, fromB) }()
	phoneA.talk(t, a.Conn, fromA)
	<-done
	gotB, _ := phoneB.heard(t, frames)
	gotA, _ := phoneA.heard(t, frames)
	stop()
	for _, c := range []struct {
		name     string
		sent     []int16
		from, to uint8
		got      []byte
	}{{"PCMU to PCMA", fromA, media.PayloadPCMU, media.PayloadPCMA, gotB}, {"PCMA to PCMU", fromB, media.PayloadPCMA, media.PayloadPCMU, gotA}} {
		sent := make([]byte, len(c.sent))
		media.Encode(c.from, sent, c.sent)
		linear := make([]int16, len(sent))
		media.Decode(c.from, linear, sent)
		want := make([]byte, len(sent))
		media.Encode(c.to, want, linear)
		if string(c.got) != string(want) {
			t.Errorf("%s: not what decoding and encoding again gives", c.name)
		}
		heard := make([]int16, len(c.got))
		media.Decode(c.to, heard, c.got)
		if snr := snrDB(c.sent, heard); snr < 30 {
			t.Errorf("%s: %.1f dB signal to noise, want at least 30", c.name, snr)
		} else {
			t.Logf("%s: %.1f dB signal to noise", c.name, snr)
		}
	}
}

func snrDB(want, got []int16) float64 {
	var sig, noise float64
	for i := range want {
		d := float64(want[i]) - float64(got[i])
		sig += float64(want[i]) * float64(want[i])
		noise += d * d
	}
	return 10 * math.Log10(sig/noise)
}

// Telephone events cross with the other leg's payload type; to a leg
// that negotiated none they are dropped, and counted.
func TestBridgeRelaysDTMF(t *testing.T) {
	var pc media.Pacer
	defer pc.Close()
	a, phoneA := testLeg(t, &pc, media.PayloadPCMU, 101, 0xA)
	b, phoneB := testLeg(t, &pc, media.PayloadPCMA, 96, 0xB)
	c, phoneC := testLeg(t, &pc, media.PayloadPCMU, 0, 0xC)
	stop := run(t, media.NewBridge(a, b, media.BridgeOptions{}))
	events := []media.TelephoneEvent{{Event: 5, Volume: 10, Duration: 160}, {Event: 5, Volume: 10, Duration: 320}, {Event: 5, Volume: 10, End: true, Duration: 480}}
	for i, e := range events {
		phoneA.send(t, a.Conn, 101, e.Marshal(), i == 0, 7777)
	}
	var keys media.DTMFReceiver
	var got []media.TelephoneEvent
	var marks []bool
	pressed := ""
	for len(got) < len(events) {
		r := next(t, phoneB.rx)
		if r.p.PayloadType == media.PayloadPCMA {
			continue // the pacer's silence before the bridge started
		}
		if r.p.PayloadType != 96 {
			t.Fatalf("payload type %d reached b, want its telephone-event 96", r.p.PayloadType)
		}
		e, err := media.ParseTelephoneEvent(r.p.Payload)
		if err != nil {
			t.Fatal(err)
		}
		got, marks = append(got, e), append(marks, r.p.Marker)
		if k, ok := keys.Receive(r.p.Timestamp, r.p.Payload); ok {
			pressed += string(k)
		}
	}
	for i := range events {
		if got[i] != events[i] || marks[i] != (i == 0) {
			t.Errorf("event %d: %+v (marker %v), sent %+v", i, got[i], marks[i], events[i])
		}
	}
	if pressed != "5" {
		t.Errorf("b's phone read keys %q, want one 5", pressed)
	}
	if st := stop(); st.A.Events != 3 || st.A.Relayed != 3 {
		t.Errorf("stats %+v, want 3 events relayed", st.A)
	}

	// To a leg without telephone events.
	_ = phoneC
	stop = run(t, media.NewBridge(b, c, media.BridgeOptions{}))
	for i, e := range events {
		phoneB.send(t, b.Conn, 96, e.Marshal(), i == 0, 9999)
	}
	phoneB.send(t, b.Conn, media.PayloadPCMA, make([]byte, 160), false, 9999) // audio after, to know the events were read
	for {
		r := next(t, phoneC.rx)
		if r.p.PayloadType != media.PayloadPCMU {
			t.Fatalf("payload type %d reached a leg without events", r.p.PayloadType)
		}
		if r.p.Payload[0] == g711.ALawToULaw(0) {
			break // the relayed audio; the pacer's silence is 0xff
		}
	}
	if st := stop(); st.A.Events != 3 || st.A.Dropped != 3 || st.A.Relayed != 1 {
		t.Errorf("stats %+v, want 3 events dropped and 1 frame relayed", st.A)
	}
}

// While the agent holds, nothing of theirs reaches the caller, who hears
// the music the caller's stream plays; taking the hold off ends the
// music and relays again. The caller hears one stream throughout.
func TestBridgeHold(t *testing.T) {
	var pc media.Pacer
	defer pc.Close()
	a, phoneA := testLeg(t, &pc, media.PayloadPCMU, 0, 0xA)
	b, phoneB := testLeg(t, &pc, media.PayloadPCMU, 0, 0xB)
	br := media.NewBridge(a, b, media.BridgeOptions{})
	stop := run(t, br)
	phoneB.talk(t, b.Conn, speech(5, 0))
	_, all := phoneA.heard(t, 5)

	br.Hold(media.SideB, true)
	music := make([]int16, 100*media.FrameSamples)
	for i := range music {
		music[i] = 3000
	}
	onHold := a.Stream.Play(music)
	tune := g711.EncodeULaw(3000)
	phoneB.talk(t, b.Conn, speech(10, 3)) // the agent's phone may go on sending
	music1 := 0
	for music1 < 10 {
		r := next(t, phoneA.rx)
		all = append(all, r)
		switch {
		case allBytes(r.p.Payload, tune):
			music1++
		case !allBytes(r.p.Payload, g711.EncodeULaw(0)):
			t.Fatalf("the caller heard %x… on hold, not music or silence", r.p.Payload[:4])
		}
	}
	if st := br.Stats(); st.B.Held != 10 {
		t.Errorf("%d of the agent's frames held, want 10", st.B.Held)
	}

	br.Hold(media.SideB, false)
	select {
	case <-onHold.Done():
	default:
		t.Error("the music goes on after the hold ended")
	}
	back := speech(5, 4)
	phoneB.talk(t, b.Conn, back)
	var got []byte
	for len(got) < len(back) {
		r := next(t, phoneA.rx)
		all = append(all, r)
		if allBytes(r.p.Payload, tune) || allBytes(r.p.Payload, g711.EncodeULaw(0)) {
			continue // what the pacer sent before the hold ended
		}
		got = append(got, r.p.Payload...)
	}
	want := make([]byte, len(back))
	media.Encode(media.PayloadPCMU, want, back)
	if string(got) != string(want) {
		t.Error("the agent's audio after the hold differs from what was sent")
	}
	stop()
	for i := 1; i < len(all); i++ {
		if all[i].p.SSRC != all[0].p.SSRC || all[i].p.SequenceNumber != all[i-1].p.SequenceNumber+1 || int32(all[i].p.Timestamp-all[i-1].p.Timestamp) <= 0 {
			t.Fatalf("packet %d (ssrc %#x seq %d ts %d) does not continue %d (%#x %d %d)", i,
				all[i].p.SSRC, all[i].p.SequenceNumber, all[i].p.Timestamp, i-1, all[i-1].p.SSRC, all[i-1].p.SequenceNumber, all[i-1].p.Timestamp)
		}
	}
}

// Only the latched phone is relayed: another source's packets, and
// payload types nobody negotiated, are rejected and counted.
func TestBridgeRejectsStrangers(t *testing.T) {
	var pc media.Pacer
	defer pc.Close()
	a, phoneA := testLeg(t, &pc, media.PayloadPCMU, 0, 0xA)
	b, phoneB := testLeg(t, &pc, media.PayloadPCMU, 0, 0xB)
	stop := run(t, media.NewBridge(a, b, media.BridgeOptions{}))
	phoneA.send(t, a.Conn, media.PayloadPCMU, make([]byte, 160), true, 1) // latches a
	stranger := &phone{conn: sender(t).(*net.UDPConn), ssrc: 0xA}
	stranger.send(t, a.Conn, media.PayloadPCMU, make([]byte, 160), false, 2)
	phoneA.send(t, a.Conn, 18, make([]byte, 20), false, 3)                  // G.729, not negotiated
	phoneA.send(t, a.Conn, media.PayloadPCMU, []byte{1, 2, 3, 4}, false, 4) // a last frame to wait for
	for {
		r := next(t, phoneB.rx)
		if r.p.Payload[0] == 1 {
			break
		}
	}
	if _, ok := a.Latch.Source(); !ok {
		t.Error("a is not latched")
	}
	if st := stop(); st.A.In != 2 || st.A.Relayed != 2 || st.A.Rejected != 2 {
		t.Errorf("stats %+v, want 2 relayed and 2 rejected", st.A)
	}
}

// A relayed packet costs no allocation, recorded or not: the bridge's
// reader, the Stream and the recorder reuse their buffers.
func TestBridgeAllocatesNothing(t *testing.T) {
	for _, rec := range []bool{false, true} {
		var pc media.Pacer
		a, phoneA := testLeg(t, &pc, media.PayloadPCMU, 0, 0xA)
		b, phoneB := testLeg(t, &pc, media.PayloadPCMA, 0, 0xB)
		var opts media.BridgeOptions
		if rec {
			opts.Recorder = media.NewRecorder(discardFrames{})
		}
		stop := run(t, media.NewBridge(a, b, opts))
		packet, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: media.PayloadPCMU, SSRC: 0xA}, Payload: make([]byte, media.FrameSamples)}).Marshal()
		// Past the pacer's silence from before the bridge.
		for len(phoneB.rx) > 0 {
			<-phoneB.rx
		}
		var seq uint16
		send := func() {
			seq++
			binary.BigEndian.PutUint16(packet[2:], seq)
			binary.BigEndian.PutUint32(packet[4:], uint32(seq)*media.FrameSamples)
			if _, err := phoneA.conn.WriteTo(packet, a.Conn.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
		for range 10 {
			send()
		}
		got := 0
		for got < 10 {
			if r := next(t, phoneB.rx); r.p.PayloadType == media.PayloadPCMA && r.p.Payload[0] == g711.ULawToALaw(0) {
				got++
			}
		}
		// phoneB's reader allocates a packet's copy for the test; read
		// its socket directly instead, with the reader stopped.
		phoneB.conn.Close()
		for len(phoneB.rx) > 0 {
			<-phoneB.rx
		}
		sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		b.Stream.SetRemote(sink.LocalAddr().(*net.UDPAddr))
		buf := make([]byte, 1500)
		allocs := testing.AllocsPerRun(200, func() {
			send()
			for {
				n, err := sink.Read(buf)
				if err != nil {
					t.Fatal(err)
				}
				if n == 12+media.FrameSamples && buf[12] == g711.ULawToALaw(0) {
					return
				}
			}
		})
		stop()
		sink.Close()
		pc.Close()
		// The pacer's tick for the other stream may land in a run.
		if allocs >= 0.5 {
			t.Errorf("recording %v: %v allocations a relayed packet", rec, allocs)
		}
	}
}

type discardFrames struct{}

func (discardFrames) Write([]int16) error { return nil }
