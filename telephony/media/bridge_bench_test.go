package media_test

import (
	"context"
	"encoding/binary"
	"net"
	"testing"

	"github.com/pion/rtp"

	"github.com/callflow/callflow/telephony/media"
)

// BenchmarkBridgeRelay is one packet through a running bridge: sent by
// the caller's phone, relayed by the bridge (PCMU to PCMA, and recorded
// in the second run), read by the agent's phone. It includes both
// system calls of the phone and both of the relay:
//
//	go test -run '^$' -bench BridgeRelay -benchtime 20000x ./telephony/media/
func BenchmarkBridgeRelay(b *testing.B) {
	for _, rec := range []bool{false, true} {
		name := "plain"
		if rec {
			name = "recorded"
		}
		b.Run(name, func(b *testing.B) {
			var pc media.Pacer
			defer pc.Close()
			legA, phoneA := benchLeg(b, &pc, media.PayloadPCMU)
			legB, sink := benchLeg(b, &pc, media.PayloadPCMA)
			var opts media.BridgeOptions
			if rec {
				opts.Recorder = media.NewRecorder(discardFrames{})
			}
			br := media.NewBridge(legA, legB, opts)
			done := make(chan struct{})
			ctx, cancel := context.WithCancel(context.Background())
			go func() { defer close(done); br.Run(ctx) }()
			defer func() { cancel(); <-done }()
			packet, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: media.PayloadPCMU, SSRC: 0xA}, Payload: make([]byte, media.FrameSamples)}).Marshal()
			buf := make([]byte, 1500)
			to := legA.Conn.LocalAddr()
			b.ReportAllocs()
			b.SetBytes(int64(len(packet)))
			var seq uint16
			for b.Loop() {
				seq++
				binary.BigEndian.PutUint16(packet[2:], seq)
				binary.BigEndian.PutUint32(packet[4:], uint32(seq)*media.FrameSamples)
				if _, err := phoneA.WriteTo(packet, to); err != nil {
					b.Fatal(err)
				}
				for {
					n, err := sink.Read(buf)
					if err != nil {
						b.Fatal(err)
					}
					if n == len(packet) && buf[1]&0x7F == media.PayloadPCMA && buf[12] != 0xD5 {
						break // the relayed packet, not the pacer's silence
					}
				}
			}
		})
	}
}

// benchLeg is a leg whose phone is one socket, returned.
func benchLeg(b *testing.B, pc *media.Pacer, codec uint8) (media.Leg, *net.UDPConn) {
	b.Helper()
	local, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { local.Close() })
	phone, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { phone.Close() })
	addr := phone.LocalAddr().(*net.UDPAddr)
	s := media.NewStream(local, addr, codec, nil)
	pc.Add(s)
	return media.Leg{Conn: local, Stream: s, Latch: media.NewLatch(addr.AddrPort(), addr.AddrPort().Addr()), Codec: codec}, phone
}
