// Package dialog is SIP INVITE dialogs on sipgo's transactions, on both
// sides of a call.
//
// The answering side (UAS): one To-tag for every response, exactly one
// final response to each INVITE however a CANCEL races it, the 2xx
// repeated over UDP until its ACK, an offer in the 200 OK when the INVITE
// had none (the answer then comes in the ACK), session timers (RFC 4028).
//
// The calling side (UAC), for ringing agents' phones: an INVITE to one
// phone (through the address it registered from, on the TCP connection it
// registered on), its provisional responses, CANCEL (RFC 3261 §9.1, also
// when a 2xx crosses it), the ACK of a 2xx (and of its retransmissions),
// and a 2xx from a second fork hung up. Ringing several phones is several
// INVITEs, whose caller bridges the first answer and cancels the rest.
//
// Either way, the Dialog that results takes in-dialog re-INVITE, UPDATE
// and INFO and hands them to the call's Handler, ends on the far end's
// BYE, and sends requests of our own (BYE, refreshes) along the route
// set to the remote target.
//
// The entry point is a Set: Set.Accept makes a Dialog of a new INVITE,
// Set.Invite sends one and returns an Outgoing, whose Wait returns the
// Dialog of its answer, and Set.Match finds the dialog of an in-dialog
// request, on either side. A Dialog's and an Outgoing's methods are safe
// for concurrent use.
package dialog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Methods is what callflow answers, for Allow headers.
const Methods = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE"

// Extensions is what callflow supports, for Supported headers.
const Extensions = "timer"

// Errors a dialog ends or fails with.
var (
	// ErrCancelled: the caller cancelled the INVITE before it was
	// answered. On the calling side (Outgoing.Wait) the caller is us: we
	// cancelled it (the messages say "the caller" for the UAS's logs).
	ErrCancelled = errors.New("the caller cancelled the call")
	// ErrNoACK: the 200 OK was never acknowledged.
	ErrNoACK = errors.New("the 200 OK was never acknowledged")
	// ErrBye: the far end hung up (BYE): the caller, or the phone we
	// rang.
	ErrBye = errors.New("the caller hung up")
	// ErrSessionExpired: the far end did not refresh the session in
	// time, or our refresh failed.
	ErrSessionExpired = errors.New("the session expired: the caller did not refresh it")
	// ErrEnded: the dialog was ended from our side.
	ErrEnded = errors.New("the call ended")
)

// MinSE is the smallest session interval accepted by default (RFC
// 4028's minimum).
const MinSE = 90

// Config is what a Set's dialogs share.
type Config struct {
	// Client sends our requests in a dialog (BYE, refreshes).
	Client *sipgo.Client
	// Host and Port are what our Contact names.
	Host string
	Port int
	// Agent names us in Server and User-Agent headers.
	Agent string
	// OnResponse, when set, is told the status of every response sent
	// (not of retransmissions), for metrics.
	OnResponse func(status int)
	// MinSE is the smallest session interval accepted, in seconds: MinSE
	// by default.
	MinSE int
	// ACKTimeout is how long a 2xx waits for its ACK: 64*T1 (32 s) by
	// default.
	ACKTimeout time.Duration
}

// A Set holds the dialogs in progress, by dialog ID.
type Set struct {
	cfg     Config
	dialogs sync.Map // dialog ID → *Dialog
}

// NewSet makes a set of dialogs.
func NewSet(cfg Config) *Set {
	if cfg.ACKTimeout == 0 {
		cfg.ACKTimeout = 64 * sip.T1
	}
	if cfg.MinSE == 0 {
		cfg.MinSE = MinSE
	}
	return &Set{cfg: cfg}
}

// Handler is how a call takes the offers that arrive in its dialog. Its
// methods are called on the goroutine of the request that carries them,
// one request at a time per dialog; they must not block for long.
type Handler interface {
	// Offer takes an offer of a re-INVITE or UPDATE and returns the
	// answer, or a SIP status (488) to refuse it with. An empty offer
	// (a re-INVITE without SDP) asks for ours: return it, and the answer
	// arrives with Answer.
	Offer(offer []byte) (answer []byte, status int)
	// Answer takes the answer to an offer of ours, from an ACK.
	Answer(answer []byte)
	// Info takes an INFO request's body and content type.
	Info(contentType string, body []byte)
}

// Dialog is one INVITE dialog, on either side: Set.Accept makes one of
// an INVITE that arrives (we are its UAS), and Outgoing.Wait returns one
// of an INVITE of ours that was answered (we are its UAC). Both take and
// send in-dialog requests alike. A dialog is removed from its set when it
// ends.
type Dialog struct {
	ID     string
	set    *Set
	invite *sip.Request // the INVITE, with our To-tag; nil when we sent it
	tx     sip.ServerTransaction
	// role is the part we took in the INVITE: "uas" or "uac", as in
	// RFC 4028's refresher parameter.
	role      string
	callID    sip.CallIDHeader
	local     *sip.FromHeader // us, with our tag, as the From of our requests
	remote    *sip.ToHeader   // the far end, with its tag, as the To of our requests
	transport string
	// dest is where our requests go when no route set says otherwise
	// (the caller's source, the phone's registered address); "" for the
	// remote target's host:port.
	dest string
	// laddr is the local address our requests go from: zero (sipgo's
	// choice) but for a dialog of ours over UDP.
	laddr  sip.Addr
	ctx    context.Context
	cancel context.CancelCauseFunc
	tasks  sync.WaitGroup // the session timer, re-INVITEs waiting for their ACK; Close waits

	mu         sync.Mutex
	answered   bool              // guarded by mu: a 2xx was sent
	confirmed  bool              // guarded by mu: its ACK arrived
	ended      bool              // guarded by mu
	handler    Handler           // guarded by mu
	remoteCSeq uint32            // guarded by mu: the highest CSeq from the caller
	localCSeq  uint32            // guarded by mu
	target     sip.Uri           // guarded by mu: the caller's Contact
	routes     []string          // guarded by mu: the route set (Record-Route values)
	ackWait    uint32            // guarded by mu: CSeq of a 2xx waiting for its ACK, 0 for none
	ackDone    chan struct{}     // guarded by mu: closed when ackWait goes back to 0
	acked      chan *sip.Request // the ACK of ackWait
	expires    int               // guarded by mu: session interval, 0 for none
	refresher  string            // guarded by mu: "uac" or "uas"
	refreshed  chan struct{}     // a refresh arrived
}

// Accept makes the dialog of a new INVITE. From here on, a CANCEL of the
// INVITE ends the dialog's context with ErrCancelled, and a final
// response that has not been sent is never sent. It answers the INVITE
// itself, and returns an error, when the INVITE cannot start a dialog
// (no Contact, Call-ID or CSeq: 400; a session interval below MinSE: 422).
func (s *Set) Accept(req *sip.Request, tx sip.ServerTransaction) (*Dialog, error) {
	if req.Contact() == nil || req.CallID() == nil || req.CSeq() == nil || req.From() == nil || req.To() == nil {
		s.Respond(tx, req, 400, "Bad Request", sip.NewHeader("Warning", `399 callflow "an INVITE needs From, To, Call-ID, CSeq and Contact"`))
		return nil, errors.New("INVITE without From, To, Call-ID, CSeq or Contact")
	}
	invite := req.Clone()
	invite.To().Params.Add("tag", sip.GenerateTagN(16))
	id, err := sip.DialogIDFromRequestUAS(invite)
	if err != nil {
		s.Respond(tx, req, 400, "Bad Request")
		return nil, err
	}
	local, remote := invite.To().AsFrom(), invite.From().AsTo()
	d := &Dialog{
		ID: id, set: s, invite: invite, tx: tx, target: req.Contact().Address,
		role: "uas", callID: *invite.CallID(), local: &local, remote: &remote,
		transport: invite.Transport(), dest: invite.Source(),
		remoteCSeq: req.CSeq().SeqNo, localCSeq: 1,
		acked: make(chan *sip.Request, 1), refreshed: make(chan struct{}, 1),
	}
	for _, h := range req.GetHeaders("Record-Route") {
		d.routes = append(d.routes, h.Value())
	}
	if se := req.GetHeader("Session-Expires"); se != nil {
		n, refresher, ok := parseSessionExpires(se.Value())
		switch {
		case !ok:
			s.Respond(tx, req, 400, "Bad Request", sip.NewHeader("Warning", `399 callflow "Session-Expires does not parse"`))
			return nil, errors.New("Session-Expires does not parse")
		case n < s.cfg.MinSE:
			s.Respond(tx, req, 422, "Session Interval Too Small", sip.NewHeader("Min-SE", strconv.Itoa(s.cfg.MinSE)))
			return nil, fmt.Errorf("session interval %d s is below %d s", n, s.cfg.MinSE)
		}
		d.expires, d.refresher = n, refresher
		if d.refresher == "" {
			d.refresher = "uac"
		}
		if !supports(req, "timer") {
			// A caller that does not support timers cannot refresh: we do.
			d.refresher = "uas"
		}
	}
	d.ctx, d.cancel = context.WithCancelCause(context.Background())
	// sipgo keeps the INVITE's transaction for 64·T1 (32 s) after its
	// 2xx (RFC 6026's Accepted state), and with it this callback: let it
	// hold the dialog's cancel alone, not the dialog and, through its
	// handler, the whole call.
	cancel := d.cancel
	if !tx.OnCancel(func(*sip.Request) { cancel(ErrCancelled) }) {
		return nil, ErrCancelled
	}
	s.dialogs.Store(id, d)
	return d, nil
}

// Match returns the dialog of an in-dialog request, or nil.
func (s *Set) Match(req *sip.Request) *Dialog {
	id, err := sip.DialogIDFromRequestUAS(req)
	if err != nil {
		return nil
	}
	if d, ok := s.dialogs.Load(id); ok {
		return d.(*Dialog)
	}
	return nil
}

// Respond answers a request outside any dialog, with our Server header.
func (s *Set) Respond(tx sip.ServerTransaction, req *sip.Request, status int, reason string, headers ...sip.Header) error {
	res := sip.NewResponseFromRequest(req, status, reason, nil)
	s.decorate(res, status)
	for _, h := range headers {
		res.AppendHeader(h)
	}
	return tx.Respond(res)
}

// decorate adds the headers every response of ours carries.
func (s *Set) decorate(res *sip.Response, status int) {
	if s.cfg.OnResponse != nil {
		s.cfg.OnResponse(status)
	}
	if s.cfg.Agent != "" {
		res.AppendHeader(sip.NewHeader("Server", s.cfg.Agent))
	}
	if status == 405 || status/100 == 2 {
		res.AppendHeader(sip.NewHeader("Allow", Methods))
	}
	if status/100 == 2 {
		res.AppendHeader(sip.NewHeader("Supported", Extensions))
	}
}

// Context is done when the dialog ends; its cause says why (ErrBye,
// ErrCancelled, ErrNoACK, ErrSessionExpired, ErrEnded).
func (d *Dialog) Context() context.Context { return d.ctx }

// SetHandler sets who takes the offers and INFO that arrive in the
// dialog; until it is set, offers are refused with 500 (and Retry-After)
// and INFO with 481.
func (d *Dialog) SetHandler(h Handler) {
	d.mu.Lock()
	d.handler = h
	d.mu.Unlock()
}

// Reject sends a final response of 300 or more and ends the dialog. It
// does nothing when the INVITE was cancelled (its 487 went out already).
func (d *Dialog) Reject(status int, reason string, headers ...sip.Header) error {
	defer d.end(ErrEnded)
	if d.invite == nil {
		return errOurs
	}
	if d.ctx.Err() != nil {
		return context.Cause(d.ctx)
	}
	res := sip.NewResponseFromRequest(d.invite, status, reason, nil)
	d.set.decorate(res, status)
	for _, h := range headers {
		res.AppendHeader(h)
	}
	return d.tx.Respond(res)
}

// Answer sends 200 OK with sdp (our answer, or our offer when the INVITE
// had none) and waits for its ACK, repeating the 200 over UDP. It returns
// the ACK, which carries the answer to an offer of ours. When the INVITE
// was cancelled first, the 200 is not sent and Answer returns
// ErrCancelled; when no ACK arrives within the ACK time-out, ErrNoACK, and
// the dialog has ended. ctx bounds the wait too.
func (d *Dialog) Answer(ctx context.Context, sdp []byte) (*sip.Request, error) {
	if d.invite == nil {
		return nil, errOurs
	}
	res := d.ok(d.invite, sdp)
	if d.expires > 0 {
		res.AppendHeader(sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=%s", d.expires, d.refresher)))
		if d.refresher == "uac" {
			res.AppendHeader(sip.NewHeader("Require", "timer"))
		}
	}
	d.mu.Lock()
	if d.ended {
		d.mu.Unlock()
		return nil, context.Cause(d.ctx)
	}
	d.answered = true
	d.awaitACK(d.invite.CSeq().SeqNo)
	d.mu.Unlock()
	// The transaction takes the 200 only while the INVITE is pending: a
	// CANCEL it processed first made it answer 487, and it refuses this.
	if err := d.tx.Respond(res); err != nil {
		if errors.Is(err, sip.ErrTransactionCanceled) || errors.Is(context.Cause(d.ctx), ErrCancelled) {
			d.end(ErrCancelled)
			return nil, ErrCancelled
		}
		d.end(ErrEnded)
		return nil, err
	}
	ack, err := d.waitACK(ctx, d.tx, res)
	if err != nil {
		d.end(err)
		return nil, err
	}
	d.mu.Lock()
	d.confirmed = true
	timed := d.expires > 0
	d.mu.Unlock()
	if timed {
		d.tasks.Go(d.sessionTimer)
	}
	return ack, nil
}

// ok builds a 200 OK for req with our tag, Contact and sdp.
func (d *Dialog) ok(req *sip.Request, sdp []byte) *sip.Response {
	res := sip.NewResponseFromRequest(req, 200, "OK", sdp)
	if to := res.To(); to != nil {
		to.Params.Add("tag", d.localTag())
	}
	res.AppendHeader(d.contact())
	if len(sdp) > 0 {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	d.set.decorate(res, 200)
	return res
}

// errOurs: Answer and Reject are for the INVITEs that we received.
var errOurs = errors.New("dialog: a dialog of an INVITE we sent cannot be answered or rejected")

func (d *Dialog) localTag() string {
	t, _ := d.local.Params.Get("tag")
	return t
}

// contact is our Contact: over TCP it says so, so that the caller's ACK
// and later requests come back over TCP.
func (d *Dialog) contact() *sip.ContactHeader { return d.set.contact(d.transport) }

// contact is our Contact for a dialog over transport.
func (s *Set) contact(transport string) *sip.ContactHeader {
	c := &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: s.cfg.Host, Port: s.cfg.Port}}
	if t := strings.ToLower(transport); t != "" && t != "udp" {
		c.Address.UriParams = sip.NewParams()
		c.Address.UriParams.Add("transport", t)
	}
	return c
}

// waitACK waits for the ACK of the 2xx res, sending res again over UDP at
// T1, 2·T1, … up to T2 (RFC 3261 §13.3.1.4).
func (d *Dialog) waitACK(ctx context.Context, tx sip.ServerTransaction, res *sip.Response) (*sip.Request, error) {
	deadline := time.NewTimer(d.set.cfg.ACKTimeout)
	defer deadline.Stop()
	interval := sip.T1
	resend := time.NewTimer(interval)
	defer resend.Stop()
	reliable := sip.IsReliable(d.transport)
	for {
		select {
		case ack := <-d.acked:
			return ack, nil
		case <-resend.C:
			if !reliable {
				tx.Respond(res) // the transaction passes a 2xx on while it is Accepted
			}
			interval = min(2*interval, sip.T2)
			resend.Reset(interval)
		case <-deadline.C:
			return nil, ErrNoACK
		case <-d.ctx.Done():
			return nil, context.Cause(d.ctx)
		case <-ctx.Done():
			// The dialog's own end (a BYE that overtook the ACK) says
			// more than the caller's context, which it may have ended.
			if d.ctx.Err() != nil {
				return nil, context.Cause(d.ctx)
			}
			return nil, context.Cause(ctx)
		}
	}
}

// HandleACK takes an ACK of the dialog. An ACK of a 2xx of ours that
// carried an offer carries the answer, which goes to the handler.
func (d *Dialog) HandleACK(req *sip.Request) {
	d.mu.Lock()
	wait := d.ackWait
	if req.CSeq() == nil || req.CSeq().SeqNo != wait || wait == 0 {
		d.mu.Unlock()
		return // a retransmission, or an ACK of nothing we sent
	}
	d.acknowledged()
	h, confirmed := d.handler, d.confirmed
	d.mu.Unlock()
	if confirmed && h != nil && len(req.Body()) > 0 {
		h.Answer(req.Body()) // the answer to the offer of a re-INVITE's 200
	}
	select {
	case d.acked <- req:
	default:
	}
}

// awaitACK notes that the 2xx of the INVITE with CSeq seq waits for its
// ACK. It is called with mu held.
func (d *Dialog) awaitACK(seq uint32) {
	d.ackWait, d.ackDone = seq, make(chan struct{})
}

// acknowledged notes that the ACK came (or will not). It is called with
// mu held.
func (d *Dialog) acknowledged() {
	if d.ackWait != 0 {
		d.ackWait = 0
		close(d.ackDone)
	}
}

// HandleRequest answers an in-dialog request other than ACK: BYE ends the
// dialog, re-INVITE and UPDATE go to the handler, as INFO does.
func (d *Dialog) HandleRequest(req *sip.Request, tx sip.ServerTransaction) {
	d.mu.Lock()
	seq := req.CSeq().SeqNo
	if seq < d.remoteCSeq {
		d.mu.Unlock()
		d.set.Respond(tx, req, 500, "Server Internal Error", sip.NewHeader("Warning", `399 callflow "CSeq lower than the last request's"`))
		return
	}
	d.remoteCSeq = seq
	h, ended := d.handler, d.ended
	d.mu.Unlock()
	if ended {
		d.set.Respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	switch req.Method {
	case sip.BYE:
		d.set.Respond(tx, req, 200, "OK")
		d.end(ErrBye)
	case sip.INVITE, sip.UPDATE:
		d.offer(req, tx, h)
	case sip.INFO:
		if h == nil {
			d.set.Respond(tx, req, 481, "Call/Transaction Does Not Exist")
			return
		}
		ct := ""
		if c := req.ContentType(); c != nil {
			ct = c.Value()
		}
		h.Info(ct, req.Body())
		d.set.Respond(tx, req, 200, "OK")
	default:
		d.set.Respond(tx, req, 405, "Method Not Allowed")
	}
}

// offer answers a re-INVITE or an UPDATE: a change of the session (hold,
// resume, a new address) or a refresh of it.
func (d *Dialog) offer(req *sip.Request, tx sip.ServerTransaction, h Handler) {
	d.mu.Lock()
	pending := d.ackDone
	busy := d.ackWait != 0
	d.mu.Unlock()
	if busy && req.IsInvite() {
		// The previous INVITE's 200 waits for its ACK. A phone that sends
		// the ACK and a re-INVITE at once has them handled side by side:
		// give the ACK a moment before refusing.
		select {
		case <-pending:
			busy = false
		case <-time.After(sip.T1):
		}
	}
	if h == nil || (busy && req.IsInvite()) {
		// The previous INVITE's 200 has no ACK yet (RFC 3261 §14.2).
		d.set.Respond(tx, req, 500, "Server Internal Error", sip.NewHeader("Retry-After", "1"))
		return
	}
	if c := req.Contact(); c != nil {
		d.mu.Lock()
		d.target = c.Address // a target refresh (RFC 3261 §12.2.2)
		d.mu.Unlock()
	}
	if se := req.GetHeader("Session-Expires"); se != nil {
		if n, refresher, ok := parseSessionExpires(se.Value()); ok && n >= d.set.cfg.MinSE {
			d.mu.Lock()
			d.expires = n
			if refresher != "" {
				d.refresher = d.asOurs(refresher)
			}
			d.mu.Unlock()
		}
	}
	var answer []byte
	if len(req.Body()) > 0 || req.IsInvite() {
		var status int
		if answer, status = h.Offer(req.Body()); status != 0 {
			d.set.Respond(tx, req, status, reasonOf(status))
			return
		}
	}
	res := d.ok(req, answer)
	d.mu.Lock()
	if d.expires > 0 {
		res.AppendHeader(sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=%s", d.expires, d.asOurs(d.refresher))))
	}
	if req.IsInvite() {
		d.awaitACK(req.CSeq().SeqNo)
	}
	d.mu.Unlock()
	select {
	case d.refreshed <- struct{}{}:
	default:
	}
	if err := tx.Respond(res); err != nil || !req.IsInvite() {
		return
	}
	// The re-INVITE's 200 waits for its ACK like the first one, but a
	// missing ACK only ends the wait (RFC 3261 §14.2 leaves the session
	// as it was).
	d.tasks.Go(func() {
		d.waitACK(context.Background(), tx, res)
		d.mu.Lock()
		if d.ackWait == req.CSeq().SeqNo {
			d.acknowledged()
		}
		d.mu.Unlock()
	})
}

// asOurs turns the refresher parameter of a request the far end sent in
// the dialog (where it is the UAC) into the roles of the dialog's INVITE,
// which d.refresher is in, and back: the roles are the same when the far
// end sent the INVITE, and swapped when we did.
func (d *Dialog) asOurs(refresher string) string {
	if d.role == "uas" {
		return refresher
	}
	switch refresher {
	case "uac":
		return "uas"
	case "uas":
		return "uac"
	}
	return refresher
}

// sessionTimer keeps the session alive (RFC 4028): as refresher, it sends
// an UPDATE at half the interval; otherwise it ends the call when no
// refresh comes before the interval's end (less a third, at most 32 s).
// We are the refresher when d.refresher names our role in the INVITE.
func (d *Dialog) sessionTimer() {
	for {
		d.mu.Lock()
		interval, refresher := time.Duration(d.expires)*time.Second, d.refresher
		d.mu.Unlock()
		ours := refresher == d.role
		wait := interval - min(32*time.Second, interval/3)
		if ours {
			wait = interval / 2
		}
		t := time.NewTimer(wait)
		select {
		case <-d.ctx.Done():
			t.Stop()
			return
		case <-d.refreshed:
			t.Stop()
			continue
		case <-t.C:
		}
		if !ours {
			d.end(ErrSessionExpired) // first: the dialog's cause is the first given
			d.bye(context.Background())
			return
		}
		ctx, cancel := context.WithTimeout(d.ctx, 32*time.Second)
		// The UAS side has always said "uas" here; as the UPDATE's UAC
		// and its refresher, a dialog of ours says "uac" (RFC 4028 §7.4).
		res, err := d.Request(ctx, sip.UPDATE, nil, sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=%s", d.sessionInterval(), d.role)))
		cancel()
		if d.ctx.Err() != nil {
			// The dialog ended while the refresh was out (a BYE, Close):
			// whoever ended it hangs up, and Close is not held up for
			// a BYE's 64·T1.
			return
		}
		if err != nil || res.StatusCode == 481 || res.StatusCode == 408 {
			d.end(ErrSessionExpired)
			d.bye(context.Background())
			return
		}
	}
}

// sessionInterval is the session interval, read under mu.
func (d *Dialog) sessionInterval() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.expires
}

// Request sends a request in the dialog and returns its final response.
// It goes to where the INVITE came from (over TCP, on the caller's
// connection while it is open), or for a dialog of ours to the phone's
// Target.Destination or its Contact, unless a route set says otherwise.
func (d *Dialog) Request(ctx context.Context, method sip.RequestMethod, body []byte, headers ...sip.Header) (*sip.Response, error) {
	d.mu.Lock()
	d.localCSeq++
	seq := d.localCSeq
	target, routes := d.target, d.routes
	d.mu.Unlock()
	req := sip.NewRequest(method, *target.Clone())
	d.addressed(req, seq, method)
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	req.AppendHeader(d.contact())
	if d.set.cfg.Agent != "" {
		req.AppendHeader(sip.NewHeader("User-Agent", d.set.cfg.Agent))
	}
	for _, r := range routes {
		req.AppendHeader(sip.NewHeader("Route", r))
	}
	for _, h := range headers {
		req.AppendHeader(h)
	}
	if len(body) > 0 {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	req.SetBody(body)
	d.route(req, routes)
	tx, err := d.set.cfg.Client.TransactionRequest(ctx, req, sipgo.ClientRequestAddVia)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			return nil, tx.Err()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// addressed gives req the dialog's From, To, Call-ID and CSeq.
func (d *Dialog) addressed(req *sip.Request, seq uint32, method sip.RequestMethod) {
	req.AppendHeader(sip.HeaderClone(d.local))
	req.AppendHeader(sip.HeaderClone(d.remote))
	callID := d.callID
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
}

// route sends req over the dialog's transport to the first of routes or,
// without a route set, to d.dest.
func (d *Dialog) route(req *sip.Request, routes []string) {
	req.SetTransport(d.transport)
	req.Laddr = d.laddr
	if len(routes) == 0 {
		if d.dest != "" {
			req.SetDestination(d.dest)
		}
	} else if r := req.Route(); r != nil {
		req.SetDestination(r.Address.HostPort())
	}
}

// Bye hangs up: it sends BYE when the call was answered, and ends the
// dialog. A BYE that fails (the caller is gone) still ends it.
func (d *Dialog) Bye(ctx context.Context) error {
	d.mu.Lock()
	answered, ended := d.answered, d.ended
	d.mu.Unlock()
	if ended || !answered {
		d.end(ErrEnded)
		return nil
	}
	d.end(ErrEnded)
	return d.bye(ctx)
}

// bye sends BYE.
func (d *Dialog) bye(ctx context.Context) error {
	res, err := d.Request(ctx, sip.BYE, nil)
	if err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("BYE: %d %s", res.StatusCode, res.Reason)
	}
	return nil
}

// Close ends the dialog, forgets it, and waits for its goroutines. Call
// it when the call is over.
func (d *Dialog) Close() {
	d.end(ErrEnded)
	d.tasks.Wait()
}

func (d *Dialog) end(cause error) {
	d.mu.Lock()
	d.ended = true
	d.mu.Unlock()
	d.cancel(cause)
	d.set.dialogs.CompareAndDelete(d.ID, d)
}

// parseSessionExpires reads "1800;refresher=uac".
func parseSessionExpires(v string) (int, string, bool) {
	parts := strings.Split(v, ";")
	n, err := strconv.Atoi(strings.TrimSpace(parts[0]))
	if err != nil || n <= 0 {
		return 0, "", false
	}
	refresher := ""
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "refresher") {
			refresher = strings.ToLower(strings.TrimSpace(val))
			if refresher != "uac" && refresher != "uas" {
				return 0, "", false
			}
		}
	}
	return n, refresher, true
}

// supports reports whether req lists ext in Supported (or its compact k).
func supports(req *sip.Request, ext string) bool {
	for _, name := range []string{"Supported", "k"} {
		for _, h := range req.GetHeaders(name) {
			for _, e := range strings.Split(h.Value(), ",") {
				if strings.EqualFold(strings.TrimSpace(e), ext) {
					return true
				}
			}
		}
	}
	return false
}

// reasonOf is the reason phrase of a status a handler refuses with.
func reasonOf(status int) string {
	switch status {
	case 488:
		return "Not Acceptable Here"
	case 491:
		return "Request Pending"
	case 400:
		return "Bad Request"
	}
	return "Server Internal Error"
}
