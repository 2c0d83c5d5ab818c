package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony"
	"github.com/callflow/callflow/telephony/prompt"
	"github.com/callflow/callflow/telephony/serving"
)

func newServeCmd() *cobra.Command {
	var db, listen, rtpPorts, httpAddr, inventory string
	var grace, billingEvery time.Duration
	var withPprof bool
	node, _ := os.Hostname()
	cmd := &cobra.Command{
		Use:   "serve [DIR]",
		Short: "Answer SIP calls on the live numbers and run their flows",
		Long: `serve answers calls from the trunk on the organisation's numbers and runs
each number's live flow: prompts over RTP (G.711), keys by RFC 4733 or SIP
INFO, voicemail. With DIR it first applies DIR, so that

  callflow serve examples/acme

starts a working telephone system on ./callflow.db. Without DIR it serves
what is live in the store.

Only the trunk's networks may deliver calls (403 for anyone else); a number
with no flow, or a disabled one, gets 480. Every call is metered while it
runs, at the incoming rate of its number's type; a call whose first minute
is not covered is refused (402), and one that runs out of credits ends.
Every call leaves a record (callflow calls list).

Prompts were prepared when the flows were applied (spoken ones with
espeak-ng, audio files converted to 8 kHz, https audio fetched) and are
read from the store, so the server needs neither DIR nor espeak-ng; with DIR
it applies DIR first, which prepares them.

It runs the monthly billing job (callflow billing run) when it starts and
then every --billing-every; the job charges each fee once per month however
often it runs. Notifications (low balance, auto-recharge, storage full, fee
unpaid) are logged as they are stored, whichever process stored them.

Voicemail messages are saved as WAV files in a directory beside the store
(./callflow.db.recordings for ./callflow.db), within the storage plan.
When it starts after a crash, it closes the calls the crash left open (as
server-stopped) and gives back the credits their meters held. Servers that
share a PostgreSQL store each need their own --node name: a node repairs
only its own calls, never those another node is running. Calls not seen
for 5 minutes (a running call's record is updated every minute) belong to
a server that is gone, and any node closes them, at start and with each
billing job.

It reloads when a new version is applied; calls in progress finish on the
version they started with. SIGINT or SIGTERM stops taking calls (503) and
waits up to --grace for the calls in progress. Transfers to users and groups
take their unavailable branch until phones can register.`,
		Example: `  callflow serve examples/acme
  callflow serve --listen 0.0.0.0:5060 --rtp-ports 20000-29999 --db postgres://callflow@db/callflow`,
		Args: argsBetween(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := netip.ParseAddrPort(listen)
			if err != nil {
				return usagef("--listen %q: write IP:PORT, such as 127.0.0.1:5060", listen)
			}
			lo, hi, err := parsePorts(rtpPorts)
			if err != nil {
				return err
			}
			if strings.TrimSpace(node) == "" {
				return usagef("--node: name this server, such as --node sip-1 (the host's name is the default, and it has none)")
			}
			if os.Getenv("GOGC") == "" {
				// A server's live heap is small (tens of KiB a call) and
				// its garbage, SIP messages, is made fast: collecting
				// less often buys calls per second for some memory. GOGC
				// in the environment decides instead; GOMEMLIMIT, when
				// set, still bounds the heap.
				debug.SetGCPercent(400)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			st, err := openStore(ctx, db)
			if err != nil {
				return err
			}
			defer st.Close()
			out := cmd.OutOrStdout()
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			dir := ""
			if len(args) == 1 {
				dir = args[0]
				if err := applyForServe(ctx, cmd, st, dir, inventory); err != nil {
					return err
				}
			}
			b := &serving.Builder{Store: st, Log: log, Recordings: recordingsDir(db), Node: node}
			notes := &notificationLog{st: st, log: log}
			if err := notes.start(ctx); err != nil {
				return err
			}
			// What a crash left behind: calls still open, credits still held.
			if closed, released, err := serving.Recover(ctx, st, node); err != nil {
				return err
			} else {
				if closed > 0 {
					log.Warn("closed calls left running by a crash", "calls", closed)
				}
				if released > 0 {
					log.Warn("gave back the credits reserved by calls a crash left running", "calls", released)
				}
			}
			live, err := b.Build(ctx)
			if err != nil {
				return &exitError{code: exitFail, msg: err.Error()}
			}
			srv, err := telephony.NewServer(addr, lo, hi, log)
			if err != nil {
				return err
			}
			srv.Load(live)
			conn, err := net.ListenPacket("udp", listen)
			if err != nil {
				return &exitError{code: exitFail, msg: fmt.Sprintf("cannot listen on udp %s: %v", listen, err)}
			}
			go srv.ServeUDP(conn)
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				conn.Close()
				return &exitError{code: exitFail, msg: fmt.Sprintf("cannot listen on tcp %s: %v", listen, err)}
			}
			go srv.ServeTCP(ln)
			var stopping atomic.Bool
			if httpAddr != "" {
				hs, err := serveHTTP(httpAddr, &stopping, &srv.Metrics, st, withPprof)
				if err != nil {
					return &exitError{code: exitFail, msg: err.Error()}
				}
				defer hs.Close()
			}
			fmt.Fprintf(out, "callflow serves version %d on udp and tcp %s (RTP ports %d-%d)", live.Version, conn.LocalAddr(), lo, hi)
			if httpAddr != "" {
				fmt.Fprintf(out, ", health on http://%s/healthz", httpAddr)
			}
			fmt.Fprintln(out)

			runBilling := func() {
				job, err := billing.RunJob(ctx, st)
				switch {
				case err != nil:
					log.Error("billing job failed; it runs again at the next interval", "err", err)
				default:
					log.Info("billing job ran", "fees", len(job.Fees), "unpaid", job.Unpaid, "failed", job.Failed, "recordings_deleted", job.Expired)
					if job.ExpireErr != nil {
						log.Error("recording retention failed", "err", job.ExpireErr)
					}
					if job.PruneErr != nil {
						log.Warn("pruning the balances of ended calls failed; the next billing job tries again", "err", job.PruneErr)
					}
				}
				// Calls of servers that are gone: closed, their credits given back.
				if closed, released, err := serving.RepairStale(ctx, st); err != nil {
					log.Error("repairing the calls of servers that are gone failed; it runs again with the next billing job", "err", err)
				} else if closed+released > 0 {
					log.Warn("closed the calls of servers not seen for "+serving.StaleAfter.String()+", and gave back their credits", "calls", closed, "reservations", released)
				}
				notes.flush(ctx)
			}
			runBilling()
			var billingTick <-chan time.Time
			if billingEvery > 0 {
				t := time.NewTicker(billingEvery)
				defer t.Stop()
				billingTick = t.C
			}
			reload := time.NewTicker(2 * time.Second)
			defer reload.Stop()
			for {
				select {
				case <-billingTick:
					runBilling()
				case <-reload.C:
					notes.flush(ctx)
					v, err := st.Live(ctx)
					if err != nil || v.Version.ID == live.Version {
						continue
					}
					next, err := b.Build(ctx)
					if err != nil {
						log.Error("new version not loaded; the old one goes on", "version", v.Version.ID, "err", err)
						continue
					}
					live = next
					srv.Load(live)
					fmt.Fprintf(out, "serving version %d\n", live.Version)
				case <-ctx.Done():
					stopping.Store(true)
					fmt.Fprintf(out, "stopping: new calls get 503; waiting up to %s for the calls in progress\n", grace)
					shutCtx, cancel := context.WithTimeout(context.Background(), grace)
					defer cancel()
					err := srv.Shutdown(shutCtx)
					conn.Close()
					ln.Close()
					if err != nil {
						return &exitError{code: exitFail, msg: err.Error()}
					}
					fmt.Fprintln(out, "stopped")
					return nil
				}
			}
		},
	}
	addDBFlag(cmd, &db)
	addInventoryFlag(cmd, &inventory)
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:5060", "SIP address to answer on, over UDP and TCP")
	cmd.Flags().StringVar(&rtpPorts, "rtp-ports", "20000-29999", "the range of UDP ports for RTP")
	cmd.Flags().StringVar(&httpAddr, "http", "127.0.0.1:8080", "address for /healthz, /readyz and /metrics; empty for none")
	cmd.Flags().DurationVar(&grace, "grace", 30*time.Second, "how long calls in progress may go on after SIGTERM")
	cmd.Flags().StringVar(&node, "node", node, "this server's name among the nodes that share the store (each needs its own, the same across restarts); after a crash a node closes only its own calls")
	cmd.Flags().BoolVar(&withPprof, "pprof", false, "also serve Go's profiles on --http under /debug/pprof/ (for finding what a busy server spends its time on)")
	cmd.Flags().DurationVar(&billingEvery, "billing-every", time.Hour, "how often to run the monthly billing job; 0 runs it only at start")
	return cmd
}

// notificationLog logs the notifications stored since the server
// started, each once, in the order they were stored.
type notificationLog struct {
	st   *store.Store
	log  *slog.Logger
	last int64
}

// start remembers the newest notification already stored: those were
// there before this server and callflow notifications lists them.
func (n *notificationLog) start(ctx context.Context) error {
	ns, err := n.st.Notifications(ctx)
	if err != nil {
		return err
	}
	if len(ns) > 0 {
		n.last = ns[0].ID
	}
	return nil
}

func (n *notificationLog) flush(ctx context.Context) {
	ns, err := n.st.NotificationsAfter(ctx, n.last)
	if err != nil {
		n.log.Warn("cannot read notifications", "err", err)
		return
	}
	for i := len(ns) - 1; i >= 0; i-- {
		n.log.Warn("notification", "kind", ns[i].Kind, "message", ns[i].Message)
		n.last = ns[i].ID
	}
}

func parsePorts(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || lo < 1024 || hi > 65535 || lo > hi {
		return 0, 0, usagef("--rtp-ports %q: write LOW-HIGH within 1024-65535, such as 20000-29999", s)
	}
	return lo, hi, nil
}

func recordingsDir(db string) string {
	if db == "" {
		db = os.Getenv(store.EnvDB)
	}
	if db == "" || strings.Contains(db, "://") {
		return "recordings"
	}
	return db + ".recordings"
}

// applyForServe applies dir, as apply --auto-approve would, when it
// changes anything.
func applyForServe(ctx context.Context, cmd *cobra.Command, st *store.Store, dir, inventory string) error {
	p, err := makePlan(ctx, cmd, st, dir)
	if err != nil {
		return err
	}
	if !p.HasChanges() {
		return nil
	}
	applied, err := applyPlan(ctx, st, p, inventory, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Applied %s as version %d.\n", dir, applied.Version.ID)
	return nil
}

// serveHTTP serves /healthz, 200 while the process runs; /readyz, 200
// while it takes calls and 503 once it stops taking them; and /metrics,
// for Prometheus; with withPprof, Go's profiles under /debug/pprof/.
func serveHTTP(addr string, stopping *atomic.Bool, metrics *telephony.Metrics, st *store.Store, withPprof bool) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		metrics.WritePrometheus(w)
		writes, commits := st.WriteStats()
		fmt.Fprintf(w, "# HELP callflow_store_writes_total Store writes committed.\n# TYPE callflow_store_writes_total counter\ncallflow_store_writes_total %d\n", writes)
		fmt.Fprintf(w, "# HELP callflow_store_commits_total Store commits; writes that arrive together share one.\n# TYPE callflow_store_commits_total counter\ncallflow_store_commits_total %d\n", commits)
	})
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if stopping.Load() {
			http.Error(w, "stopping: not taking new calls", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on http %s: %v", addr, err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	return hs, nil
}

// promptCache prepares prompts when flows are applied; what it makes is
// stored with the flows, and the cache only saves rendering the same
// prompt twice on this machine.
func promptCache() *prompt.Cache {
	return &prompt.Cache{Dir: filepath.Join(os.TempDir(), "callflow-prompts")}
}
