package telephony_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/internal/siptest"
	"github.com/callflow/callflow/lang"
	"github.com/callflow/callflow/telephony"
	"github.com/callflow/callflow/telephony/media"
	"github.com/callflow/callflow/telephony/prompt"
	"github.com/callflow/callflow/telephony/route"
	"github.com/callflow/callflow/vm"
)

const repo = `
number "hello" {
  e164 = "+14155550100"
  type = "local"
}
number "menu" {
  e164 = "+14155550101"
  type = "local"
}
number "idle" {
  e164 = "+14155550102"
  type = "local"
}
number "long" {
  e164 = "+14155550103"
  type = "local"
}

flow "long" {
  numbers = [number.long]
  start   = announce.long
  announce "long" {
    say = "long"
  }
}

flow "hello" {
  numbers = [number.hello]
  start   = announce.hello
  announce "hello" {
    say = "hello"
  }
}

number "ivr" {
  e164 = "+14155550104"
  type = "local"
}

flow "ivr" {
  numbers = [number.ivr]
  start   = ivr.main
  ivr "main" {
    say     = "menu"
    timeout = 5
    key "1" { next = announce.one }
    on_timeout = announce.late
  }
  announce "one" {
    say = "one"
  }
  announce "late" {
    say = "late"
  }
}

number "gaps" {
  e164 = "+14155550105"
  type = "local"
}

flow "gaps" {
  numbers = [number.gaps]
  start   = ivr.wait
  ivr "wait" {
    say     = "menu"
    timeout = 5
    key "1" { next = announce.late }
    on_timeout = voicemail.box
  }
  voicemail "box" {
    say        = "one"
    max_length = 2
    on_timeout = announce.late
  }
  announce "late" {
    say = "late"
  }
}

flow "menu" {
  numbers = [number.menu]
  enabled = false
  start   = announce.hello
  announce "hello" {
    say = "hello"
  }
}
`

// startServer runs a server on loopback with repo's flows, accepting
// calls from trunks.
func startServer(t *testing.T, trunks ...string) netip.AddrPort {
	addr, _, _ := startServerWith(t, trunks...)
	return addr
}

// startServerWith also returns the server and the Live it serves, which a
// test may change and Load again.
func startServerWith(t *testing.T, trunks ...string) (netip.AddrPort, *telephony.Server, telephony.Live) {
	t.Helper()
	return startServerOpts(t, nil, trunks...)
}

// startServerOpts is startServerWith with options for the server. The
// server answers over TCP too, on the same port.
func startServerOpts(t *testing.T, opts []telephony.Option, trunks ...string) (netip.AddrPort, *telephony.Server, telephony.Live) {
	t.Helper()
	return startServerSrc(t, repo, nil, opts, trunks...)
}

// listenUDPAndTCP listens on one port of 127.0.0.1 over UDP and TCP: the
// UDP port the kernel picks may be taken over TCP, so it tries again.
func listenUDPAndTCP(t *testing.T) (net.PacketConn, net.Listener) {
	t.Helper()
	for range 20 {
		conn, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", conn.LocalAddr().String())
		if err == nil {
			return conn, ln
		}
		conn.Close()
	}
	t.Fatal("no port of 127.0.0.1 is free over both UDP and TCP")
	return nil, nil
}

// startServerSrc runs a server of the flows of src; change, when set,
// completes the Live before it is loaded.
func startServerSrc(t *testing.T, src string, change func(*telephony.Live), opts []telephony.Option, trunks ...string) (netip.AddrPort, *telephony.Server, telephony.Live) {
	t.Helper()
	cfg, diags := lang.NewParser().LoadSources([]lang.NamedSource{{Name: "r.hcl", Src: []byte(src)}})
	m, more := compiler.Check(cfg, compiler.Options{})
	if diags = append(diags, more...); diags.HasErrors() {
		t.Fatal(diags)
	}
	progs, err := compiler.LowerAll(m)
	if err != nil {
		t.Fatal(err)
	}
	table := route.Table{Country: "US", Numbers: map[string]route.Number{}}
	for _, tr := range trunks {
		table.Trunks = append(table.Trunks, netip.MustParsePrefix(tr))
	}
	for name, f := range m.Flows {
		for _, n := range f.Numbers {
			table.Numbers[m.Numbers[n.Name].E164.Value] = route.Number{Name: n.Name, Flow: name, Enabled: f.Enabled.Value}
		}
	}
	if src == repo {
		table.Numbers["+14155550102"] = route.Number{Name: "idle"}
	}
	conn, ln := listenUDPAndTCP(t)
	addr := netip.MustParseAddrPort(conn.LocalAddr().String())
	var logs io.Writer = io.Discard
	if os.Getenv("CALLFLOW_TEST_LOG") != "" {
		logs = os.Stderr // the server's log, to see why a test failed
	}
	quiet := slog.New(slog.NewTextHandler(logs, nil))
	s, err := telephony.NewServer(addr, 21000, 21099, quiet, opts...)
	if err != nil {
		t.Fatal(err)
	}
	live := telephony.Live{
		Table: table, Programs: progs,
		Prompt: func(c *vm.Const) (prompt.Audio, error) {
			frames := 10
			switch {
			case c.Text == "long":
				frames = 1000 // 20 s: longer than any test waits
			case strings.HasSuffix(c.Text, "hold.wav"):
				frames = 50 // a second of queue music
			}
			a := prompt.Audio{Samples: make([]int16, frames*media.FrameSamples)}
			for i := range a.Samples {
				a.Samples[i] = 3000 // a prompt, heard apart from the silence between prompts
			}
			return a, nil
		},
	}
	if change != nil {
		change(&live)
	}
	s.Load(&live)
	go s.ServeUDP(conn)
	go s.ServeTCP(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		conn.Close()
		ln.Close()
	})
	return addr, s, live
}

func TestCallIsAnsweredPlaysAndHangsUp(t *testing.T) {
	addr, srv, _ := startServerWith(t, "127.0.0.0/8")
	p := siptest.NewPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	status, call := p.Dial(ctx, addr, "+14155550100")
	if status != 200 {
		t.Fatalf("status %d, want 200", status)
	}
	answer := string(call.Dialog.InviteResponse.Body())
	if !strings.Contains(answer, "m=audio 210") || !strings.Contains(answer, "a=rtpmap:0 PCMU/8000") {
		t.Errorf("SDP answer:\n%s", answer)
	}
	if err := call.WaitFrames(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if err := call.WaitBye(ctx); err != nil {
		t.Fatalf("the server did not hang up after the announcement: %v", err)
	}
	// The server counted the call before it hung up.
	m := &srv.Metrics
	if got := m.Outcomes(); got["flow-end"] != 1 || len(got) != 1 {
		t.Errorf("outcomes %v, want one flow-end", got)
	}
	if m.PacketsSent.Load() < 10 || m.VMSteps.Load() < 3 || m.Errors.Load() != 0 {
		t.Errorf("packets sent %d (want ≥ 10), VM steps %d (want ≥ 3: answer, play, hang up), errors %d",
			m.PacketsSent.Load(), m.VMSteps.Load(), m.Errors.Load())
	}
	var text strings.Builder
	m.WritePrometheus(&text)
	for _, want := range []string{
		"# TYPE callflow_calls_total counter\n", `callflow_calls_total{outcome="flow-end"} 1` + "\n", "callflow_calls_active ",
		`callflow_sip_responses_total{code="200"} 1` + "\n", "callflow_answer_seconds_count 1\n",
		"callflow_call_duration_seconds_count 1\n", "go_goroutines ", "go_memstats_heap_inuse_bytes ",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, text.String())
		}
	}
}

func TestRefusals(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	trusted, srv, _ := startServerWith(t, "127.0.0.0/8")
	p := siptest.NewPhone(t)
	for number, want := range map[string]int{
		"+14155550199": 404, // not ours
		"+14155550101": 480, // its flow is disabled
		"+14155550102": 480, // no flow answers it
	} {
		if status, _ := p.Dial(ctx, trusted, number); status != want {
			t.Errorf("%s: status %d, want %d", number, status, want)
		}
	}
	if got := srv.Metrics.Outcomes(); got["refused-404"] != 1 || got["refused-480"] != 2 {
		t.Errorf("outcomes %v, want refused-404: 1, refused-480: 2", got)
	}
	var text strings.Builder
	srv.Metrics.WritePrometheus(&text)
	for _, want := range []string{
		`callflow_calls_refused_total{cause="unknown-number"} 1`, `callflow_calls_refused_total{cause="flow-disabled"} 1`,
		`callflow_calls_refused_total{cause="no-flow"} 1`, `callflow_sip_responses_total{code="480"} 2`,
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, text.String())
		}
	}
	// A server whose trunk is elsewhere refuses this caller, whatever it dials.
	strange := startServer(t, "203.0.113.0/24")
	var wg sync.WaitGroup
	for _, number := range []string{"+14155550100", "+14155550199"} {
		wg.Add(1)
		go func(number string) {
			defer wg.Done()
			if status, _ := siptest.NewPhone(t).Dial(ctx, strange, number); status != 403 {
				t.Errorf("a stranger dialling %s: status %d, want 403", number, status)
			}
		}(number)
	}
	wg.Wait()
}

// A caller who hangs up ends the call: the prompt stops, the server sends
// no BYE of its own, and a shutdown then finds no call left. Meanwhile,
// a server shutting down refuses new calls with 503.
func TestHangUpAndShutdown(t *testing.T) {
	addr, srv, _ := startServerWith(t, "127.0.0.0/8")
	p := siptest.NewPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	status, call := p.Dial(ctx, addr, "+14155550103")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	if err := call.WaitFrames(ctx, 5); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() {
		shutCtx, shutCancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer shutCancel()
		stopped <- srv.Shutdown(shutCtx)
	}()
	// The running call goes on; a new one is refused.
	deadline := time.Now().Add(5 * time.Second)
	for {
		status, _ := siptest.NewPhone(t).Dial(ctx, addr, "+14155550100")
		if status == 503 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a new call during shutdown got %d, want 503", status)
		}
	}
	if err := call.HangUp(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("shutdown: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("shutdown did not finish after the last call ended")
	}
	select {
	case <-call.Bye():
		t.Error("the server sent BYE for a call the caller hung up")
	default:
	}
}

// Begin can refuse a call with a SIP status, and stop a call it admitted
// with a cause (credits running out): the server hangs up with BYE and
// end learns the cause, not "caller hung up".
func TestBeginRefusesAndStops(t *testing.T) {
	addr, srv, live := startServerWith(t, "127.0.0.0/8")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	errOut := errors.New("credits exhausted")
	type ended struct {
		final vm.Effect
		cause error
	}
	stops := make(chan func(error), 1)
	ids := make(chan string, 1)
	ends := make(chan ended, 1)
	live.Begin = func(_ context.Context, c telephony.CallInfo, stop func(error)) ([]vm.Hook, func(vm.Effect, error), error) {
		if c.Number == "+14155550100" {
			return nil, nil, &telephony.ErrRefused{Status: 402, Reason: "Payment Required"}
		}
		ids <- c.ID
		stops <- stop
		return nil, func(final vm.Effect, cause error) { ends <- ended{final, cause} }, nil
	}
	srv.Load(&live)

	p := siptest.NewPhone(t)
	if status, _ := p.Dial(ctx, addr, "+14155550100"); status != 402 {
		t.Errorf("refused call: status %d, want 402", status)
	}
	status, call := p.Dial(ctx, addr, "+14155550103")
	if status != 200 {
		t.Fatalf("status %d, want 200", status)
	}
	// The call's ID is the server's own, not the Call-ID the caller chose.
	if id, sipID := <-ids, call.Dialog.InviteRequest.CallID().Value(); id == "" || id == sipID {
		t.Errorf("call ID %q; want one of the server's, not the SIP Call-ID %q", id, sipID)
	}
	if err := call.WaitFrames(ctx, 1); err != nil { // the long prompt is playing
		t.Fatal(err)
	}
	(<-stops)(errOut)
	if err := call.WaitBye(ctx); err != nil {
		t.Fatalf("the server did not hang up a call that was stopped: %v", err)
	}
	select {
	case e := <-ends:
		if e.cause != errOut || e.final.Reason != vm.ReasonStopped {
			t.Errorf("end got reason %v, cause %v; want stopped, %v", e.final.Reason, e.cause, errOut)
		}
	case <-ctx.Done():
		t.Fatal("end was not called")
	}
}

// After a run of calls, the server's goroutines and heap return to where
// they were: nothing is left behind by a call that ended.
func TestNoLeakAfterCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("the leak check waits for SIP transactions to expire")
	}
	addr := startServer(t, "127.0.0.0/8")
	p := siptest.NewPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	call := func() {
		status, c := p.Dial(ctx, addr, "+14155550100")
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		if err := c.WaitBye(ctx); err != nil {
			t.Fatalf("no BYE: %v", err)
		}
	}
	call() // the first call starts what lives as long as the server
	settle := func() (int, uint64) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return runtime.NumGoroutine(), m.HeapInuse
	}
	g0, h0 := settle()
	for i := 0; i < 30; i++ {
		call()
	}
	// SIP transactions outlive their calls by the RFC 3261 timers (up to
	// 32 s for a BYE over UDP); wait for them, not for a fixed time.
	var g, h = settle()
	for deadline := time.Now().Add(45 * time.Second); g > g0 && time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond) // polling the goroutine count
		g, h = settle()
	}
	if g > g0 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after 30 calls, %d before:\n%s", g, g0, buf[:runtime.Stack(buf, true)])
	}
	if h > h0+4<<20 {
		t.Errorf("heap in use grew from %d to %d bytes over 30 calls", h0, h)
	}
}
