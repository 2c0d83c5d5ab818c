package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/plan"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony"
	"github.com/callflow/callflow/telephony/prompt"
	"github.com/callflow/callflow/telephony/route"
	"github.com/callflow/callflow/vm"
)

func newServeCmd() *cobra.Command {
	var db, listen, rtpPorts, httpAddr, inventory string
	var grace, billingEvery time.Duration
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

Prompts are prepared before any call: spoken ones with espeak-ng, audio
files converted to 8 kHz, https audio fetched. Audio files are found in
DIR, so serving flows that play files needs DIR.

It runs the monthly billing job (callflow billing run) when it starts and
then every --billing-every; the job charges each fee once per month however
often it runs. Notifications (low balance, auto-recharge, storage full, fee
unpaid) are logged as they are stored, whichever process stored them.

Voicemail messages are saved as WAV files in a directory beside the store
(./callflow.db.recordings for ./callflow.db), within the storage plan.
When it starts after a crash, it closes the calls the crash left open (as
server-stopped) and gives back the credits their meters held.

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
			b := &liveBuilder{st: st, dir: dir, log: log, recordings: recordingsDir(db),
				cache: &prompt.Cache{Dir: filepath.Join(os.TempDir(), "callflow-prompts")}}
			notes := &notificationLog{st: st, log: log}
			if err := notes.start(ctx); err != nil {
				return err
			}
			// What a crash left behind: calls still open, credits still held.
			if n, err := st.CloseUnfinished(ctx); err != nil {
				return err
			} else if n > 0 {
				log.Warn("closed calls left running by a crash", "calls", n)
			}
			live, err := b.build(ctx)
			if err != nil {
				return &exitError{code: exitFail, msg: err.Error()}
			}
			// No call runs yet, so every credit still reserved for a call
			// was held by a meter that a crash stopped: give it back.
			if l, _, err := ledgerFor(ctx, st); err != nil {
				return err
			} else if n, err := l.ReleaseReservations(ctx, func(string) bool { return false }); err != nil {
				return err
			} else if n > 0 {
				log.Warn("gave back the credits reserved by calls a crash left running", "calls", n)
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
				hs, err := serveHTTP(httpAddr, &stopping, &srv.Metrics)
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
				job, err := runBillingJob(ctx, st)
				switch {
				case err != nil:
					log.Error("billing job failed; it runs again at the next interval", "err", err)
				default:
					log.Info("billing job ran", "fees", len(job.Fees), "unpaid", job.Unpaid, "failed", job.Failed, "recordings_deleted", job.Expired)
					if job.ExpireErr != nil {
						log.Error("recording retention failed", "err", job.ExpireErr)
					}
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
					next, err := b.build(ctx)
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
	opts := plan.Options{AppliedBy: whoAmI()}
	if len(p.Provision)+len(p.Release) > 0 {
		inv, err := loadInventory(inventory, dir)
		if err != nil {
			return err
		}
		opts.Numbers = inv
	}
	applied, err := plan.Apply(ctx, st, p, opts)
	if err != nil {
		return staleError(err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Applied %s as version %d.\n", dir, applied.Version.ID)
	return nil
}

// serveHTTP serves /healthz, 200 while the process runs; /readyz, 200
// while it takes calls and 503 once it stops taking them; and /metrics,
// for Prometheus.
func serveHTTP(addr string, stopping *atomic.Bool, metrics *telephony.Metrics) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		metrics.WritePrometheus(w)
	})
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

// liveBuilder makes the server's Live from what the store holds.
type liveBuilder struct {
	st         *store.Store
	dir        string
	log        *slog.Logger
	cache      *prompt.Cache
	recordings string
	// recorded holds, by call ID, the seconds of voicemail saved during
	// calls in progress, for their records.
	recorded sync.Map
}

func (b *liveBuilder) build(ctx context.Context) (*telephony.Live, error) {
	live, err := b.st.Live(ctx)
	if err != nil {
		return nil, err
	}
	if live.Version.ID == 0 {
		return nil, fmt.Errorf("nothing is live in %s: apply a configuration first, or give serve its directory", b.st)
	}
	snap, err := plan.ParseSnapshot(live.Config)
	if err != nil {
		return nil, err
	}
	table := route.Table{Country: snap.Organization["country"], Numbers: map[string]route.Number{}}
	for name, t := range snap.Trunks {
		for _, n := range plan.ListRefs(t["inbound_from"]) {
			prefix, err := compiler.ParseNetwork(n)
			if err != nil {
				return nil, fmt.Errorf("trunk %s: %v", name, err)
			}
			table.Trunks = append(table.Trunks, prefix)
		}
	}
	flowOf := map[string]string{}
	for name, f := range snap.Flows {
		for _, ref := range plan.ListRefs(f.Settings["numbers"]) {
			flowOf[strings.TrimPrefix(ref, "number.")] = name
		}
	}
	types := map[string]string{}
	for name, n := range snap.Numbers {
		flow := flowOf[name]
		table.Numbers[n["e164"]] = route.Number{Name: name, Flow: flow, Enabled: flow != "" && snap.Flows[flow].Settings["enabled"] == "true"}
		types[n["e164"]] = n["type"]
	}
	programs := map[string]*vm.Program{}
	for name, v := range live.Flows {
		fv, err := b.st.FlowVersion(ctx, name, v)
		if err != nil {
			return nil, err
		}
		if programs[name], err = vm.Decode(fv.Program); err != nil {
			return nil, fmt.Errorf("flow %s version %d: %w", name, v, err)
		}
	}
	audio, err := b.prompts(ctx, programs)
	if err != nil {
		return nil, err
	}
	rates, err := plan.RateCard(snap)
	if err != nil {
		return nil, err
	}
	ledger, _, err := ledgerFor(ctx, b.st)
	if err != nil {
		return nil, err
	}
	recordings := recordingsFor(b.st, snap)
	l := &telephony.Live{
		Version: live.Version.ID, Table: table, Programs: programs,
		Prompt: func(c *vm.Const) (prompt.Audio, error) {
			a, ok := audio[promptKey(c)]
			if !ok {
				return prompt.Audio{}, fmt.Errorf("prompt %s %q was not prepared", c.Kind, c.Text)
			}
			return a, nil
		},
		Save: func(callID string, a prompt.Audio) (bool, error) {
			if err := os.MkdirAll(b.recordings, 0o755); err != nil {
				return false, err
			}
			path := filepath.Join(b.recordings, safeName(callID)+".wav")
			f, err := os.Create(path)
			if err != nil {
				return false, err
			}
			if err := prompt.EncodeWAV(f, a); err != nil {
				f.Close()
				return false, err
			}
			f.Close()
			seconds := int64(a.Duration() / time.Second)
			saved, err := recordings.Save(context.Background(), store.Recording{ID: "rec-" + callID, CallID: callID, Kind: "voicemail", Path: path, Seconds: seconds})
			if !saved {
				os.Remove(path)
			} else {
				b.recorded.Store(callID, seconds)
			}
			return saved, err
		},
	}
	l.Begin = func(c telephony.CallInfo, stop func(error)) ([]vm.Hook, func(vm.Effect, error), error) {
		return b.begin(c, stop, l, ledger, rates.IncomingRate(types[c.Number]), live.Flows[c.Flow])
	}
	return l, nil
}

// begin meters a call and opens its record.
func (b *liveBuilder) begin(c telephony.CallInfo, stop func(error), l *telephony.Live, ledger *billing.Ledger, rate billing.Micro, flowVersion int64) ([]vm.Hook, func(vm.Effect, error), error) {
	ctx := context.Background()
	now := time.Now()
	meter := &billing.Meter{Ledger: ledger, CallID: c.ID, Rate: rate}
	if err := meter.Start(ctx, now); errors.Is(err, billing.ErrCreditsExhausted) {
		return nil, nil, &telephony.ErrRefused{Status: 402, Reason: "Payment Required"}
	} else if err != nil {
		return nil, nil, err
	}
	path := &telephony.PathHook{Program: l.Programs[c.Flow]}
	rec := store.Call{ID: c.ID, Direction: "incoming", From: c.From, To: c.Number, Flow: c.Flow, FlowVersion: flowVersion, StartedAt: now, LastSeenAt: now}
	for _, n := range l.Table.Numbers {
		if n.Flow == c.Flow {
			rec.NumberName = n.Name
		}
	}
	if err := b.st.SaveCall(ctx, rec); err != nil {
		b.log.Error("call record", "call", c.ID, "err", err)
	}
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(time.Minute)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case t := <-tick.C:
				if err := meter.Tick(ctx, t); errors.Is(err, billing.ErrCreditsExhausted) {
					b.log.Warn("credits exhausted: ending the call", "call", c.ID)
					stop(err)
				}
				rec.LastSeenAt, rec.Path = t, path.Path()
				b.st.SaveCall(ctx, rec)
			}
		}
	}()
	end := func(final vm.Effect, cause error) {
		close(done)
		t := time.Now()
		if err := meter.Stop(ctx, t); err != nil {
			b.log.Error("meter", "call", c.ID, "err", err)
		}
		rec.Path, rec.EndedAt, rec.LastSeenAt = path.Path(), t, t
		rec.Ending = ending(final, cause)
		rec.Credits = int64(rate) * int64(meter.Minutes())
		if s, ok := b.recorded.LoadAndDelete(c.ID); ok {
			rec.RecordingS = s.(int64)
		}
		if err := b.st.SaveCall(ctx, rec); err != nil {
			b.log.Error("call record", "call", c.ID, "err", err)
		}
	}
	return []vm.Hook{meter, path}, end, nil
}

// ending is what a call record says about how the call ended: the
// telephony ending, or credits-exhausted when the meter stopped it.
func ending(final vm.Effect, cause error) string {
	if errors.Is(cause, billing.ErrCreditsExhausted) {
		return "credits-exhausted"
	}
	return telephony.Ending(final, cause)
}

func promptKey(c *vm.Const) string { return c.Kind.String() + ":" + c.Text }

// prompts prepares every prompt of the programs, before any call.
func (b *liveBuilder) prompts(ctx context.Context, programs map[string]*vm.Program) (map[string]prompt.Audio, error) {
	out := map[string]prompt.Audio{}
	for flow, p := range programs {
		for i := range p.Consts {
			c := &p.Consts[i]
			if c.Kind != vm.ConstSay && c.Kind != vm.ConstPlay {
				if c.Kind == vm.ConstQueue && c.Text != "" {
					c = &vm.Const{Kind: vm.ConstPlay, Text: c.Text} // hold music
				} else {
					continue
				}
			}
			if _, ok := out[promptKey(c)]; ok {
				continue
			}
			path, err := b.prepare(ctx, p, c)
			if err != nil {
				return nil, fmt.Errorf("flow %s: %w", flow, err)
			}
			a, err := prompt.Load(path)
			if err != nil {
				return nil, err
			}
			out[promptKey(c)] = a
		}
	}
	return out, nil
}

func (b *liveBuilder) prepare(ctx context.Context, p *vm.Program, c *vm.Const) (string, error) {
	switch {
	case c.Kind == vm.ConstSay:
		return b.cache.Say(ctx, c.Text)
	case strings.Contains(c.Text, "://"):
		return b.cache.URL(ctx, c.Text)
	case b.dir == "":
		return "", fmt.Errorf("audio file %s: serve needs the repository to find audio files; run callflow serve DIR", c.Text)
	}
	// A file is named relative to the file of the flow that plays it.
	for _, s := range p.States {
		path := filepath.Join(b.dir, filepath.Dir(s.Range.Filename), c.Text)
		if _, err := os.Stat(path); err == nil {
			return b.cache.File(path)
		}
	}
	return "", fmt.Errorf("audio file %s not found under %s", c.Text, b.dir)
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}
