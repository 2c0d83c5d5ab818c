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
	// Save keeps a voicemail message; nil keeps none.
	Save func(callID string, a prompt.Audio) (bool, error)
	// Begin, when set, is called before a call is answered: it returns
	// the call's hooks (the meter, the record) and a function to call when
	// the call ends, or an error to refuse the call with (ErrRefused says
	// how). stop ends the call early with a cause, for example when
	// credits run out; the server hangs up.
	//
	// end gets the effect that ended the call and its cause: nil when the
	// flow or the caller ended it, ErrServerStopped when the server hung
	// up at shutdown, or the error given to stop.
	Begin func(c CallInfo, stop func(cause error)) (hooks []vm.Hook, end func(final vm.Effect, cause error), err error)
}

// ErrServerStopped is the cause of a call the server hung up because it
// was shutting down and the grace period was over.
var ErrServerStopped = errors.New("server stopped")

// Ending names how a call ended, for its record and the metrics: the
// flow's hang-up reason, or server-stopped when the server hung up.
func Ending(final vm.Effect, cause error) string {
	if errors.Is(cause, ErrServerStopped) {
		return "server-stopped"
	}
	return final.Reason.String()
}

// errCallerHungUp cancels a call whose caller hung up.
var errCallerHungUp = errors.New("caller hung up")

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

// Server answers SIP calls (UDP) on the organisation's numbers and runs
// each one's flow in a session. Create it with NewServer, give it a Live
// with Load, and run it with Serve.
type Server struct {
	log     *slog.Logger
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	dialogs *sipgo.DialogServerCache
	rtpIP   netip.Addr
	ports   *portPool

	// Metrics counts calls, machine steps, packets and errors.
	Metrics Metrics

	live   atomic.Pointer[Live]
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu       sync.Mutex
	draining bool                 // guarded by mu; no call begins once set
	calls    sync.WaitGroup       // one per INVITE being handled; Add under mu
	info     map[string]chan byte // SIP INFO keys, by dialog id; guarded by mu
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

// NewServer makes a server that will answer on addr (its host is also
// where RTP is received) with RTP ports in [lo, hi].
func NewServer(addr netip.AddrPort, lo, hi int, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("callflow"), sipgo.WithUserAgentHostname(addr.Addr().String()))
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
	contact := sip.ContactHeader{Address: sip.Uri{Host: addr.Addr().String(), Port: int(addr.Port())}}
	s := &Server{
		log: log, ua: ua, srv: srv, dialogs: sipgo.NewDialogServerCache(client, contact),
		rtpIP: addr.Addr(), ports: newPortPool(addr.Addr(), lo, hi), info: map[string]chan byte{},
	}
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	srv.OnInvite(s.onInvite)
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { s.dialogs.ReadAck(req, tx) })
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := s.dialogs.ReadBye(req, tx); err != nil {
			tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		}
	})
	srv.OnInfo(s.onInfo)
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	})
	return s, nil
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

// refuse answers an INVITE with a final status and counts the outcome.
func (s *Server) refuse(tx sip.ServerTransaction, req *sip.Request, status int, reason string) {
	s.Metrics.outcome(fmt.Sprintf("refused-%d", status))
	respond(tx, req, status, reason)
}

func respond(tx sip.ServerTransaction, req *sip.Request, status int, reason string) {
	tx.Respond(sip.NewResponseFromRequest(req, status, reason, nil))
}

func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if !s.begin() {
		s.refuse(tx, req, sip.StatusServiceUnavailable, "Shutting Down")
		return
	}
	defer s.calls.Done()
	live := s.live.Load()
	if live == nil {
		s.refuse(tx, req, sip.StatusServiceUnavailable, "No Configuration Is Live")
		return
	}
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		s.refuse(tx, req, sip.StatusBadRequest, "Bad Source")
		return
	}
	d := live.Table.Route(src.Addr(), req.Recipient.User)
	if d.Status != 0 {
		s.log.Info("call refused", "from", src, "to", req.Recipient.User, "status", d.Status, "reason", d.Reason)
		s.refuse(tx, req, d.Status, d.Reason)
		return
	}
	prog := live.Programs[d.Flow]
	if prog == nil {
		s.refuse(tx, req, sip.StatusInternalServerError, "Flow Not Loaded")
		return
	}
	conn, port, err := s.ports.listen()
	if err != nil {
		s.log.Error("no RTP port", "err", err)
		s.refuse(tx, req, sip.StatusServiceUnavailable, "No Media Port")
		return
	}
	defer conn.Close()
	answer, neg, err := media.Answer(req.Body(), netip.AddrPortFrom(s.rtpIP, uint16(port)))
	if err != nil {
		status := sip.StatusBadRequest
		if errors.Is(err, media.ErrNoCommonCodec) {
			status = 488
		}
		s.refuse(tx, req, status, "Not Acceptable Here")
		return
	}
	dlg, err := s.dialogs.ReadInvite(req, tx)
	if err != nil {
		s.refuse(tx, req, sip.StatusBadRequest, "Bad Request")
		return
	}
	defer dlg.Close()

	// The call's ID is ours, not the SIP Call-ID: that one is chosen by
	// the far end, and a repeated one must not reuse a call's ledger keys
	// or overwrite its record.
	callID := newCallID()
	sipCallID := ""
	if h := req.CallID(); h != nil {
		sipCallID = h.Value()
	}
	log := s.log.With("call", callID, "sip_call_id", sipCallID, "flow", d.Flow, "number", d.Number)

	// The call ends when the caller hangs up (the dialog's context), when
	// Begin's stop is called, or when the server stops.
	ctx, cancel := context.WithCancelCause(s.ctx)
	defer cancel(nil)
	var hooks []vm.Hook
	end := func(vm.Effect, error) {}
	if live.Begin != nil {
		from := ""
		if f := req.From(); f != nil {
			from = f.Address.User
		}
		h, e, err := live.Begin(CallInfo{ID: callID, From: from, Number: d.Number, Flow: d.Flow}, cancel)
		var refused *ErrRefused
		switch {
		case errors.As(err, &refused):
			log.Info("call refused", "status", refused.Status, "reason", refused.Reason)
			s.Metrics.outcome(fmt.Sprintf("refused-%d", refused.Status))
			dlg.Respond(refused.Status, refused.Reason, nil)
			return
		case err != nil:
			log.Error("call not begun", "err", err)
			s.Metrics.Errors.Add(1)
			s.Metrics.outcome("refused-500")
			dlg.Respond(sip.StatusInternalServerError, "Server Error", nil)
			return
		}
		hooks, end = h, e
	}
	if err := dlg.RespondSDP(answer); err != nil {
		log.Error("answer failed", "err", err)
		s.Metrics.Errors.Add(1)
		s.Metrics.outcome("answer-failed")
		end(vm.Effect{Kind: vm.EffectHangup, Reason: vm.ReasonStopped}, err) // the meter stops, the record closes
		return
	}
	s.Metrics.CallsActive.Add(1)
	keys := make(chan byte, 16)
	s.mu.Lock()
	s.info[dlg.ID] = keys
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.info, dlg.ID)
		s.mu.Unlock()
	}()

	defer context.AfterFunc(dlg.Context(), func() { cancel(errCallerHungUp) })()
	sess := &session.Session{
		Conn: conn, Remote: net.UDPAddrFromAddrPort(neg.Remote), Codec: neg.PayloadType, DTMFType: neg.DTMFType,
		Prompt: live.Prompt, Keys: keys, Sent: &s.Metrics.PacketsSent, Received: &s.Metrics.PacketsReceived,
		Save: func(a prompt.Audio) (bool, error) {
			if live.Save == nil {
				return false, nil
			}
			return live.Save(callID, a)
		},
	}
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
	case errors.Is(cause, errCallerHungUp):
		cause = nil
	case cause != nil && final.Reason == vm.ReasonCallerHungUp:
		final.Reason = vm.ReasonStopped
	case cause == nil && final.Reason == vm.ReasonStopped:
		cause = sess.Stopped
	}
	s.Metrics.CallsActive.Add(-1) // before end: whoever sees the record sees the gauge down
	end(final, cause)
	s.Metrics.outcome(Ending(final, cause))
	if final.Reason != vm.ReasonCallerHungUp && dlg.Context().Err() == nil {
		byeCtx, byeCancel := context.WithTimeout(context.Background(), 5e9)
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

// onInfo takes keys sent as SIP INFO (application/dtmf-relay).
func (s *Server) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	id, err := sip.DialogIDFromRequestUAS(req)
	s.mu.Lock()
	keys, ok := s.info[id]
	s.mu.Unlock()
	if err != nil || !ok {
		respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	for _, line := range strings.Split(string(req.Body()), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		if strings.EqualFold(strings.TrimSpace(k), "Signal") {
			if v = strings.TrimSpace(v); len(v) == 1 && strings.Contains("0123456789*#", v) {
				select {
				case keys <- v[0]:
				default:
				}
			}
		}
	}
	respond(tx, req, sip.StatusOK, "OK")
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
