package media

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"
)

// parseRTP agrees with pion's Unmarshal on every input: it takes what
// pion takes (of version 2), with the same header and payload, and
// refuses what pion refuses, but for the insides of header extensions.
func FuzzParseRTP(f *testing.F) {
	plain, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: 7, Timestamp: 160, SSRC: 42, Marker: true}, Payload: make([]byte, 160)}).Marshal()
	ext := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, CSRC: []uint32{1, 2}}, Payload: []byte{1, 2, 3}}
	ext.SetExtension(1, []byte{9, 9})
	extended, _ := ext.Marshal()
	padded, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, Padding: true}, Payload: []byte{5, 6}, PaddingSize: 3}).Marshal()
	for _, seed := range [][]byte{plain, extended, padded, {0x80}, {0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, payload, ok := parseRTP(b)
		var p rtp.Packet
		err := p.Unmarshal(bytes.Clone(b))
		if !ok {
			if err == nil && p.Version == 2 {
				t.Fatalf("refused a packet pion reads: %+v", p.Header)
			}
			return
		}
		if err != nil && b[0]&0x10 != 0 {
			// pion also checks the elements inside a header extension
			// (RFC 8285); the relay skips an extension whole, by its
			// length, as RFC 3550 allows.
			return
		}
		if err != nil {
			t.Fatalf("read a packet pion refuses (%v): %+v", err, h)
		}
		if h.PayloadType != p.PayloadType || h.Marker != p.Marker || h.Sequence != p.SequenceNumber || h.Timestamp != p.Timestamp || h.SSRC != p.SSRC {
			t.Fatalf("header %+v, pion's %+v", h, p.Header)
		}
		if !bytes.Equal(payload, p.Payload) {
			t.Fatalf("payload % x, pion's % x", payload, p.Payload)
		}
	})
}

// Reading a packet allocates nothing.
func TestParseRTPAllocatesNothing(t *testing.T) {
	b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: 1}, Payload: make([]byte, 160)}).Marshal()
	if n := testing.AllocsPerRun(100, func() {
		if _, p, ok := parseRTP(b); !ok || len(p) != 160 {
			t.Fatal("not read")
		}
	}); n != 0 {
		t.Errorf("%v allocations a packet", n)
	}
}
