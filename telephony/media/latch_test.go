package media_test

import (
	"net/netip"
	"testing"

	"github.com/callflow/callflow/telephony/media"
)

// The latch's rules, step by step: the first packet from an allowed
// host latches its address and port; then only that address and port,
// and per kind the SSRC it first saw; a new offered address learns
// again, and allows its host.
func TestLatchRules(t *testing.T) {
	sdp := netip.MustParseAddrPort("192.0.2.10:4000")
	nat := netip.MustParseAddr("198.51.100.7")
	l := media.NewLatch(sdp, sdp.Addr(), nat)
	type step struct {
		what    string
		src     string
		kind    media.StreamKind
		ssrc    uint32
		ok, new bool
	}
	check := func(steps []step) {
		t.Helper()
		for _, s := range steps {
			ok, latched := l.Admit(netip.MustParseAddrPort(s.src), s.kind, s.ssrc)
			if ok != s.ok || latched != s.new {
				t.Errorf("%s: admitted %v latched %v, want %v %v", s.what, ok, latched, s.ok, s.new)
			}
		}
	}
	check([]step{
		{"a host not allowed", "203.0.113.5:4000", media.KindAudio, 1, false, false},
		{"the NAT's address latches, on any port", "198.51.100.7:30000", media.KindAudio, 1, true, true},
		{"the same source and SSRC", "198.51.100.7:30000", media.KindAudio, 1, true, false},
		{"the SDP's address, now latched elsewhere", "192.0.2.10:4000", media.KindAudio, 1, false, false},
		{"another port of the latched host", "198.51.100.7:30002", media.KindAudio, 1, false, false},
		{"another SSRC of audio", "198.51.100.7:30000", media.KindAudio, 2, false, false},
		{"events learn their own SSRC", "198.51.100.7:30000", media.KindEvents, 9, true, false},
		{"and keep it", "198.51.100.7:30000", media.KindEvents, 1, false, false},
	})
	if src, ok := l.Source(); !ok || src != netip.MustParseAddrPort("198.51.100.7:30000") {
		t.Errorf("Source %v %v", src, ok)
	}
	if l.Offer(sdp) {
		t.Error("the same offered address relearned")
	}
	if l.Offer(netip.MustParseAddrPort("0.0.0.0:4000")) {
		t.Error("a hold's unspecified address relearned")
	}
	if !l.Offer(netip.MustParseAddrPort("203.0.113.5:5000")) {
		t.Fatal("a new offered address did not relearn")
	}
	if _, ok := l.Source(); ok {
		t.Error("still latched after a new offer")
	}
	check([]step{
		{"the new offer's host is allowed, IPv4-mapped too", "[::ffff:203.0.113.5]:5002", media.KindAudio, 7, true, true},
		{"with a new SSRC", "203.0.113.5:5002", media.KindAudio, 7, true, false},
		{"the old source is gone", "198.51.100.7:30000", media.KindAudio, 1, false, false},
		{"events learn again", "203.0.113.5:5002", media.KindEvents, 1, true, false},
	})

	anyHost := media.NewLatch(sdp)
	if ok, latched := anyHost.Admit(netip.MustParseAddrPort("203.0.113.9:1"), media.KindEvents, 3); !ok || !latched {
		t.Error("a latch with no sources refused its first packet")
	}
}
