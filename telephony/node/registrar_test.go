package node_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callflow/callflow/internal/baresiptest"
	"github.com/callflow/callflow/internal/tooltest"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony/registrar"
)

const alicePassword = "alice-password-1"

// agentNode runs a node over examples/acme whose user alice has a
// password, and returns its store, its SIP address and its log.
func agentNode(t *testing.T) (*store.Store, string, *syncBuffer) {
	t.Helper()
	st := acme(t)
	if err := st.SetCredential(context.Background(), registrar.NewCredential("alice", "127.0.0.1", alicePassword)); err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	out, logs := newBuffer(), newBuffer()
	cfg := config(t, st, tcp, out)
	// The TCP listener must share the UDP port: phones send to one address.
	tcp.Close()
	if cfg.TCP, err = net.Listen("tcp", cfg.Listen.String()); err != nil {
		t.Fatal(err)
	}
	cfg.Log = slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(t, ctx, cfg, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node: %v", err)
		}
	})
	select {
	case <-out.serving:
	case err := <-done:
		t.Fatalf("node did not start: %v", err)
	}
	return st, cfg.Listen.String(), logs
}

// freePort returns a port free on 127.0.0.1 over UDP and TCP, whose next
// port is free over TCP too (baresip listens for TLS there).
func freePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		t1, err1 := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		t2, err2 := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+1))
		u.Close()
		if t1 != nil {
			t1.Close()
		}
		if t2 != nil {
			t2.Close()
		}
		if err1 == nil && err2 == nil && port < 65000 {
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// Two baresip phones of alice's register with MD5, one over UDP and one
// over TCP, and both bindings are in the store with their transport.
func TestBaresipRegisters(t *testing.T) {
	st, addr, _ := agentNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, transport := range []string{"udp", "tcp"} {
		sip, ctrl, rtp := freePort(t), freePort(t), freePort(t)
		p := baresiptest.New(t, baresiptest.Options{SIPPort: sip, CtrlPort: ctrl, RTPPorts: [2]int{rtp, rtp + 1}, Server: addr, Transport: transport,
			User: "alice", Domain: "127.0.0.1", Password: alicePassword, Regint: 60})
		// Its first REGISTER may beat ctrl_tcp's connection, and with it
		// the REGISTER_OK event: wait for its binding in the store, then
		// for baresip's own word that it registered.
		for {
			bs, err := st.Bindings(ctx, "alice", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if slices.ContainsFunc(bs, func(b store.Binding) bool { return b.Transport == transport }) {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s phone never registered (events %v)", transport, p.Events())
			case <-time.After(20 * time.Millisecond):
			}
		}
		// The store has the binding before the phone has read (and
		// logged) the 200 that says so: wait for that too.
		for !slices.ContainsFunc(p.Events(), func(e baresiptest.Event) bool { return e.Type == "REGISTER_OK" }) && !strings.Contains(p.Output(), "200 OK () [") {
			select {
			case <-ctx.Done():
				t.Fatalf("%s phone: no REGISTER_OK and no 200 in its log", transport)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	bs, err := st.Bindings(ctx, "alice", time.Now())
	if err != nil || len(bs) != 2 {
		t.Fatalf("bindings %+v, %v", bs, err)
	}
	transports := map[string]bool{}
	for _, b := range bs {
		transports[b.Transport] = true
		if !strings.HasPrefix(b.Source, "127.0.0.1:") || b.Node != "test" || b.ExpiresAt.Before(time.Now().Add(50*time.Second)) {
			t.Errorf("binding %+v", b)
		}
	}
	if !transports["udp"] || !transports["tcp"] {
		t.Errorf("transports %v, want udp and tcp", transports)
	}
	if logins, _ := st.Logins(ctx, time.Now()); logins["alice"].IsZero() {
		t.Errorf("alice not logged in: %v", logins)
	}
}

// sipvicious runs one of its tools (svwar or sipvicious_svwar…) with a
// home of its own (it saves sessions there) and returns its output.
func sipvicious(t *testing.T, tool string, args ...string) string {
	t.Helper()
	bin := tool
	if _, err := exec.LookPath(tool); err != nil {
		if _, err := exec.LookPath("sipvicious_" + tool); err == nil {
			bin = "sipvicious_" + tool
		} else {
			tooltest.Require(t, tool, "sipvicious")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, _ := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s did not end: %s", tool, out)
	}
	return string(out)
}

func writeLines(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "list.txt")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// svwar finds no user, with REGISTER or with INVITE, over a list whose
// first name is real (svwar learns "not found" from its first probe).
func TestSvwarFindsNoUsers(t *testing.T) {
	_, addr, _ := agentNode(t)
	host, port, _ := net.SplitHostPort(addr)
	names := writeLines(t, "alice", "nobody1", "bob", "carol", "nobody2", "dana", "admin", "erik", "grace", "100")
	for _, method := range []string{"REGISTER", "INVITE"} {
		out := sipvicious(t, "svwar", "-m", method, "-d", names, "-p", port, host)
		t.Logf("svwar -m %s:\n%s", method, out)
		for _, user := range []string{"alice", "bob", "carol", "dana", "erik", "grace"} {
			if strings.Contains(out, "| "+user+" ") || strings.Contains(out, "|"+user+"|") {
				t.Errorf("svwar -m %s found user %s", method, user)
			}
		}
		if !strings.Contains(out, "found nothing") {
			t.Errorf("svwar -m %s did not report finding nothing", method)
		}
		if strings.Contains(out, "reqauth") || strings.Contains(out, "weird") {
			t.Errorf("svwar -m %s reports extensions", method)
		}
	}
}

// svcrack against alice, with the password at position 200 of its
// wordlist, is banned before it gets there; with the password among the
// first few guesses, it finds it, so the ban is what stops it.
func TestSvcrackIsBanned(t *testing.T) {
	_, addr, logs := agentNode(t)
	host, port, _ := net.SplitHostPort(addr)
	guesses := func(n int) []string {
		var w []string
		for i := range n {
			w = append(w, fmt.Sprintf("guess%03d", i))
		}
		return w
	}
	// The control: found at position 5, below the ban's 10 failures.
	out := sipvicious(t, "svcrack", "-u", "alice", "-d", writeLines(t, append(guesses(4), alicePassword)...), "-p", port, host)
	if !strings.Contains(out, alicePassword) {
		t.Fatalf("svcrack did not find the password at position 5; the ban test below would prove nothing:\n%s", out)
	}
	// The attack: position 200.
	out = sipvicious(t, "svcrack", "-u", "alice", "-d", writeLines(t, append(guesses(199), alicePassword)...), "-p", port, "--maximumtime", "5", host)
	if strings.Contains(out, alicePassword) {
		t.Fatalf("svcrack found the password at position 200:\n%s", out)
	}
	logs.waitFor(t, "source banned after repeated authentication failures")
}
