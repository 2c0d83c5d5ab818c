package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony"
	"github.com/callflow/callflow/telephony/node"
	"github.com/callflow/callflow/telephony/registrar"
	"github.com/callflow/callflow/telephony/trunk"
)

func newServeCmd() *cobra.Command {
	var db, listen, rtpPorts, httpAddr, inventory string
	var grace, billingEvery time.Duration
	var withPprof, anyMedia bool
	var advertise, digestAlgorithms, trunkCredentials string
	nodeName, _ := os.Hostname()
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
Every call leaves a record (callflow calls list). A call's minutes start
when the caller acknowledges the answer (ACK): a call whose 200 OK is never
acknowledged, or that is cancelled before it is answered, is not charged.

Calls are SIP dialogs: re-INVITE and UPDATE hold, resume or move a call in
progress, session timers (RFC 4028) are honoured, an INVITE without SDP
gets an offer, and over TCP the server's requests use the caller's
connection. Media is symmetric: RTP goes back to where the caller's
packets come from (a caller behind NAT is heard and hears), and leaves
every 20 ms for the whole call. Behind a one-to-one NAT, --advertise names
the public address in Contact and SDP. A store that does not answer within
5 s gets new calls refused with 503 while the rest goes on.

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
waits up to --grace for the calls in progress. A listener that fails (its
UDP socket, its TCP accept) stops serve the same way, and serve exits 1
with an error naming the listener and why; meanwhile /readyz answers 503
with that reason.

Users' phones register as sip:NAME@DOMAIN, where DOMAIN is the
organization's sip_domain or, without one, --advertise's address or
--listen's host. They authenticate with digest authentication against the
password set with callflow users set-password; --digest-algorithms says
which algorithms are offered (md5 by default: phones such as baresip 1.0
fail when SHA-256 is offered at all; "sha-256,md5" offers both). Repeated
failures ban the source or lock the user (see docs/operations.md).

Calls out through a trunk answer the carrier's digest challenge (401 or
407, MD5 or SHA-256) with the trunk's credentials, which never sit in HCL
or Git: CALLFLOW_TRUNK_<NAME>_USERNAME, _PASSWORD and _REALM (optional)
in the environment, NAME the trunk's name upper-cased with _ for other
characters, or the same lines in the file --trunk-credentials names, which
must be readable by its owner only.
Transfers to users and groups
take their unavailable branch until phones can register.`,
		Example: `  callflow serve examples/acme
  callflow serve --listen 0.0.0.0:5060 --rtp-ports 20000-29999 --db postgres://callflow@db/callflow
  callflow serve --listen 10.0.0.5:5060 --advertise 203.0.113.7`,
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
			// Before the store is opened: a bad file changes nothing.
			trunks, err := trunk.Load(trunkCredentials, os.Environ())
			if err != nil {
				return &exitError{code: exitFail, msg: err.Error()}
			}
			var sipOpts []telephony.Option
			if advertise != "" {
				a, err := netip.ParseAddr(advertise)
				if err != nil {
					return usagef("--advertise %q: write the IP address callers reach this server at, such as 203.0.113.7", advertise)
				}
				sipOpts = append(sipOpts, telephony.WithAdvertisedAddr(a))
			}
			if anyMedia {
				sipOpts = append(sipOpts, telephony.WithMediaFromAnywhere())
			}
			if strings.TrimSpace(nodeName) == "" {
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
			if len(args) == 1 {
				if err := applyForServe(ctx, cmd, st, args[0], inventory); err != nil {
					return err
				}
			}
			algs, err := registrar.ParseAlgorithms(digestAlgorithms)
			if err != nil {
				return usagef("--digest-algorithms: %v", err)
			}
			err = node.Run(ctx, node.Config{
				Host: advertise, DigestAlgorithms: algs, TrunkCredentials: trunks,
				Store: st, Listen: addr, RTPLow: lo, RTPHigh: hi, HTTP: httpAddr, Pprof: withPprof,
				Grace: grace, BillingEvery: billingEvery, Node: nodeName, Recordings: recordingsDir(db),
				Log: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)), Out: cmd.OutOrStdout(), SIP: sipOpts,
			})
			if err != nil {
				return &exitError{code: exitFail, msg: err.Error()}
			}
			return nil
		},
	}
	addDBFlag(cmd, &db)
	addInventoryFlag(cmd, &inventory)
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:5060", "SIP address to answer on, over UDP and TCP")
	cmd.Flags().StringVar(&rtpPorts, "rtp-ports", "20000-29999", "the range of UDP ports for RTP")
	cmd.Flags().StringVar(&httpAddr, "http", "127.0.0.1:8080", "address for /healthz, /readyz and /metrics; empty for none")
	cmd.Flags().DurationVar(&grace, "grace", 30*time.Second, "how long calls in progress may go on after SIGTERM")
	cmd.Flags().StringVar(&nodeName, "node", nodeName, "this server's name among the nodes that share the store (each needs its own, the same across restarts); after a crash a node closes only its own calls")
	cmd.Flags().BoolVar(&withPprof, "pprof", false, "also serve Go's profiles on --http under /debug/pprof/ (for finding what a busy server spends its time on)")
	cmd.Flags().DurationVar(&billingEvery, "billing-every", time.Hour, "how often to run the monthly billing job; 0 runs it only at start")
	cmd.Flags().StringVar(&advertise, "advertise", "", "the IP address to name in Contact and SDP when callers reach this server at another than --listen's (a one-to-one NAT)")
	cmd.Flags().StringVar(&digestAlgorithms, "digest-algorithms", "md5", "the digest algorithms phones are challenged with, in order: md5, sha-256, or both (\"sha-256,md5\"); offering sha-256 locks out phones that do not support it, such as baresip 1.0")
	cmd.Flags().StringVar(&trunkCredentials, "trunk-credentials", "", "a file of the carriers' digest credentials (CALLFLOW_TRUNK_<NAME>_USERNAME=…, _PASSWORD=…, _REALM=…, one a line; mode 600); the environment's variables of the same names override it (see docs/operations.md)")
	cmd.Flags().BoolVar(&anyMedia, "media-from-anywhere", false, "let a call's media latch onto the first RTP packet from any host, not only the SDP's or the INVITE's (for a carrier whose media hosts are named nowhere)")
	return cmd
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
