package media_test

import (
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/callflow/callflow/internal/g711"
	"github.com/callflow/callflow/telephony/media"
)

// received is one RTP packet as a test's socket got it.
type received struct {
	at time.Time
	p  rtp.Packet
}

// listen opens a loopback socket and collects the packets it receives
// until the test ends.
func listen(t *testing.T) (*net.UDPAddr, <-chan received) {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch := make(chan received, 1000)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			var r received
			r.at = time.Now()
			if r.p.Unmarshal(append([]byte(nil), buf[:n]...)) == nil {
				ch <- r
			}
		}
	}()
	return conn.LocalAddr().(*net.UDPAddr), ch
}

func sender(t *testing.T) net.PacketConn {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func next(t *testing.T, ch <-chan received) received {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(2 * time.Second):
		t.Fatal("no packet for 2 s")
		return received{}
	}
}

// A stream sends a frame every 20 ms for as long as it lives: silence,
// then a prompt (its last frame padded to a whole frame, the first
// marked as a talk spurt), then silence again; sequence numbers go up by
// one and timestamps by a frame. The playback ends once its last frame
// has had its time to play.
func TestStreamSendsContinuously(t *testing.T) {
	var pc media.Pacer
	defer pc.Close()
	remote, ch := listen(t)
	s := media.NewStream(sender(t), remote, media.PayloadPCMU, nil)
	pc.Add(s)
	first := next(t, ch)
	if first.p.PayloadType != media.PayloadPCMU || len(first.p.Payload) != media.FrameSamples || first.p.Payload[0] != g711.EncodeULaw(0) {
		t.Fatalf("the first frame is not a frame of silence: %+v", first.p)
	}
	prompt := make([]int16, 2*media.FrameSamples+40)
	for i := range prompt {
		prompt[i] = 8000
	}
	play := s.Play(prompt)
	last := first
	var frames []received
	for len(frames) < 12 {
		r := next(t, ch)
		if r.p.SequenceNumber != last.p.SequenceNumber+1 || r.p.Timestamp != last.p.Timestamp+media.FrameSamples {
			t.Fatalf("packet %d/%d after %d/%d: want the next sequence number and a frame later", r.p.SequenceNumber, r.p.Timestamp, last.p.SequenceNumber, last.p.Timestamp)
		}
		if gap := r.at.Sub(last.at); gap > 60*time.Millisecond {
			t.Errorf("%s between two packets", gap)
		}
		last = r
		frames = append(frames, r)
	}
	loud := g711.EncodeULaw(8000)
	start := -1
	for i, r := range frames {
		if r.p.Payload[0] == loud {
			start = i
			break
		}
	}
	if start < 0 || start+3 > len(frames) {
		t.Fatalf("the prompt was not sent")
	}
	if !frames[start].p.Marker || frames[start+1].p.Marker {
		t.Error("the prompt's first frame, and only it, starts a talk spurt")
	}
	padded := frames[start+2].p.Payload
	if len(padded) != media.FrameSamples || padded[39] != loud || padded[40] != g711.EncodeULaw(0) {
		t.Errorf("the prompt's last frame is not padded with silence: % x", padded[30:50])
	}
	if after := frames[start+3].p.Payload; after[0] != g711.EncodeULaw(0) {
		t.Error("no silence after the prompt")
	}
	select {
	case <-play.Done():
	case <-time.After(time.Second):
		t.Fatal("the playback did not end")
	}
	s.Close()
	select {
	case <-s.Done():
	case <-time.After(time.Second):
		t.Fatal("the stream did not end")
	}
}

// On hold nothing is sent, and the timestamp goes on with the clock:
// after resuming, it is as far on as the time spent on hold.
func TestStreamHoldKeepsTime(t *testing.T) {
	var pc media.Pacer
	defer pc.Close()
	remote, ch := listen(t)
	s := media.NewStream(sender(t), remote, media.PayloadPCMA, nil)
	pc.Add(s)
	before := next(t, ch)
	s.SetSending(false)
	held := time.Now()
	for len(ch) > 0 || time.Since(held) < 50*time.Millisecond {
		select {
		case <-ch: // packets already under way
		case <-time.After(50 * time.Millisecond):
		}
	}
	quiet := time.Now()
	select {
	case r := <-ch:
		t.Fatalf("a packet on hold: %+v", r.p.Header)
	case <-time.After(300 * time.Millisecond):
	}
	s.SetSending(true)
	after := next(t, ch)
	elapsed := after.at.Sub(before.at)
	ticks := int64(after.p.Timestamp-before.p.Timestamp) / media.FrameSamples
	want := int64(elapsed / media.FrameInterval)
	if ticks < want-3 || ticks > want+3 {
		t.Errorf("after %s (%s of it on hold) the timestamp moved %d frames; want about %d", elapsed, time.Since(quiet), ticks, want)
	}
}

// Many streams share a few goroutines, which Close ends and waits for.
func TestPacerClose(t *testing.T) {
	before := runtime.NumGoroutine()
	var pc media.Pacer
	remote, ch := listen(t)
	conn := sender(t)
	var streams []*media.Stream
	for range 100 {
		s := media.NewStream(conn, remote, media.PayloadPCMU, nil)
		pc.Add(s)
		streams = append(streams, s)
	}
	for range 200 {
		next(t, ch)
	}
	pc.Close()
	for _, s := range streams {
		select {
		case <-s.Done():
		default:
			t.Fatal("a stream is not done after the pacer closed")
		}
	}
	// The test's reader goroutine is the only one added.
	if n := runtime.NumGoroutine(); n > before+1 {
		t.Errorf("%d goroutines after Close, %d before", n, before)
	}
	late := media.NewStream(conn, remote, media.PayloadPCMU, nil)
	pc.Add(late)
	<-late.Done() // a closed pacer takes no stream
}
