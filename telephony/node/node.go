// Package node runs one callflow server over its whole life: Run repairs
// what a crash left, builds and loads the live version, answers SIP over
// UDP and TCP, serves health and metrics over HTTP, reloads when a new
// version is applied, runs the billing schedule, logs notifications, and
// stops with a grace period. `callflow serve` turns its flags into a
// Config and calls Run.
package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony"
	"github.com/callflow/callflow/telephony/dialog"
	"github.com/callflow/callflow/telephony/registrar"
	"github.com/callflow/callflow/telephony/serving"
	"github.com/callflow/callflow/telephony/trunk"
)

// Config says how a node runs. Store and Listen are required; the zero
// value of every other field is a working default.
type Config struct {
	// Store holds the live configuration, the ledger and the call
	// records. Run does not close it.
	Store *store.Store
	// Listen is the SIP address, over UDP and TCP; its host is also where
	// RTP is received.
	Listen netip.AddrPort
	// UDP and TCP, when set, are served instead of listening on Listen
	// (tests listen on port 0). Run closes them when it stops.
	UDP net.PacketConn
	TCP net.Listener
	// RTPLow and RTPHigh bound the UDP ports for RTP; 20000-29999 when
	// zero.
	RTPLow, RTPHigh int
	// HTTP is the address of /healthz, /readyz and /metrics; "" for none.
	HTTP string
	// Pprof also serves Go's profiles on HTTP under /debug/pprof/.
	Pprof bool
	// Grace is how long calls in progress may go on once Run is asked to
	// stop; then they are hung up.
	Grace time.Duration
	// BillingEvery is how often the billing job runs after the one at
	// start; 0 runs it only at start.
	BillingEvery time.Duration
	// ReloadEvery is how often the store is asked whether a new version
	// is live; 2 s when zero.
	ReloadEvery time.Duration
	// Node names this server among those sharing the store: its calls'
	// records carry it, and after a crash it repairs only its own.
	Node string
	// Recordings is the directory voicemail messages are saved in.
	Recordings string
	// Log receives the server's log; slog.Default() when nil.
	Log *slog.Logger
	// Out receives the lines an operator watches for: the version served
	// and where, each reload, stopping and stopped; io.Discard when nil.
	Out io.Writer
	// SIP configures the SIP server (telephony.WithAdvertisedAddr…).
	SIP []telephony.Option
	// Host is the SIP domain users' phones register in when the live
	// configuration names no sip_domain; Listen's address when "".
	Host string
	// DigestAlgorithms are those the registrar challenges with, in order;
	// registrar.DefaultAlgorithms (MD5) when empty.
	DigestAlgorithms []registrar.Algorithm
	// TrunkCredentials answer carriers' digest challenges to outgoing
	// calls, by trunk name (trunk.Load); nil holds none. The node logs
	// at start which live trunks have some, and keeps the lookup for
	// the outgoing call path (node.trunkAuth).
	TrunkCredentials *trunk.Set
}

// ErrListenerDied is returned (wrapped) by Run when a listener's Serve
// returned while Run was not stopping: the node can no longer take calls
// on it, so it stops, and the error says which listener and why.
var ErrListenerDied = errors.New("listener died")

// Run runs a node until ctx is done or one of its listeners dies, then
// stops: /readyz turns 503 with the reason, new calls get 503, the calls
// in progress have Grace to end (then they are hung up), the listeners
// and the HTTP server are closed, and Run waits for every goroutine it
// started — those serving UDP, TCP and HTTP — before it returns.
//
// Before it takes calls, Run closes the calls a crash of this node left
// open and gives back the credits they held (serving.Recover), builds the
// live version (an error if nothing is live or the version cannot be
// served, such as one applied by an older callflow), and runs the billing
// job once. It returns nil after a stop asked for by ctx whose calls all
// ended within Grace; an error wrapping ErrListenerDied when a listener
// died; and any other error that kept it from starting or stopping
// cleanly. A billing job or a reload that fails is logged and tried again
// at its next interval; it never stops the node.
func Run(ctx context.Context, cfg Config) error {
	n, err := start(ctx, cfg)
	if err != nil {
		return err
	}
	return n.run(ctx)
}

// node is a running Run: what it started, for run and stop.
type node struct {
	cfg   Config
	log   *slog.Logger
	idle  idleRelease // guarded by run's goroutine
	out   io.Writer
	st    *store.Store
	b     *serving.Builder
	srv   *telephony.Server
	notes *notificationLog
	live  *telephony.Live      // the version new calls are answered with
	dir   *directory           // the registrar's users and domain
	reg   *registrar.Registrar // answers REGISTER
	// trunkAuth finds a trunk's credentials for the outgoing call path;
	// never nil.
	trunkAuth func(trunkName string) *dialog.Credentials

	udp  net.PacketConn
	tcp  net.Listener
	http *http.Server // nil without cfg.HTTP

	// stopping, once set, says why the node is stopping; /readyz serves
	// it with 503.
	stopping atomic.Pointer[string]
	// died receives each listener whose Serve returned while the node was
	// not stopping. Buffered for all three, so that no goroutine blocks.
	died chan error
	// serving counts the goroutines serving UDP, TCP and HTTP.
	serving sync.WaitGroup
}

func start(ctx context.Context, cfg Config) (_ *node, err error) {
	if cfg.Store == nil || !cfg.Listen.IsValid() {
		return nil, fmt.Errorf("node: Config needs a Store and a Listen address")
	}
	if cfg.RTPLow == 0 && cfg.RTPHigh == 0 {
		cfg.RTPLow, cfg.RTPHigh = 20000, 29999
	}
	if cfg.ReloadEvery == 0 {
		cfg.ReloadEvery = 2 * time.Second
	}
	n := &node{cfg: cfg, log: cfg.Log, out: cfg.Out, st: cfg.Store, udp: cfg.UDP, tcp: cfg.TCP, died: make(chan error, 3)}
	if n.log == nil {
		n.log = slog.Default()
	}
	if n.out == nil {
		n.out = io.Discard
	}
	// Whatever fails below, the listeners given or opened are closed, and
	// the SIP server made is shut down; it has taken no call yet.
	defer func() {
		if err != nil {
			n.closeListeners()
			if n.srv != nil {
				n.srv.Shutdown(context.Background())
			}
		}
	}()
	n.b = &serving.Builder{Store: n.st, Log: n.log, Recordings: cfg.Recordings, Node: cfg.Node}
	n.notes = &notificationLog{st: n.st, log: n.log}
	if err := n.notes.start(ctx); err != nil {
		return nil, err
	}
	// What a crash left behind: calls still open, credits still held.
	closed, released, err := serving.Recover(ctx, n.st, cfg.Node)
	if err != nil {
		return nil, err
	}
	if closed > 0 {
		n.log.Warn("closed calls left running by a crash", "calls", closed)
	}
	if released > 0 {
		n.log.Warn("gave back the credits reserved by calls a crash left running", "calls", released)
	}
	if n.live, err = n.b.Build(ctx); err != nil {
		return nil, err
	}
	n.trunkAuth = trunkAuth(cfg.TrunkCredentials)
	n.logTrunkCredentials(ctx)
	if err := n.startRegistrar(ctx); err != nil {
		return nil, err
	}
	sipOpts := append(cfg.SIP[:len(cfg.SIP):len(cfg.SIP)], telephony.WithRegistrar(n.reg.Handle),
		// Users' phones call out with the credentials they register with.
		telephony.WithPhoneAuth(func(req *sip.Request, tx sip.ServerTransaction, user string) bool {
			return n.reg.Authenticate(req, tx, user, true)
		}),
		telephony.WithTrunkAuth(n.trunkAuth))
	if n.srv, err = telephony.NewServer(cfg.Listen, cfg.RTPLow, cfg.RTPHigh, n.log, sipOpts...); err != nil {
		return nil, err
	}
	if err := n.srv.Metrics.Register(n.reg.Collectors()...); err != nil {
		return nil, err
	}
	cfg.Store.OnWrite(n.srv.Metrics.StoreWrite)
	n.srv.Load(n.live)
	if n.udp == nil {
		if n.udp, err = net.ListenPacket("udp", cfg.Listen.String()); err != nil {
			return nil, fmt.Errorf("cannot listen on udp %s: %v", cfg.Listen, err)
		}
		// A burst of requests (or a pause of ours) must not overflow the
		// default 208 KiB: a lost ACK or BYE costs retransmissions, and a
		// lost ACK races the BYE. The kernel caps this at rmem_max.
		if u, ok := n.udp.(*net.UDPConn); ok {
			u.SetReadBuffer(8 << 20)
		}
	}
	if n.tcp == nil {
		if n.tcp, err = net.Listen("tcp", cfg.Listen.String()); err != nil {
			return nil, fmt.Errorf("cannot listen on tcp %s: %v", cfg.Listen, err)
		}
	}
	var httpLn net.Listener
	if cfg.HTTP != "" {
		if httpLn, err = net.Listen("tcp", cfg.HTTP); err != nil {
			return nil, fmt.Errorf("cannot listen on http %s: %v", cfg.HTTP, err)
		}
		n.http = &http.Server{Handler: n.handler(), ReadHeaderTimeout: 5 * time.Second}
	}
	n.serve("udp "+n.udp.LocalAddr().String(), func() error { return n.srv.ServeUDP(n.udp) })
	n.serve("tcp "+n.tcp.Addr().String(), func() error { return n.srv.ServeTCP(n.tcp) })
	if n.http != nil {
		n.serve("http "+httpLn.Addr().String(), func() error { return n.http.Serve(httpLn) })
	}
	fmt.Fprintf(n.out, "callflow serves version %d on udp and tcp %s (RTP ports %d-%d)", n.live.Version, n.udp.LocalAddr(), cfg.RTPLow, cfg.RTPHigh)
	if httpLn != nil {
		fmt.Fprintf(n.out, ", health on http://%s/healthz", httpLn.Addr())
	}
	fmt.Fprintln(n.out)
	return n, nil
}

// serve runs one listener's Serve on a goroutine that n.serving counts.
// Its return while the node is not stopping is a death, reported on
// n.died.
func (n *node) serve(name string, fn func() error) {
	n.serving.Add(1)
	go func() {
		defer n.serving.Done()
		err := fn()
		if n.stopping.Load() != nil {
			return // closed by stop
		}
		if err == nil {
			err = errors.New("it returned")
		}
		n.died <- fmt.Errorf("%w: %s: %v", ErrListenerDied, name, err)
	}()
}

func (n *node) run(ctx context.Context) error {
	n.billing(ctx)
	n.sweep(ctx)
	var billingTick <-chan time.Time
	if n.cfg.BillingEvery > 0 {
		t := time.NewTicker(n.cfg.BillingEvery)
		defer t.Stop()
		billingTick = t.C
	}
	reload := time.NewTicker(n.cfg.ReloadEvery)
	defer reload.Stop()
	sweep := time.NewTicker(SweepEvery)
	defer sweep.Stop()
	for {
		select {
		case <-sweep.C:
			n.sweep(ctx)
		case <-billingTick:
			n.billing(ctx)
		case <-reload.C:
			n.notes.flush(ctx)
			n.reload(ctx)
			n.idle.tick(n.srv.Metrics.PacketsSent.Load(), time.Now())
		case err := <-n.died:
			n.log.Error("a listener died: stopping", "err", err)
			if stopErr := n.stop("stopping: " + err.Error()); stopErr != nil {
				return errors.Join(err, stopErr)
			}
			return err
		case <-ctx.Done():
			return n.stop("stopping: not taking new calls")
		}
	}
}

// reload loads the live version when another one is live now.
func (n *node) reload(ctx context.Context) {
	v, err := n.st.LiveVersion(ctx)
	if err != nil || v == n.live.Version {
		return
	}
	next, err := n.b.Build(ctx)
	if err != nil {
		n.log.Error("new version not loaded; the old one goes on", "version", v, "err", err)
		return
	}
	n.live = next
	n.srv.Load(next)
	if err := n.dir.load(ctx, n.st); err != nil {
		n.log.Error("the registrar keeps the users and domain of the version before", "version", v, "err", err)
	}
	fmt.Fprintf(n.out, "serving version %d\n", next.Version)
}

// billing runs the billing job, then repairs the calls of servers that
// are gone, then logs the notifications either stored.
func (n *node) billing(ctx context.Context) {
	job, err := billing.RunJob(ctx, n.st)
	switch {
	case err != nil:
		n.log.Error("billing job failed; it runs again at the next interval", "err", err)
	default:
		n.log.Info("billing job ran", "fees", len(job.Fees), "unpaid", job.Unpaid, "failed", job.Failed, "recordings_deleted", job.Expired)
		if job.ExpireErr != nil {
			n.log.Error("recording retention failed", "err", job.ExpireErr)
		}
		if job.PruneErr != nil {
			n.log.Warn("pruning the balances of ended calls failed; the next billing job tries again", "err", job.PruneErr)
		}
	}
	// Calls of servers that are gone: closed, their credits given back.
	if closed, released, err := serving.RepairStale(ctx, n.st); err != nil {
		n.log.Error("repairing the calls of servers that are gone failed; it runs again with the next billing job", "err", err)
	} else if closed+released > 0 {
		n.log.Warn("closed the calls of servers not seen for "+serving.StaleAfter.String()+", and gave back their credits", "calls", closed, "reservations", released)
	}
	n.notes.flush(ctx)
}

// stop turns /readyz to 503 with why, gives the calls in progress Grace,
// closes the listeners and the HTTP server, and waits for the goroutines
// serving them.
func (n *node) stop(why string) error {
	n.stopping.Store(&why)
	fmt.Fprintf(n.out, "stopping: new calls get 503; waiting up to %s for the calls in progress\n", n.cfg.Grace)
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Grace)
	defer cancel()
	err := n.srv.Shutdown(ctx)
	n.closeListeners()
	if n.http != nil {
		// The calls have had their grace; health checks need none.
		n.http.Close()
	}
	n.serving.Wait()
	if err != nil {
		return err
	}
	fmt.Fprintln(n.out, "stopped")
	return nil
}

func (n *node) closeListeners() {
	if n.udp != nil {
		n.udp.Close()
	}
	if n.tcp != nil {
		n.tcp.Close()
	}
}

// idleRelease gives the heap back once the server has been idle longer
// than sipgo keeps finished transactions (64·T1, 32 s). An idle server
// allocates nothing, so no collection would run before the runtime's
// forced one (every 2 minutes), and what a load left would stay in use
// and resident until then.
type idleRelease struct {
	last    int64     // RTP packets sent at the last tick
	busy    time.Time // when they last changed
	pending bool      // a load since the last release
	release func()    // debug.FreeOSMemory when nil
}

func (r *idleRelease) tick(sent int64, now time.Time) {
	if sent != r.last || r.busy.IsZero() {
		r.last, r.busy, r.pending = sent, now, r.pending || sent != r.last
		return
	}
	if r.pending && now.Sub(r.busy) >= 40*time.Second {
		r.pending = false
		if r.release == nil {
			r.release = debug.FreeOSMemory
		}
		r.release()
	}
}
