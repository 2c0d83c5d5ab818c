package media

import (
	"net"
	"net/netip"
	"slices"
	"sync"
)

// StreamKind tells a leg's audio from its telephone events, which some
// senders number with an SSRC of their own.
type StreamKind uint8

const (
	KindAudio StreamKind = iota
	KindEvents
)

// Latch is symmetric RTP (RFC 4961) for one leg: it decides which
// packets are the leg's. The first packet from one of the allowed
// source hosts latches the leg to that packet's address and port; from
// then on only packets from that address and port are taken, and of
// each kind (audio, events) only those with the SSRC its first packet
// had. Media goes back to the latched address, so that a phone behind
// NAT hears us.
//
// A new address in an offer or answer (Offer) means the phone moved:
// the latch learns again, and that address's host is allowed.
//
// A Latch is safe for concurrent use: the leg's reader admits while
// signalling offers.
type Latch struct {
	mu      sync.Mutex
	sources []netip.Addr   // guarded by mu: empty allows any host
	offered netip.AddrPort // guarded by mu: the address the SDP gave
	locked  bool           // guarded by mu
	from    netip.AddrPort // guarded by mu: the latched source, when locked
	ssrc    [2]uint32      // guarded by mu: by StreamKind, where known
	known   [2]bool        // guarded by mu
}

// NewLatch returns the latch of a leg whose SDP gave offered, and whose
// first packet may come from any of sources: the SDP's host and the
// signalling's source (a phone behind NAT sends from its router's
// address). No sources allows any host. The latch keeps its own copy.
func NewLatch(offered netip.AddrPort, sources ...netip.Addr) *Latch {
	l := &Latch{offered: unmap(offered)}
	for _, s := range sources {
		l.sources = append(l.sources, s.Unmap())
	}
	return l
}

// Admit reports whether a packet of kind from src with ssrc is the
// leg's, and whether it latched the leg (the first packet taken since
// NewLatch or a new Offer): then the caller sends the leg's media to
// src from now on.
func (l *Latch) Admit(src netip.AddrPort, kind StreamKind, ssrc uint32) (ok, latched bool) {
	src = unmap(src)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.locked {
		if l.from != src {
			return false, false
		}
		if !l.known[kind] {
			l.ssrc[kind], l.known[kind] = ssrc, true
		}
		return l.ssrc[kind] == ssrc, false
	}
	if len(l.sources) > 0 && !slices.Contains(l.sources, src.Addr()) {
		return false, false
	}
	l.locked, l.from = true, src
	l.ssrc, l.known = [2]uint32{}, [2]bool{}
	l.ssrc[kind], l.known[kind] = ssrc, true
	return true, true
}

// Offer takes the address of a new offer or answer of the leg, and
// reports whether it is new: then the latch learns again, from the new
// address's host as well as the hosts allowed before, and the caller
// sends the leg's media to the new address (Stream.SetRemote) until a
// packet latches. An unspecified or invalid address (a hold in RFC
// 2543's style) changes nothing.
func (l *Latch) Offer(addr netip.AddrPort) bool {
	addr = unmap(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	if addr == l.offered || !addr.Addr().IsValid() || addr.Addr().IsUnspecified() {
		return false
	}
	l.offered = addr
	l.locked, l.from, l.ssrc, l.known = false, netip.AddrPort{}, [2]uint32{}, [2]bool{}
	if len(l.sources) > 0 && !slices.Contains(l.sources, addr.Addr()) {
		l.sources = append(l.sources, addr.Addr())
	}
	return true
}

// Source is the latched address, and whether the leg is latched.
func (l *Latch) Source() (netip.AddrPort, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.from, l.locked
}

// unmap is an address with an IPv4-mapped IPv6 host as IPv4.
func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// AddrPortOf is a UDP address as an AddrPort, unmapped; the zero
// AddrPort for any other address.
func AddrPortOf(a net.Addr) netip.AddrPort {
	if u, ok := a.(*net.UDPAddr); ok {
		return unmap(u.AddrPort())
	}
	return netip.AddrPort{}
}
