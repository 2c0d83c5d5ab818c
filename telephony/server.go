package telephony

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/callflow/callflow/telephony/agents"
	"github.com/callflow/callflow/telephony/dialog"
	"github.com/callflow/callflow/telephony/media"
	"github.com/callflow/callflow/telephony/prompt"
	"github.com/callflow/callflow/telephony/route"
	"github.com/callflow/callflow/telephony/session"
	"github.com/callflow/callflow/vm"
)

// Live is what the server answers calls with: one version of the live
// configuration. A call keeps the Live it started with, so a reload never
// changes a call in progress.
type Live struct {
	Version  int64
	Table    route.Table
	Programs map[string]*vm.Program // by flow
	// Prompt returns a prompt's prepared audio.
	Prompt func(*vm.Const) (prompt.Audio, error)
	// Record opens a voicemail message of the call callID, which the
	// caller's audio is written to as it arrives; nil records none (the
	// message is not saved).
	Record func(callID string) (session.Recorder, error)
	// Begin, when set, is called before a call is answered, on the
	// INVITE's goroutine: it returns the call's hooks (the meter, the
	// record) and a function to call when the call ends, or an error to
	// refuse the call with (ErrRefused says how). ctx carries the
	// deadline of the store's work (WithBeginTimeout): a Begin still
	// running then has its call refused with 503, and when it returns
	// later, its end is called at once. stop ends the call early with a
	// cause, for example when credits run out; the server hangs up. The
	// hooks see the machine's answer effect only once the caller has
	// confirmed the answer (ACK): a call that is never confirmed never
	// runs its machine.
	//
	// end gets the effect that ended the call and its cause: nil when the
	// flow or the caller ended it, ErrServerStopped when the server hung
	// up at shutdown, ErrCallerCancelled or ErrNotConfirmed when the call
	// was never confirmed, or the error given to stop.
	//
	// A hook that is also an agents.Report hears who answered a transfer
	// and how long the caller queued, for the call's record.
	Begin func(ctx context.Context, c CallInfo, stop func(cause error)) (hooks []vm.Hook, end func(final vm.Effect, cause error), err error)
	// Agents, when set, is who transfers ring: the version's groups, and
	// the store's registrations, logins and agents' calls. Without it
	// every transfer is unavailable.
	Agents agents.Directory
	// Domain is the domain of users' addresses of record (sip_domain);
	// "" for the server's advertised address.
	Domain string
	// RecordBridge opens the recording of a bridged call whose transfer
	// says record; nil, or an error, leaves the call unrecorded.
	RecordBridge func(callID string) (agents.Recorder, error)
	// Outbound places the calls users' phones make (S25); its zero value
	// places none. Trunk is where they go; nil for nowhere.
	Outbound Outbound
	Trunk    *Trunk
}

// ErrServerStopped is the cause of a call the server hung up because it
// was shutting down and the grace period was over.
var ErrServerStopped = errors.New("server stopped")

// Ending names how a call ended, for its record and the metrics: the
// flow's hang-up reason; server-stopped when the server hung up;
// cancelled or not-confirmed for a call answered but never confirmed.
func Ending(final vm.Effect, cause error) string {
	switch {
	case errors.Is(cause, ErrServerStopped):
		return "server-stopped"
	case errors.Is(cause, ErrCallerCancelled):
		return "cancelled"
	case errors.Is(cause, ErrNotConfirmed):
		return "not-confirmed"
	case errors.Is(cause, errStoreTimeout):
		return "refused-store-timeout"
	}
	return final.Reason.String()
}

// CallInfo describes a call being answered.
type CallInfo struct {
	ID     string
	From   string // the caller's number as sent
	Number string // the organisation's number dialled, E.164
	Flow   string
}

// ErrRefused is returned by Live.Begin to refuse a call with a SIP status.
type ErrRefused struct {
	Status int
	Reason string
}

func (e *ErrRefused) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Reason) }

// Causes of calls that end before they are confirmed, for their records:
// neither is charged.
var (
	// ErrCallerCancelled: the caller cancelled the INVITE before the
	// answer reached them.
	ErrCallerCancelled = dialog.ErrCancelled
	// ErrNotConfirmed: the 200 OK was never acknowledged, or its ACK
	// carried no answer to our offer that we could use.
	ErrNotConfirmed = errors.New("the answer was never confirmed")
)

// Server answers SIP calls (UDP and TCP) on the organisation's numbers
// and runs each one's flow in a session. Create it with NewServer, give
// it a Live with Load, and run it with ServeUDP and ServeTCP.
type Server struct {
	log     *slog.Logger
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	dialogs *dialog.Set
	rtpIP   netip.Addr
	ports   *portPool
	pacer   media.Pacer

	// Metrics counts calls, machine steps, packets and errors.
	Metrics Metrics
	opts    options

	agents *agents.Host
	queues agents.Queues

	live   atomic.Pointer[Live]
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu       sync.Mutex
	draining bool           // guarded by mu; no call begins once set
	calls    sync.WaitGroup // one per INVITE being handled; Add under mu
}

// begin counts an INVITE in, unless the server is shutting down.
func (s *Server) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	s.calls.Add(1)
	return true
}

// Agent is what callflow calls itself in Server and User-Agent headers.
const Agent = "callflow"

// An Option configures a Server.
type Option func(*options)

type options struct {
	beginTimeout time.Duration
	ackTimeout   time.Duration
	minSE        int
	advertise    netip.Addr
	anySource    bool
	register     sipgo.RequestHandler
	phoneAuth    func(req *sip.Request, tx sip.ServerTransaction, user string) bool
	trunkAuth    func(trunk string) *dialog.Credentials
}

// WithRegistrar hands REGISTER requests to h (the registrar); without
// it, REGISTER is answered 405 like any method the server does not take.
// h sees a request the server's guard passed: SIP/2.0, its CSeq's method
// its own.
func WithRegistrar(h sipgo.RequestHandler) Option { return func(o *options) { o.register = h } }

// WithAdvertisedAddr is the address callers are told to reach the server
// at, in Contact and in SDP, when it differs from the one it listens on:
// a server behind a one-to-one NAT listens on its private address and
// advertises the public one. The listening address by default.
func WithAdvertisedAddr(a netip.Addr) Option { return func(o *options) { o.advertise = a } }

// WithMediaFromAnywhere lets a call's media latch onto the first RTP
// packet whatever its source host. By default the first packet must come
// from the SDP's host or the host the INVITE came from; use this only when
// a carrier sends media from hosts it names nowhere.
func WithMediaFromAnywhere() Option { return func(o *options) { o.anySource = true } }

// WithBeginTimeout bounds Live.Begin (the store's work before a call is
// answered): a call whose Begin takes longer is refused with 503. 5 s by
// default.
func WithBeginTimeout(d time.Duration) Option { return func(o *options) { o.beginTimeout = d } }

// WithACKTimeout is how long a 200 OK waits for its ACK before the call
// ends as not confirmed: 32 s (64·T1) by default.
func WithACKTimeout(d time.Duration) Option { return func(o *options) { o.ackTimeout = d } }

// WithMinSessionExpires is the smallest session interval (RFC 4028)
// accepted, in seconds: 90 by default.
func WithMinSessionExpires(seconds int) Option { return func(o *options) { o.minSE = seconds } }

// NewServer makes a server that will answer on addr (its host is also
// where RTP is received) with RTP ports in [lo, hi].
func NewServer(addr netip.AddrPort, lo, hi int, log *slog.Logger, opts ...Option) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	o := options{beginTimeout: 5 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if !o.advertise.IsValid() {
		o.advertise = addr.Addr()
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(Agent), sipgo.WithUserAgentHostname(addr.Addr().String()))
	if err != nil {
		return nil, err
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		return nil, err
	}
	client, err := sipgo.NewClient(ua)
	if err != nil {
		return nil, err
	}
	s := &Server{
		log: log, ua: ua, srv: srv, opts: o,
		rtpIP: addr.Addr(), ports: newPortPool(addr.Addr(), lo, hi),
	}
	s.dialogs = dialog.NewSet(dialog.Config{
		Client: client, Host: o.advertise.String(), Port: int(addr.Port()), Agent: Agent,
		OnResponse: s.Metrics.response, ACKTimeout: o.ackTimeout, MinSE: o.minSE,
	})
	s.agents = &agents.Host{
		Dialogs: s.dialogs, Listen: s.ports.listen, Advertise: o.advertise,
		Pacer: &s.pacer, Queues: &s.queues, Log: log, Sent: &s.Metrics.PacketsSent,
	}
	if err := s.Metrics.Register(s.queues.Collectors()...); err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	srv.OnInvite(s.guard(s.onInvite))
	srv.OnAck(s.guard(func(req *sip.Request, tx sip.ServerTransaction) {
		if d := s.dialogs.Match(req); d != nil {
			d.HandleACK(req)
		}
	}))
	inDialog := s.guard(func(req *sip.Request, tx sip.ServerTransaction) {
		if d := s.dialogs.Match(req); d != nil {
			d.HandleRequest(req, tx)
			return
		}
		s.dialogs.Respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
	})
	srv.OnBye(inDialog)
	srv.OnUpdate(inDialog)
	srv.OnInfo(inDialog)
	// A CANCEL that matches an INVITE in progress is answered by the
	// transaction layer; one that reaches a handler matches nothing.
	srv.OnCancel(s.guard(func(req *sip.Request, tx sip.ServerTransaction) {
		s.dialogs.Respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
	}))
	srv.OnOptions(s.guard(func(req *sip.Request, tx sip.ServerTransaction) {
		s.dialogs.Respond(tx, req, sip.StatusOK, "OK", sip.NewHeader("Accept", "application/sdp"))
	}))
	if o.register != nil {
		srv.OnRegister(s.guard(o.register))
	}
	srv.OnNoRoute(s.guard(func(req *sip.Request, tx sip.ServerTransaction) {
		s.dialogs.Respond(tx, req, sip.StatusMethodNotAllowed, "Method Not Allowed")
	}))
	return s, nil
}

// guard refuses what no handler should see: a SIP version other than 2.0
// (505), and a CSeq whose method is not the request's (400).
func (s *Server) guard(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if req.IsAck() {
			if req.SipVersion == "SIP/2.0" && req.CSeq() != nil && req.CSeq().MethodName == sip.ACK {
				h(req, tx)
			}
			return // an ACK is never answered
		}
		if req.SipVersion != "SIP/2.0" {
			res := sip.NewResponseFromRequest(req, sip.StatusVersionNotSupported, "Version Not Supported", nil)
			res.SipVersion = "SIP/2.0"
			s.Metrics.response(res.StatusCode)
			tx.Respond(res)
			return
		}
		if c := req.CSeq(); c == nil || c.MethodName != req.Method {
			s.dialogs.Respond(tx, req, sip.StatusBadRequest, "Bad Request", sip.NewHeader("Warning", `399 callflow "the CSeq method is not the request's"`))
			return
		}
		h(req, tx)
	}
}

// Load makes l what new calls are answered with.
func (s *Server) Load(l *Live) { s.live.Store(l) }

// ServeUDP answers requests arriving on conn until Shutdown.
func (s *Server) ServeUDP(conn net.PacketConn) error { return s.srv.ServeUDP(conn) }

// ServeTCP answers requests arriving on l's connections until Shutdown.
func (s *Server) ServeTCP(l net.Listener) error { return s.srv.ServeTCP(l) }

// Shutdown stops taking calls — new INVITEs get 503 — and waits for the
// calls in progress to end, or for ctx; then it hangs up what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true // from here on, no Add: Wait below is safe
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.calls.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("shutdown: calls still running at the deadline were hung up")
		s.cancel(ErrServerStopped)
		<-done
	}
	s.cancel(ErrServerStopped)
	s.pacer.Close()
	s.ua.Close()
	return err
}

// newCallID returns a new call ID: the time, for sorting by eye, and 64
// random bits.
func newCallID() string {
	var b [8]byte
	rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

// refuse answers an INVITE with a final status and counts the outcome
// and the cause.
func (s *Server) refuse(tx sip.ServerTransaction, req *sip.Request, status int, reason, cause string) {
	s.counted(status, cause)
	s.dialogs.Respond(tx, req, status, reason)
}

// counted counts a call refused with status for cause.
func (s *Server) counted(status int, cause string) {
	s.Metrics.outcome(fmt.Sprintf("refused-%d", status))
	s.Metrics.refused(cause)
}

// routeCause names why the routing table refused a call.
func routeCause(d route.Decision) string {
	switch {
	case d.Status == 403:
		return "stranger"
	case d.Status == 404:
		return "unknown-number"
	case d.Flow != "":
		return "flow-disabled"
	}
	return "no-flow"
}

func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if req.To() != nil && req.To().Params.Has("tag") {
		// A re-INVITE: it belongs to a call in progress, never to a route.
		if d := s.dialogs.Match(req); d != nil {
			d.HandleRequest(req, tx)
			return
		}
		s.dialogs.Respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	if !s.begin() {
		s.refuse(tx, req, sip.StatusServiceUnavailable, "Shutting Down", "shutting-down")
		return
	}
	defer s.calls.Done()
	live := s.live.Load()
	if live == nil {
		s.refuse(tx, req, sip.StatusServiceUnavailable, "No Configuration Is Live", "no-configuration")
		return
	}
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		s.refuse(tx, req, sip.StatusBadRequest, "Bad Request", "bad-request")
		return
	}
	started := time.Now()
	d := live.Table.Route(src.Addr(), req.Recipient.User)
	if d.Status == 403 && s.outgoing(live) {
		// Not from a trunk: a user's phone calling out, or a stranger.
		s.onOutbound(req, tx, live, src)
		return
	}
	if d.Status != 0 {
		s.log.Info("call refused", "from", src, "to", req.Recipient.User, "status", d.Status, "reason", d.Reason)
		s.refuse(tx, req, d.Status, d.Reason, routeCause(d))
		return
	}
	prog := live.Programs[d.Flow]
	if prog == nil {
		s.refuse(tx, req, sip.StatusInternalServerError, "Flow Not Loaded", "flow-not-loaded")
		return
	}
	dlg, err := s.dialogs.Accept(req, tx)
	if err != nil {
		s.Metrics.outcome("refused-invalid")
		s.Metrics.refused("invalid-invite")
		return // Accept answered it
	}
	defer dlg.Close()
	conn, port, err := s.ports.listen()
	if err != nil {
		s.log.Error("no RTP port", "err", err)
		s.counted(503, "no-media-port")
		dlg.Reject(sip.StatusServiceUnavailable, "No Media Port")
		return
	}
	defer conn.Close()
	sdp := media.NewSession(netip.AddrPortFrom(s.opts.advertise, uint16(port)))
	lateOffer := len(req.Body()) == 0
	var body []byte
	var neg media.Negotiated
	if lateOffer {
		body = sdp.Offer() // the answer comes in the ACK
	} else if body, neg, err = sdp.Answer(req.Body()); err != nil {
		status, reason, cause := sip.StatusBadRequest, "Bad Request", "bad-sdp"
		switch {
		case errors.Is(err, media.ErrNoCommonCodec):
			status, reason, cause = 488, "Not Acceptable Here", "no-common-codec"
		case errors.Is(err, media.ErrAddressFamily):
			status, reason, cause = 488, "Not Acceptable Here", "address-family"
		}
		s.log.Info("call refused", "from", src, "status", status, "err", err)
		s.counted(status, cause)
		dlg.Reject(status, reason, sip.NewHeader("Warning", fmt.Sprintf("399 callflow %q", err.Error())))
		return
	}

	// The call's ID is ours, not the SIP Call-ID: that one is chosen by
	// the far end, and a repeated one must not reuse a call's ledger keys
	// or overwrite its record.
	callID := newCallID()
	sipCallID := ""
	if h := req.CallID(); h != nil {
		sipCallID = h.Value()
	}
	log := s.log.With("call", callID, "sip_call_id", sipCallID, "flow", d.Flow, "number", d.Number)

	// The call ends when the caller hangs up or cancels (the dialog's
	// context), when Begin's stop is called, or when the server stops.
	ctx, cancel := context.WithCancelCause(s.ctx)
	defer cancel(nil)
	defer context.AfterFunc(dlg.Context(), func() { cancel(context.Cause(dlg.Context())) })()
	var hooks []vm.Hook
	end := func(vm.Effect, error) {}
	from := ""
	if f := req.From(); f != nil {
		from = f.Address.User
	}
	if live.Begin != nil {
		h, e, late, err := s.beginCall(ctx, live, CallInfo{ID: callID, From: from, Number: d.Number, Flow: d.Flow}, cancel, log)
		var refused *ErrRefused
		switch {
		case errors.As(err, &refused):
			log.Info("call refused", "status", refused.Status, "reason", refused.Reason)
			cause := fmt.Sprintf("refused-%d", refused.Status)
			if refused.Status == 402 {
				cause = "no-credits"
			}
			s.counted(refused.Status, cause)
			dlg.Reject(refused.Status, refused.Reason)
			return
		case errors.Is(err, errStoreTimeout):
			log.Error("call refused: the store did not answer in time", "timeout", s.beginTimeout())
			s.Metrics.Errors.Add(1)
			s.counted(503, "store-timeout")
			dlg.Reject(sip.StatusServiceUnavailable, "Service Unavailable", sip.NewHeader("Retry-After", "5"))
			late()
			return
		case err != nil:
			log.Error("call not begun", "err", err)
			s.Metrics.Errors.Add(1)
			s.counted(500, "server-error")
			dlg.Reject(sip.StatusInternalServerError, "Server Error")
			return
		}
		hooks, end = h, e
	}
	keys := make(chan byte, 16)
	sess := &session.Session{
		Conn: conn, Remote: net.UDPAddrFromAddrPort(neg.Remote), Codec: neg.PayloadType, DTMFType: neg.DTMFType,
		Sources: s.sources(neg.Remote.Addr(), src.Addr()), Pacer: &s.pacer,
		Prompt: live.Prompt, Keys: keys, Sent: &s.Metrics.PacketsSent, Received: &s.Metrics.PacketsReceived,
		Record: func() (session.Recorder, error) {
			if live.Record == nil {
				return &nowhere{}, nil
			}
			return live.Record(callID)
		},
	}

	var calling *agents.Call
	if live.Agents != nil {
		domain := live.Domain
		if domain == "" {
			domain = s.opts.advertise.String()
		}
		cfg := agents.CallConfig{ID: callID, From: from, Domain: domain, Directory: live.Agents}
		for _, h := range hooks {
			if r, ok := h.(agents.Report); ok {
				cfg.Report = r
			}
		}
		if live.RecordBridge != nil {
			cfg.Record = func() (agents.Recorder, error) { return live.RecordBridge(callID) }
		}
		calling = s.agents.Call(cfg)
		calling.Codec = neg.PayloadType
		defer calling.Close()
		sess.Agents = calling
	}

	s.Metrics.answered(time.Since(started))
	// Offers and INFO in the dialog reach the call from its answer on.
	// After a late offer, an offer waits for calls.mu until the ACK's
	// answer has settled the session below (none may come before it: the
	// offer/answer exchange is not over until then).
	calls := &callDialog{sdp: sdp, sess: sess, keys: keys}
	dlg.SetHandler(calls)
	if lateOffer {
		calls.mu.Lock()
	}
	ack, err := dlg.Answer(ctx, body)
	if err == nil && lateOffer {
		if neg, err = sdp.ReadAnswer(ack.Body()); err != nil {
			log.Info("the ACK has no answer to our offer that we can use; hanging up", "err", err)
			byeCtx, byeCancel := context.WithTimeout(context.Background(), 5*time.Second)
			dlg.Bye(byeCtx)
			byeCancel()
			err = fmt.Errorf("%w: %v", ErrNotConfirmed, err)
		} else {
			sess.Codec, sess.DTMFType = neg.PayloadType, neg.DTMFType
			if calling != nil {
				calling.Codec = neg.PayloadType
			}
			sess.Remote = net.UDPAddrFromAddrPort(neg.Remote)
			sess.Sources = s.sources(neg.Remote.Addr(), src.Addr())
		}
	}
	if lateOffer {
		calls.mu.Unlock()
	}
	if err != nil {
		// Never confirmed: nothing is charged, and the record says why.
		cause := err
		final := vm.Effect{Kind: vm.EffectHangup, Reason: vm.ReasonStopped}
		switch {
		case errors.Is(err, dialog.ErrBye):
			// Its BYE overtook its ACK: the caller hung up at once.
			cause, final.Reason = nil, vm.ReasonCallerHungUp
		case errors.Is(err, dialog.ErrCancelled):
			cause = ErrCallerCancelled
		case errors.Is(err, dialog.ErrNoACK), errors.Is(err, ErrNotConfirmed):
			cause = ErrNotConfirmed
		case errors.Is(context.Cause(ctx), ErrServerStopped):
			cause = ErrServerStopped
		default:
			log.Error("answer failed", "err", err)
			s.Metrics.Errors.Add(1)
		}
		end(final, cause)
		s.Metrics.outcome(Ending(final, cause))
		log.Info("call not confirmed", "cause", cause)
		return
	}
	s.Metrics.CallsActive.Add(1)
	confirmed := time.Now()
	sess.Hooks = append(hooks, stepCounter{&s.Metrics.VMSteps})
	log.Info("call answered", "from", src)
	final, err := sess.Run(ctx, prog)
	if err != nil {
		log.Error("call failed", "err", err)
		s.Metrics.Errors.Add(1)
	}
	// A session ends as if the caller hung up whenever its context is
	// cancelled; the cause tells who really ended the call.
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, dialog.ErrBye), errors.Is(cause, dialog.ErrCancelled):
		cause = nil
	case errors.Is(cause, dialog.ErrSessionExpired):
		final.Reason = vm.ReasonCallerHungUp // the caller went away without a word
	case cause != nil && final.Reason == vm.ReasonCallerHungUp:
		final.Reason = vm.ReasonStopped
	case cause == nil && final.Reason == vm.ReasonStopped:
		cause = sess.Stopped
	}
	s.Metrics.CallsActive.Add(-1) // before end: whoever sees the record sees the gauge down
	s.Metrics.lasted(time.Since(confirmed))
	end(final, cause)
	s.Metrics.outcome(Ending(final, cause))
	if final.Reason != vm.ReasonCallerHungUp && dlg.Context().Err() == nil {
		byeCtx, byeCancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := dlg.Bye(byeCtx); err != nil {
			log.Warn("BYE failed", "err", err)
		}
		byeCancel()
	}
	if cause != nil {
		log.Info("call ended", "reason", final.Reason.String(), "cause", cause)
	} else {
		log.Info("call ended", "reason", final.Reason.String())
	}
}

// nowhere records a message that is never kept: a Live with no Record.
type nowhere struct{ frames int }

func (nowhere) Write([]int16) error { return nil }
func (nowhere) Seconds() float64    { return 0 }
func (nowhere) Keep() (bool, error) { return false, nil }
func (nowhere) Discard()            {}

// sources are the hosts a call's first RTP packet may come from: the
// SDP's and the signalling's; nil, for any, WithMediaFromAnywhere.
func (s *Server) sources(hosts ...netip.Addr) []netip.Addr {
	if s.opts.anySource {
		return nil
	}
	return hosts
}

// errStoreTimeout is Begin not returning within BeginTimeout.
var errStoreTimeout = errors.New("the store did not answer in time")

func (s *Server) beginTimeout() time.Duration { return s.opts.beginTimeout }

// beginCall runs live.Begin within BeginTimeout. When Begin is late, it
// returns errStoreTimeout at the deadline and leaves Begin running; the
// INVITE's goroutine then refuses the call and calls late, which waits
// for Begin and ends what it started, so that nothing is left behind.
func (s *Server) beginCall(ctx context.Context, live *Live, info CallInfo, stop func(error), log *slog.Logger) (hooks []vm.Hook, end func(vm.Effect, error), late func(), err error) {
	type begun struct {
		hooks []vm.Hook
		end   func(vm.Effect, error)
		err   error
	}
	// The caller's CANCEL does not cut Begin short: the call is refused
	// once it returns (the store's work is short, or it is late).
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.beginTimeout())
	done := make(chan begun, 1)
	go func() {
		defer cancel()
		h, e, err := live.Begin(bctx, info, stop)
		done <- begun{h, e, err}
	}()
	select {
	case r := <-done:
		return r.hooks, r.end, nil, r.err
	case <-bctx.Done():
		// Begin's own return cancels bctx too, right after it sends on
		// done: a Begin that returned in time is taken, however late this
		// goroutine woke to see it.
		select {
		case r := <-done:
			return r.hooks, r.end, nil, r.err
		default:
		}
		return nil, nil, func() {
			if r := <-done; r.err == nil {
				r.end(vm.Effect{Kind: vm.EffectHangup, Reason: vm.ReasonStopped}, errStoreTimeout)
				log.Warn("a call refused because the store was slow was begun after all; it is closed")
			}
		}, errStoreTimeout
	}
}

// callDialog takes what arrives in a call's dialog: new offers (hold,
// resume, a new address) and keys sent as SIP INFO.
type callDialog struct {
	mu   sync.Mutex // one offer at a time
	sdp  *media.Session
	sess *session.Session
	keys chan byte
}

func (c *callDialog) Offer(offer []byte) ([]byte, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(offer) == 0 {
		return c.sdp.Offer(), 0 // the answer comes in the ACK
	}
	answer, n, err := c.sdp.Answer(offer)
	if err != nil {
		return nil, 488
	}
	c.sess.Renegotiate(n)
	return answer, 0
}

func (c *callDialog) Answer(answer []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, err := c.sdp.ReadAnswer(answer); err == nil {
		c.sess.Renegotiate(n)
	}
}

// Info takes keys sent as SIP INFO (application/dtmf-relay).
func (c *callDialog) Info(_ string, body []byte) {
	for _, line := range strings.Split(string(body), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		if strings.EqualFold(strings.TrimSpace(k), "Signal") {
			if v = strings.TrimSpace(v); len(v) == 1 && strings.Contains("0123456789*#", v) {
				select {
				case c.keys <- v[0]:
				default:
				}
			}
		}
	}
}

// portPool hands out RTP ports from a range.
type portPool struct {
	ip     netip.Addr
	lo, hi int
	mu     sync.Mutex
	next   int
}

func newPortPool(ip netip.Addr, lo, hi int) *portPool {
	return &portPool{ip: ip, lo: lo, hi: hi, next: lo}
}

// listen binds the next free port of the range.
func (p *portPool) listen() (net.PacketConn, int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for tries := 0; tries <= p.hi-p.lo; tries++ {
		port := p.next
		p.next++
		if p.next > p.hi {
			p.next = p.lo
		}
		conn, err := net.ListenPacket("udp", netip.AddrPortFrom(p.ip, uint16(port)).String())
		if err == nil {
			return conn, port, nil
		}
	}
	return nil, 0, fmt.Errorf("every RTP port from %d to %d is in use", p.lo, p.hi)
}

// PathHook records the states a call passes, for its record.
type PathHook struct {
	Program *vm.Program
	mu      sync.Mutex
	path    []string
}

// OnEffect implements vm.Hook.
func (h *PathHook) OnEffect(_ *vm.Machine, e *vm.Effect) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	ref := h.Program.States[e.State].Ref
	if len(h.path) == 0 || h.path[len(h.path)-1] != ref {
		h.path = append(h.path, ref)
	}
	return nil
}

// OnResult implements vm.Hook.
func (h *PathHook) OnResult(*vm.Machine, *vm.Effect, vm.Result) error { return nil }

// Path returns the states passed so far.
func (h *PathHook) Path() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.path...)
}
