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

// Negotiated is what an SDP offer/answer settled for a call's audio.
type Negotiated struct {
	Remote      netip.AddrPort // where to send RTP
	PayloadType uint8          // PayloadPCMU or PayloadPCMA
	DTMFType    uint8          // the telephone-event payload type; 0 when the peer has none
}

// ErrNoCommonCodec is returned (wrapped) when an offer has no audio that
// callflow speaks; the call is refused with 488 Not Acceptable Here.
var ErrNoCommonCodec = errors.New("no common audio codec")

// Answer reads an SDP offer and returns the answer that accepts it: the
// first of PCMU and PCMA in the offer's order of preference, plus
// telephone-event/8000 (RFC 4733) when offered, at 20 ms packets, sent to
// local. The offer is untrusted input: any error is a clear one.
func Answer(offer []byte, local netip.AddrPort) ([]byte, Negotiated, error) {
	var n Negotiated
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(offer)); err != nil {
		return nil, n, fmt.Errorf("the SDP offer cannot be read: %w", err)
	}
	var audio *sdp.MediaDescription
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media == "audio" && m.MediaName.Port.Value > 0 && strings.Contains(strings.Join(m.MediaName.Protos, "/"), "RTP/AVP") {
			audio = m
			break
		}
	}
	if audio == nil {
		return nil, n, fmt.Errorf("%w: the offer has no RTP audio stream", ErrNoCommonCodec)
	}
	conn := audio.ConnectionInformation
	if conn == nil {
		conn = sd.ConnectionInformation
	}
	if conn == nil || conn.Address == nil {
		return nil, n, errors.New("the SDP offer gives no connection address")
	}
	addr, err := netip.ParseAddr(conn.Address.Address)
	if err != nil {
		return nil, n, fmt.Errorf("the SDP offer's connection address %q is not an IP address", conn.Address.Address)
	}
	port := audio.MediaName.Port.Value
	if port > 65535 {
		return nil, n, fmt.Errorf("the SDP offer's port %d is out of range", port)
	}
	n.Remote = netip.AddrPortFrom(addr, uint16(port))

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
		return nil, n, fmt.Errorf("%w: the offer has neither PCMU nor PCMA", ErrNoCommonCodec)
	}
	n.PayloadType = uint8(codec)
	return answerSDP(local, n), n, nil
}

func answerSDP(local netip.AddrPort, n Negotiated) []byte {
	ipver := "IP4"
	if local.Addr().Is6() {
		ipver = "IP6"
	}
	formats := strconv.Itoa(int(n.PayloadType))
	codec := map[uint8]string{PayloadPCMU: "PCMU/8000", PayloadPCMA: "PCMA/8000"}[n.PayloadType]
	lines := []string{
		"v=0",
		fmt.Sprintf("o=callflow %d 1 IN %s %s", time.Now().Unix(), ipver, local.Addr()),
		"s=callflow",
		fmt.Sprintf("c=IN %s %s", ipver, local.Addr()),
		"t=0 0",
	}
	attrs := []string{fmt.Sprintf("a=rtpmap:%d %s", n.PayloadType, codec)}
	if n.DTMFType != 0 {
		formats += " " + strconv.Itoa(int(n.DTMFType))
		attrs = append(attrs, fmt.Sprintf("a=rtpmap:%d telephone-event/8000", n.DTMFType), fmt.Sprintf("a=fmtp:%d 0-16", n.DTMFType))
	}
	lines = append(lines, fmt.Sprintf("m=audio %d RTP/AVP %s", local.Port(), formats))
	lines = append(lines, attrs...)
	lines = append(lines, "a=ptime:20", "a=sendrecv")
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}
