package media_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/callflow/callflow/telephony/media"
)

const offer = "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
	"m=audio 40000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"

func TestAnswer(t *testing.T) {
	local := netip.MustParseAddrPort("127.0.0.1:20000")
	ans, n, err := media.Answer([]byte(offer), local)
	if err != nil {
		t.Fatal(err)
	}
	if n.PayloadType != media.PayloadPCMA || n.DTMFType != 101 || n.Remote != netip.MustParseAddrPort("127.0.0.1:40000") {
		t.Errorf("negotiated %+v, want PCMA, DTMF 101, 127.0.0.1:40000 (the offer's preference)", n)
	}
	for _, want := range []string{"m=audio 20000 RTP/AVP 8 101\r\n", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=ptime:20", "c=IN IP4 127.0.0.1"} {
		if !strings.Contains(string(ans), want) {
			t.Errorf("answer lacks %q:\n%s", want, ans)
		}
	}
	// The answer is itself valid SDP that a peer's offer parser accepts.
	if _, n2, err := media.Answer(ans, netip.MustParseAddrPort("127.0.0.1:30000")); err != nil || n2.PayloadType != media.PayloadPCMA {
		t.Errorf("the answer does not parse back: %v %+v", err, n2)
	}
	// PCMU first, no DTMF; session-level connection only.
	pcmu := strings.Replace(strings.Replace(offer, "8 0 101", "0 8", 1), "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n", "", 1)
	if _, n, err := media.Answer([]byte(pcmu), local); err != nil || n.PayloadType != media.PayloadPCMU || n.DTMFType != 0 {
		t.Errorf("PCMU offer: %+v %v", n, err)
	}
}

func TestAnswerRefuses(t *testing.T) {
	local := netip.MustParseAddrPort("127.0.0.1:20000")
	for name, o := range map[string]string{
		"garbage":     "hello",
		"no audio":    strings.Replace(offer, "m=audio", "m=video", 1),
		"opus only":   strings.Replace(strings.Replace(offer, "8 0 101", "111", 1), "a=rtpmap:8 PCMA/8000", "a=rtpmap:111 opus/48000/2", 1),
		"no address":  strings.Replace(offer, "c=IN IP4 127.0.0.1\r\n", "", 1),
		"bad address": strings.Replace(offer, "c=IN IP4 127.0.0.1", "c=IN IP4 not.an.ip", 1),
	} {
		_, _, err := media.Answer([]byte(o), local)
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		if name == "opus only" && !errors.Is(err, media.ErrNoCommonCodec) {
			t.Errorf("opus only: %v, want ErrNoCommonCodec", err)
		}
	}
}

func FuzzAnswer(f *testing.F) {
	f.Add([]byte(offer))
	f.Add([]byte("v=0\r\nm=audio 1 RTP/AVP 0\r\n"))
	f.Fuzz(func(t *testing.T, o []byte) {
		ans, n, err := media.Answer(o, netip.MustParseAddrPort("127.0.0.1:20000"))
		if err != nil {
			return
		}
		if n.PayloadType != media.PayloadPCMU && n.PayloadType != media.PayloadPCMA {
			t.Fatalf("negotiated payload type %d", n.PayloadType)
		}
		if _, _, err := media.Answer(ans, netip.MustParseAddrPort("127.0.0.1:30000")); err != nil {
			t.Fatalf("our answer does not parse: %v\n%s", err, ans)
		}
	})
}
