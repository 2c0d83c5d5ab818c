package dialog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/callflow/callflow/internal/tooltest"
	"github.com/callflow/callflow/telephony/dialog"
)

// stack is a SIP user agent on 127.0.0.1 (UDP and TCP on one port) whose
// requests in dialogs reach a dialog.Set as they do in telephony.Server:
// Match, then HandleRequest or HandleACK. It answers REGISTER 200, and
// tells of each on registered.
type stack struct {
	set        *dialog.Set
	port       int
	registered chan registration
}

// registration is a REGISTER the stack answered: the phone's Contact and
// where the request came from.
type registration struct {
	contact   sip.Uri
	source    string
	transport string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("callflow-test"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := sipgo.NewClient(ua)
	if err != nil {
		t.Fatal(err)
	}
	udp, tcp := listenBoth(t)
	s := &stack{port: udp.LocalAddr().(*net.UDPAddr).Port, registered: make(chan registration, 8)}
	s.set = dialog.NewSet(dialog.Config{Client: cli, Host: "127.0.0.1", Port: s.port, Agent: "callflow-test"})
	inDialog := func(req *sip.Request, tx sip.ServerTransaction) {
		if d := s.set.Match(req); d != nil {
			d.HandleRequest(req, tx)
			return
		}
		s.set.Respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
	}
	srv.OnInvite(inDialog) // only re-INVITEs come: the stack takes no calls
	srv.OnBye(inDialog)
	srv.OnUpdate(inDialog)
	srv.OnInfo(inDialog)
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {
		if d := s.set.Match(req); d != nil {
			d.HandleACK(req)
		}
	})
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		if c := req.Contact(); c != nil {
			res.AppendHeader(sip.HeaderClone(c))
			res.AppendHeader(sip.NewHeader("Expires", "60"))
			select {
			case s.registered <- registration{contact: *c.Address.Clone(), source: req.Source(), transport: req.Transport()}:
			default:
			}
		}
		tx.Respond(res)
	})
	var serving sync.WaitGroup
	serving.Go(func() { srv.ServeUDP(udp) })
	serving.Go(func() { srv.ServeTCP(tcp) })
	t.Cleanup(func() {
		ua.Close()
		udp.Close()
		tcp.Close()
		serving.Wait()
	})
	return s
}

// listenBoth listens for UDP and TCP on one free port of 127.0.0.1.
func listenBoth(t *testing.T) (net.PacketConn, net.Listener) {
	t.Helper()
	for range 20 {
		udp, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		tcp, err := net.Listen("tcp", udp.LocalAddr().String())
		if err == nil {
			return udp, tcp
		}
		udp.Close()
	}
	t.Fatal("no port of 127.0.0.1 is free for both UDP and TCP")
	return nil, nil
}

// freePort returns a port of 127.0.0.1 that was free for UDP and TCP, and
// so was the next one (baresip listens for TLS there).
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		udp, tcp := listenBoth(t)
		port := udp.LocalAddr().(*net.UDPAddr).Port
		next, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+1))
		udp.Close()
		tcp.Close()
		if err == nil {
			next.Close()
			return port
		}
	}
	t.Fatal("no two free ports in a row")
	return 0
}

// freeRTPPorts returns an even port of 127.0.0.1 that was free for UDP,
// with the three above it: baresip's RTP and RTCP take an even port and
// the next.
func freeRTPPorts(t *testing.T) [2]int {
	t.Helper()
	for range 50 {
		probe, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lo := probe.LocalAddr().(*net.UDPAddr).Port &^ 1
		probe.Close()
		var held []net.PacketConn
		for p := lo; p < lo+4; p++ {
			c, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
		if len(held) == 4 {
			return [2]int{lo, lo + 3}
		}
	}
	t.Fatal("no four free UDP ports in a row")
	return [2]int{}
}

// caller is who our INVITEs say calls.
var caller = sip.Uri{Scheme: "sip", User: "+14155550100", Host: "127.0.0.1"}

// target is an INVITE to agent at addr, straight to its address.
func target(t *testing.T, addr string) dialog.Target {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return dialog.Target{
		URI:  sip.Uri{Scheme: "sip", User: "agent", Host: host, Port: p},
		From: caller, FromName: "A Caller",
		To: sip.Uri{Scheme: "sip", User: "agent", Host: "127.0.0.1"},
	}
}

// offer is an SDP offer (PCMA, PCMU) from a port nothing listens on: the
// tests look at signalling only.
func offer(direction string) []byte {
	return []byte("v=0\r\no=callflow 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 49170 RTP/AVP 8 0\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=" + direction + "\r\n")
}

// sipp runs SIPp as the phone, on a port of its own, with one of
// testdata/sipp's UAS scenarios over UDP, for one call. Its checks fail
// the call, and wait reports them with SIPp's message trace.
type sipp struct {
	addr string
	done chan struct{}
	err  error // set before done is closed
}

func startSIPp(t *testing.T, scenario string) *sipp {
	t.Helper()
	tooltest.Require(t, "sipp", "sip-tester")
	port := freePort(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, "sipp", "-sf", filepath.Join("testdata", "sipp", scenario),
		"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-t", "u1", "-m", "1",
		"-timeout", "40", "-timeout_error", "-nostdin",
		"-trace_msg", "-message_file", filepath.Join(dir, "messages.log"),
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("sipp: %v", err)
	}
	p := &sipp{addr: "127.0.0.1:" + strconv.Itoa(port), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer cancel()
		if err := cmd.Wait(); err != nil {
			msgs, _ := os.ReadFile(filepath.Join(dir, "messages.log"))
			errs, _ := os.ReadFile(filepath.Join(dir, "errors.log"))
			p.err = fmt.Errorf("sipp %s: %v\n%s\nerrors:\n%s\nmessages:\n%s", scenario, err, lastLines(out.String(), 15), errs, msgs)
		}
	}()
	t.Cleanup(func() { cancel(); <-p.done })
	return p
}

// wait waits for SIPp to end its call and fails t if a check failed.
func (p *sipp) wait(t *testing.T) {
	t.Helper()
	<-p.done // SIPp's own -timeout bounds this
	if p.err != nil {
		t.Error(p.err)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// within is a context for one step of a test.
func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// statuses reads a Progress channel to its end.
func statuses(t *testing.T, c <-chan int) []int {
	t.Helper()
	var got []int
	timeout := time.After(5 * time.Second)
	for {
		select {
		case s, ok := <-c:
			if !ok {
				return got
			}
			got = append(got, s)
		case <-timeout:
			t.Fatalf("Progress not closed after the final response; got %v", got)
		}
	}
}

// ended waits for d's context to end and returns its cause.
func ended(t *testing.T, d *dialog.Dialog) error {
	t.Helper()
	select {
	case <-d.Context().Done():
		return context.Cause(d.Context())
	case <-time.After(15 * time.Second):
		t.Fatal("the dialog did not end")
		return nil
	}
}

// holder is a Handler that answers every offer with a=recvonly and
// reports it, and reports INFO bodies.
type holder struct{ offers, infos chan []byte }

func (h *holder) Offer(offer []byte) ([]byte, int) {
	h.offers <- offer
	return []byte(strings.Replace(string(offer), "a=sendonly", "a=recvonly", 1)), 0
}
func (h *holder) Answer([]byte)              {}
func (h *holder) Info(_ string, body []byte) { h.infos <- body }
func isRejected(err error, status int) bool {
	r := new(dialog.Rejected)
	return errors.As(err, &r) && r.Status == status
}

func itoa(n int) string { return strconv.Itoa(n) }
