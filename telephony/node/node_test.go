package node_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callflow/callflow/internal/storetest"
	"github.com/callflow/callflow/internal/tooltest"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony/node"
)

// acme is a store with examples/acme applied.
func acme(t *testing.T) *store.Store {
	t.Helper()
	tooltest.RequireSpeech(t) // acme speaks
	st := storetest.Open(t, filepath.Join(t.TempDir(), "callflow.db"))
	storetest.ApplyDir(t, st, filepath.Join("..", "..", "examples", "acme"))
	return st
}

// listener is a TCP listener whose Accept fails with die's error once die
// is closed, and which, once closed, takes slow to give its Accept back:
// a listener that breaks, or one slow to stop.
type listener struct {
	net.Listener
	die      chan struct{}
	dieErr   error
	slow     time.Duration
	closed   chan struct{}
	once     sync.Once
	returned atomic.Bool // set by the last Accept just before it returns
}

func newListener(t *testing.T) *listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &listener{Listener: ln, die: make(chan struct{}), closed: make(chan struct{})}
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case <-l.die:
		l.returned.Store(true)
		return nil, l.dieErr
	case <-l.closed:
		time.Sleep(l.slow) // the fault injected: a Serve slow to return
		l.returned.Store(true)
		return nil, net.ErrClosed
	}
}

func (l *listener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// syncBuffer is what Run prints. serving is closed once Run says it
// serves; waitFor waits for any text.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	serving chan struct{}
	once    sync.Once
	wrote   chan struct{} // closed and replaced at each write; guarded by mu
}

func newBuffer() *syncBuffer {
	return &syncBuffer{serving: make(chan struct{}), wrote: make(chan struct{})}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if bytes.HasPrefix(p, []byte("callflow serves")) {
		b.once.Do(func() { close(b.serving) })
	}
	n, err := b.b.Write(p)
	close(b.wrote)
	b.wrote = make(chan struct{})
	return n, err
}

// waitFor returns once what was written contains s, failing the test if
// it has not in a minute.
func (b *syncBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		b.mu.Lock()
		found, wrote := strings.Contains(b.b.String(), s), b.wrote
		b.mu.Unlock()
		if found {
			return
		}
		select {
		case <-wrote:
		case <-deadline:
			t.Fatalf("%q was never written; got %q", s, b.String())
		}
	}
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func config(t *testing.T, st *store.Store, tcp net.Listener, out *syncBuffer) node.Config {
	t.Helper()
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return node.Config{
		Store: st, Listen: netip.MustParseAddrPort(udp.LocalAddr().String()), UDP: udp, TCP: tcp,
		RTPLow: 26000, RTPHigh: 26099, Grace: time.Second, Node: "test", Recordings: t.TempDir(), Out: out,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// run runs a node and returns its error, failing the test if it has not
// returned in a minute. With cancel, it cancels ctx once the node serves.
func run(t *testing.T, ctx context.Context, cfg node.Config, cancel func()) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- node.Run(ctx, cfg) }()
	if cancel != nil {
		select {
		case <-cfg.Out.(*syncBuffer).serving:
			cancel()
		case err := <-done:
			return err
		}
	}
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("Run did not return")
		return nil
	}
}

// A listener whose Serve fails while the node is not stopping stops the
// node, with an error that names the listener and says why.
func TestListenerDiesStopsTheNode(t *testing.T) {
	st := acme(t)
	tcp := newListener(t)
	tcp.dieErr = errors.New("accept: too many open files")
	close(tcp.die)
	out := newBuffer()
	err := run(t, context.Background(), config(t, st, tcp, out), nil)
	if !errors.Is(err, node.ErrListenerDied) {
		t.Fatalf("Run = %v; want ErrListenerDied", err)
	}
	if want := "tcp " + tcp.Addr().String() + ": accept: too many open files"; !strings.Contains(err.Error(), want) {
		t.Errorf("Run = %v; want it to say %q", err, want)
	}
	for _, line := range []string{"callflow serves version 1 on udp and tcp", "stopping: new calls get 503", "stopped"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("output %q lacks %q", out, line)
		}
	}
}

// Asked to stop, Run closes its listeners and returns only once the
// goroutines serving them have returned, however slow they are.
func TestShutdownWaitsForItsGoroutines(t *testing.T) {
	st := acme(t)
	tcp := newListener(t)
	tcp.slow = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := newBuffer()
	if err := run(t, ctx, config(t, st, tcp, out), cancel); err != nil {
		t.Fatalf("Run = %v; want a clean stop", err)
	}
	if !tcp.returned.Load() {
		t.Error("Run returned while the goroutine serving TCP was still in Accept")
	}
	if !strings.HasSuffix(out.String(), "stopped\n") {
		t.Errorf("output %q; want it to end with stopped", out)
	}
}

// A node that cannot start says why, and closes the listeners it was
// given.
func TestStartFailsCleanly(t *testing.T) {
	st := storetest.Open(t, filepath.Join(t.TempDir(), "empty.db"))
	tcp := newListener(t)
	err := run(t, context.Background(), config(t, st, tcp, newBuffer()), nil)
	if err == nil || !strings.Contains(err.Error(), "nothing is live") {
		t.Fatalf("Run on an empty store = %v; want it to say nothing is live", err)
	}
	select {
	case <-tcp.closed:
	default:
		t.Error("the TCP listener given was not closed")
	}
}

// A new version applied while the node runs is loaded; one that cannot be
// served is logged and the version before goes on.
func TestReloadLoadsNewVersions(t *testing.T) {
	st := acme(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, logs := newBuffer(), newBuffer()
	cfg := config(t, st, newListener(t), out)
	cfg.ReloadEvery = 10 * time.Millisecond
	cfg.Log = slog.New(slog.NewTextHandler(logs, nil))
	done := make(chan error, 1)
	go func() { done <- node.Run(ctx, cfg) }()
	<-out.serving
	reapply := func(withModel bool) {
		t.Helper()
		cur, err := st.Live(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c := store.Change{Base: cur.Version.ID, Config: cur.Config, Hash: cur.Version.Hash, Kind: "apply"}
		if withModel {
			c.Live = cur.Model
		}
		for name, v := range cur.Flows {
			c.Flows = append(c.Flows, store.FlowInput{Flow: name, Use: v})
		}
		if _, err := st.Apply(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	reapply(true)
	out.waitFor(t, "serving version 2\n")
	reapply(false)
	logs.waitFor(t, `msg="new version not loaded; the old one goes on" version=3`)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if strings.Contains(out.String(), "serving version 3") {
		t.Errorf("a version without a typed model was loaded: %q", out)
	}
}
