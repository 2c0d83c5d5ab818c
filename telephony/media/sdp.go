package media

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pion/sdp/v3"
)

// Direction is which way a stream's media flows, from our side (RFC 3264
// §6.1): what we answer mirrors what was offered.
type Direction uint8

const (
	SendRecv Direction = iota
	SendOnly           // we send, the peer does not: it put us on hold
	RecvOnly           // we receive and do not send
	Inactive
)

var directionNames = [...]string{"sendrecv", "sendonly", "recvonly", "inactive"}

func (d Direction) String() string { return directionNames[d] }

// Sends reports whether we send media in this direction.
func (d Direction) Sends() bool { return d == SendRecv || d == SendOnly }

// mirror is the answer's direction to an offer's.
func (d Direction) mirror() Direction {
	switch d {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	}
	return d
}

// Negotiated is what an SDP offer/answer settled for a call's audio.
type Negotiated struct {
	Remote      netip.AddrPort // where to send RTP
	PayloadType uint8          // PayloadPCMU or PayloadPCMA
	DTMFType    uint8          // the telephone-event payload type; 0 when the peer has none
	Direction   Direction      // which way our media goes
}

// ErrNoCommonCodec is returned (wrapped) when an offer has no audio that
// callflow speaks; the call is refused with 488 Not Acceptable Here.
var ErrNoCommonCodec = errors.New("no common audio codec")

// ErrAddressFamily is returned (wrapped) when an offer's address is IPv6
// and our RTP socket IPv4, or the other way round: the call is refused
// with 488 before anything is answered.
var ErrAddressFamily = errors.New("the offer's address family is not the RTP socket's")

// Session is our side of one call's SDP: its origin, whose version goes
// up with every description we send (RFC 3264 §8), and our RTP address.
// It is not safe for concurrent use.
type Session struct {
	Local   netip.AddrPort
	id      int64
	version int64
	codec   int // the codec settled on, -1 before: a new offer keeps it when it can
}

// NewSession starts the SDP of a call whose RTP is received at local.
func NewSession(local netip.AddrPort) *Session {
	now := time.Now().Unix()
	return &Session{Local: local, id: now, codec: -1}
}

// Answer returns the SDP of a call answering offer, and what was settled.
func Answer(offer []byte, local netip.AddrPort) ([]byte, Negotiated, error) {
	return NewSession(local).Answer(offer)
}

// Answer reads an SDP offer and returns the answer that accepts it: the
// first of PCMU and PCMA in the offer's order of preference, plus
// telephone-event/8000 (RFC 4733) when offered, at 20 ms packets, in the
// direction that mirrors the offer's. The offer is untrusted input: any
// error is a clear one.
func (s *Session) Answer(offer []byte) ([]byte, Negotiated, error) {
	n, err := s.read(offer)
	if err != nil {
		return nil, n, err
	}
	n.Direction = n.Direction.mirror()
	return s.describe(n, false), n, nil
}

// Offer returns an offer of ours (for an INVITE that had none): PCMU and
// PCMA, and telephone-event as payload type 101, sendrecv.
func (s *Session) Offer() []byte { return s.OfferFirst(PayloadPCMU) }

// OfferFirst is Offer with codec (PCMU or PCMA) first: a bridge offers an
// agent's phone the caller's codec first, so that most calls need no
// transcoding.
func (s *Session) OfferFirst(codec uint8) []byte {
	return s.describe(Negotiated{PayloadType: codec, DTMFType: 101}, true)
}

// ReadAnswer reads the answer to our Offer.
func (s *Session) ReadAnswer(answer []byte) (Negotiated, error) {
	n, err := s.read(answer)
	if err != nil {
		return n, err
	}
	n.Direction = n.Direction.mirror()
	return n, nil
}

// read parses an offer, or an answer to our offer, for its audio.
func (s *Session) read(desc []byte) (Negotiated, error) {
	var n Negotiated
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(desc)); err != nil {
		return n, fmt.Errorf("the SDP cannot be read: %w", err)
	}
	var audio *sdp.MediaDescription
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media == "audio" && m.MediaName.Port.Value > 0 && strings.Contains(strings.Join(m.MediaName.Protos, "/"), "RTP/AVP") {
			audio = m
			break
		}
	}
	if audio == nil {
		return n, fmt.Errorf("%w: the offer has no RTP audio stream", ErrNoCommonCodec)
	}
	conn := audio.ConnectionInformation
	if conn == nil {
		conn = sd.ConnectionInformation
	}
	if conn == nil || conn.Address == nil {
		return n, errors.New("the SDP gives no connection address")
	}
	addr, err := netip.ParseAddr(conn.Address.Address)
	if err != nil {
		return n, fmt.Errorf("the SDP's connection address %q is not an IP address", conn.Address.Address)
	}
	port := audio.MediaName.Port.Value
	if port > 65535 {
		return n, fmt.Errorf("the SDP's port %d is out of range", port)
	}
	addr = addr.Unmap()
	if addr.Is4() != s.Local.Addr().Unmap().Is4() {
		return n, fmt.Errorf("%w: it offers %s and RTP is received at %s", ErrAddressFamily, addr, s.Local.Addr())
	}
	n.Remote = netip.AddrPortFrom(addr, uint16(port))
	n.Direction = direction(sd.Attributes, audio.Attributes)
	if addr.IsUnspecified() {
		n.Direction = Inactive // RFC 2543 hold: c=0.0.0.0
	}

	// Dynamic payload types are named by rtpmap attributes.
	names := map[uint8]string{0: "PCMU/8000", 8: "PCMA/8000"}
	for _, a := range audio.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, name, ok := strings.Cut(a.Value, " ")
		if v, err := strconv.Atoi(pt); ok && err == nil && v >= 0 && v < 128 {
			names[uint8(v)] = strings.ToUpper(name)
		}
	}
	codec := -1
	for _, f := range audio.MediaName.Formats {
		v, err := strconv.Atoi(f)
		if err != nil || v < 0 || v > 127 {
			continue
		}
		switch name := names[uint8(v)]; {
		case codec < 0 && name == "PCMU/8000":
			codec = PayloadPCMU
		case codec < 0 && name == "PCMA/8000":
			codec = PayloadPCMA
		case n.DTMFType == 0 && strings.HasPrefix(name, "TELEPHONE-EVENT/8000"):
			n.DTMFType = uint8(v)
		}
	}
	if codec < 0 {
		return n, fmt.Errorf("%w: the offer has neither PCMU nor PCMA", ErrNoCommonCodec)
	}
	if s.codec >= 0 && codec != s.codec {
		// The call's stream is in the codec settled first; a later offer
		// that still has it keeps it.
		for _, f := range audio.MediaName.Formats {
			if v, err := strconv.Atoi(f); err == nil && v >= 0 && v < 128 && names[uint8(v)] == map[int]string{PayloadPCMU: "PCMU/8000", PayloadPCMA: "PCMA/8000"}[s.codec] {
				codec = s.codec
			}
		}
	}
	s.codec = codec
	n.PayloadType = uint8(codec)
	return n, nil
}

// direction is a stream's direction attribute, media level first, then
// session level; sendrecv when neither has one.
func direction(session, media []sdp.Attribute) Direction {
	for _, attrs := range [][]sdp.Attribute{media, session} {
		for _, a := range attrs {
			for d, name := range directionNames {
				if a.Key == name {
					return Direction(d)
				}
			}
		}
	}
	return SendRecv
}

// describe writes our SDP for n: an answer with its one codec, or an
// offer of both.
func (s *Session) describe(n Negotiated, offer bool) []byte {
	local := s.Local
	s.version++
	ipver := "IP4"
	if local.Addr().Is6() {
		ipver = "IP6"
	}
	formats := strconv.Itoa(int(n.PayloadType))
	codec := map[uint8]string{PayloadPCMU: "PCMU/8000", PayloadPCMA: "PCMA/8000"}[n.PayloadType]
	lines := []string{
		"v=0",
		fmt.Sprintf("o=callflow %d %d IN %s %s", s.id, s.version, ipver, local.Addr()),
		"s=callflow",
		fmt.Sprintf("c=IN %s %s", ipver, local.Addr()),
		"t=0 0",
	}
	attrs := []string{fmt.Sprintf("a=rtpmap:%d %s", n.PayloadType, codec)}
	if offer {
		other := map[uint8]uint8{PayloadPCMU: PayloadPCMA, PayloadPCMA: PayloadPCMU}[n.PayloadType]
		formats += " " + strconv.Itoa(int(other))
		attrs = append(attrs, fmt.Sprintf("a=rtpmap:%d %s", other, map[uint8]string{PayloadPCMU: "PCMU/8000", PayloadPCMA: "PCMA/8000"}[other]))
	}
	if n.DTMFType != 0 {
		formats += " " + strconv.Itoa(int(n.DTMFType))
		attrs = append(attrs, fmt.Sprintf("a=rtpmap:%d telephone-event/8000", n.DTMFType), fmt.Sprintf("a=fmtp:%d 0-16", n.DTMFType))
	}
	lines = append(lines, fmt.Sprintf("m=audio %d RTP/AVP %s", local.Port(), formats))
	lines = append(lines, attrs...)
	lines = append(lines, "a=ptime:20", "a="+n.Direction.String())
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}
