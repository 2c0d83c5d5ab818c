package telephony_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/callflow/callflow/telephony/media"
)

// rawPeer speaks SIP by hand, over UDP or TCP, so that a test can send
// exactly what it means to (a CANCEL a millisecond after its INVITE, an
// INVITE with no SDP, a wrong CSeq, SIP/7.0) and see every message the
// server sends back, retransmissions included.
type rawPeer struct {
	t      *testing.T
	server netip.AddrPort
	udp    *net.UDPConn
	tcp    net.Conn
	local  netip.AddrPort
	msgs   chan sip.Message
	rtp    *net.UDPConn // the peer's RTP socket
	rtpIn  chan rtp.Packet
}

func newRawPeer(t *testing.T, server netip.AddrPort, transport string) *rawPeer {
	t.Helper()
	p := &rawPeer{t: t, server: server, msgs: make(chan sip.Message, 100), rtpIn: make(chan rtp.Packet, 5000)}
	if transport == "tcp" {
		c, err := net.Dial("tcp", server.String())
		if err != nil {
			t.Fatal(err)
		}
		p.tcp = c
		p.local = netip.MustParseAddrPort(c.LocalAddr().String())
		go p.readTCP()
	} else {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		p.udp = c
		p.local = netip.MustParseAddrPort(c.LocalAddr().String())
		go p.readUDP()
	}
	r, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p.rtp = r
	go p.readRTP()
	t.Cleanup(func() {
		if p.udp != nil {
			p.udp.Close()
		}
		if p.tcp != nil {
			p.tcp.Close()
		}
		p.rtp.Close()
	})
	return p
}

func (p *rawPeer) transport() string {
	if p.tcp != nil {
		return "TCP"
	}
	return "UDP"
}

func (p *rawPeer) readUDP() {
	buf := make([]byte, 65535)
	for {
		n, err := p.udp.Read(buf)
		if err != nil {
			return
		}
		if m, err := sip.ParseMessage(append([]byte(nil), buf[:n]...)); err == nil {
			p.msgs <- m
		}
	}
}

func (p *rawPeer) readTCP() {
	r := bufio.NewReader(p.tcp)
	for {
		var head bytes.Buffer
		length := 0
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" && head.Len() == 0 {
				continue // keep-alive
			}
			head.WriteString(line)
			if line == "\r\n" {
				break
			}
			if k, v, ok := strings.Cut(line, ":"); ok && (strings.EqualFold(strings.TrimSpace(k), "Content-Length") || strings.TrimSpace(k) == "l") {
				length, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		body := make([]byte, length)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		if m, err := sip.ParseMessage(append(head.Bytes(), body...)); err == nil {
			p.msgs <- m
		}
	}
}

func (p *rawPeer) readRTP() {
	buf := make([]byte, 1500)
	for {
		n, err := p.rtp.Read(buf)
		if err != nil {
			return
		}
		var pkt rtp.Packet
		if pkt.Unmarshal(append([]byte(nil), buf[:n]...)) == nil {
			select {
			case p.rtpIn <- pkt:
			default:
			}
		}
	}
}

// send sends one message, its Content-Length set from body.
func (p *rawPeer) send(head string, body string) {
	p.t.Helper()
	msg := strings.TrimRight(head, "\r\n")
	msg = strings.ReplaceAll(msg, "\n", "\r\n")
	msg = strings.ReplaceAll(msg, "\r\r\n", "\r\n")
	msg += fmt.Sprintf("\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	var err error
	if p.tcp != nil {
		_, err = p.tcp.Write([]byte(msg))
	} else {
		_, err = p.udp.WriteToUDPAddrPort([]byte(msg), p.server)
	}
	if err != nil {
		p.t.Fatal(err)
	}
}

// next returns the next message from the server within d, or nil.
func (p *rawPeer) next(d time.Duration) sip.Message {
	select {
	case m := <-p.msgs:
		return m
	case <-time.After(d):
		return nil
	}
}

// response waits for a response to method whose status is not 100.
func (p *rawPeer) response(method sip.RequestMethod, d time.Duration) *sip.Response {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		m := p.next(time.Until(deadline))
		if r, ok := m.(*sip.Response); ok && r.CSeq().MethodName == method && r.StatusCode != 100 {
			return r
		}
	}
	p.t.Fatalf("no response to %s in %s", method, d)
	return nil
}

// request waits for a request of method from the server.
func (p *rawPeer) request(method sip.RequestMethod, d time.Duration) *sip.Request {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		m := p.next(time.Until(deadline))
		if r, ok := m.(*sip.Request); ok && r.Method == method {
			return r
		}
	}
	p.t.Fatalf("no %s from the server in %s", method, d)
	return nil
}

// reply answers a request of the server's.
func (p *rawPeer) reply(req *sip.Request, status int, reason string) {
	p.t.Helper()
	res := sip.NewResponseFromRequest(req, status, reason, nil)
	var b bytes.Buffer
	res.StringWrite(&b)
	if p.tcp != nil {
		p.tcp.Write(b.Bytes())
	} else {
		p.udp.WriteToUDPAddrPort(b.Bytes(), p.server)
	}
}

func token() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// rawCall is the state of one call a rawPeer places.
type rawCall struct {
	p            *rawPeer
	number       string
	callID       string
	fromTag      string
	toTag        string
	cseq         int
	sent         bool
	inviteBranch string
	inviteCSeq   int
}

func (p *rawPeer) newCall(number string) *rawCall {
	return &rawCall{p: p, number: number, callID: token() + "@test", fromTag: token(), cseq: 1}
}

// sdp is an offer or answer for the peer's RTP socket, in direction dir.
func (p *rawPeer) sdp(dir string) string {
	port := p.rtp.LocalAddr().(*net.UDPAddr).Port
	return fmt.Sprintf("v=0\r\no=raw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=%s\r\n", port, dir)
}

// send sends a request of the call: INVITE (the first, or a re-INVITE
// once the call has a To-tag), ACK, BYE, CANCEL, UPDATE. A CANCEL reuses
// the INVITE's branch and CSeq, as the ACK of a non-2xx does; the ACK of
// a 2xx (once answered took its To-tag) is a transaction of its own.
// extra holds more header lines.
func (c *rawCall) send(method string, body string, extra ...string) {
	var branch string
	var cseq int
	switch method {
	case "CANCEL":
		branch, cseq = c.inviteBranch, c.inviteCSeq
	case "ACK":
		branch, cseq = c.inviteBranch, c.inviteCSeq
		if c.toTag != "" {
			branch = "z9hG4bK" + token()
		}
	default:
		if c.sent {
			c.cseq++
		}
		c.sent = true
		branch, cseq = "z9hG4bK"+token(), c.cseq
		if method == "INVITE" {
			c.inviteBranch, c.inviteCSeq = branch, cseq
		}
	}
	to := fmt.Sprintf("<sip:%s@%s>", c.number, c.p.server)
	if c.toTag != "" && method != "CANCEL" {
		to += ";tag=" + c.toTag
	}
	lines := []string{
		fmt.Sprintf("%s sip:%s@%s SIP/2.0", method, c.number, c.p.server),
		fmt.Sprintf("Via: SIP/2.0/%s %s;branch=%s;rport", c.p.transport(), c.p.local, branch),
		"Max-Forwards: 70",
		fmt.Sprintf("From: <sip:+14155559999@127.0.0.1>;tag=%s", c.fromTag),
		"To: " + to,
		"Call-ID: " + c.callID,
		fmt.Sprintf("CSeq: %d %s", cseq, method),
		fmt.Sprintf("Contact: <sip:raw@%s;transport=%s>", c.p.local, strings.ToLower(c.p.transport())),
	}
	if body != "" {
		lines = append(lines, "Content-Type: application/sdp")
	}
	lines = append(lines, extra...)
	c.p.send(strings.Join(lines, "\r\n"), body)
}

// answered takes the To-tag of a 2xx.
func (c *rawCall) answered(r *sip.Response) {
	c.p.t.Helper()
	tag, _ := r.To().Params.Get("tag")
	if tag == "" {
		c.p.t.Fatal("a 2xx without a To-tag")
	}
	if c.toTag != "" && tag != c.toTag {
		c.p.t.Fatalf("To-tag %q in a response of the dialog whose tag is %q", tag, c.toTag)
	}
	c.toTag = tag
}

// press sends a key as RFC 4733 events to the server's RTP address.
func (p *rawPeer) press(to netip.AddrPort, key uint8) {
	ts := uint32(time.Now().UnixNano() / 125000)
	for i := range 5 {
		e := media.TelephoneEvent{Event: key, End: i >= 2, Volume: 10, Duration: uint16(160 * (i + 1))}
		b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: uint16(i + 1), Timestamp: ts, SSRC: 7, Marker: i == 0}, Payload: e.Marshal()}).Marshal()
		p.rtp.WriteToUDPAddrPort(b, to)
	}
}

// settleRTP forgets the RTP packets received so far and those still on
// their way: it returns once none has come for 60 ms (2 s at most).
func (p *rawPeer) settleRTP() {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.rtpIn:
		case <-time.After(60 * time.Millisecond):
			return
		}
	}
}

// quiet reports whether no RTP arrives for d.
func (p *rawPeer) quiet(d time.Duration) bool {
	select {
	case <-p.rtpIn:
		return false
	case <-time.After(d):
		return true
	}
}

// sdpAddr is the RTP address in an SDP body.
func sdpAddr(t *testing.T, body []byte) netip.AddrPort {
	t.Helper()
	var host string
	var port int
	for _, line := range strings.Split(string(body), "\r\n") {
		if v, ok := strings.CutPrefix(line, "c=IN IP4 "); ok {
			host = v
		}
		if v, ok := strings.CutPrefix(line, "m=audio "); ok {
			port, _ = strconv.Atoi(strings.Fields(v)[0])
		}
	}
	ap, err := netip.ParseAddrPort(fmt.Sprintf("%s:%d", host, port))
	if err != nil {
		t.Fatalf("no RTP address in %q", body)
	}
	return ap
}
