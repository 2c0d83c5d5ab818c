package dialog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// The calling side (UAC) of INVITE dialogs: Set.Invite sends an INVITE to
// one phone and returns an Outgoing at once; Outgoing.Wait returns the
// confirmed Dialog when the phone answers. Ringing several phones is
// several Outgoings:
//
//	for each phone: o[i], err = set.Invite(ctx, target[i], offer)
//	the first o[i].Wait that returns a dialog is bridged;
//	every other o[j]: Cancel, then Wait (it never returns a dialog after
//	Cancel: one that answered meanwhile is hung up), on its own goroutine.
//
// The ring timeout is Wait's ctx (or Cancel): after a provisional
// response no timer of the transaction's ends the INVITE.

// ErrNoResponse: the phone never sent a final response (Timer B) or
// could not be reached (a transport failure).
var ErrNoResponse = errors.New("the phone did not respond")

// Rejected is a final response of 300 or more to an INVITE of ours.
// Redirections (3xx) are rejections too: we do not follow them. So are
// challenges (401, 407) when the Target has no Credentials, when none of
// the challenges can be answered, and when they come again after an
// answer (a wrong password): each INVITE answers one challenge at most.
type Rejected struct {
	Status int
	Reason string
}

func (r *Rejected) Error() string { return fmt.Sprintf("rejected with %d %s", r.Status, r.Reason) }

// Target is where an outgoing INVITE goes.
type Target struct {
	// URI is the Request-URI: the phone's registered Contact.
	URI sip.Uri
	// Destination is the "ip:port" to send to, the phone's REGISTER
	// source when it is behind a NAT; "" sends to URI's host and port.
	// Every request of the dialog goes there too, unless the 2xx sets a
	// route set.
	Destination string
	// Transport is "udp" (when "") or "tcp". Over TCP the connection the
	// phone registered on is used while it is open (sipgo pools
	// connections by remote address), so Destination should be the
	// REGISTER's source.
	Transport string
	// From is who we say calls (the caller's number at our host); we add
	// the tag. FromName is its display name, and may be "".
	From     sip.Uri
	FromName string
	// To is the user's address of record, or the number called.
	To sip.Uri
	// Auth, when set, answers the far end's digest challenge (a carrier's
	// 401 or 407) once: the INVITE goes again with the same Call-ID,
	// From tag and body, CSeq one more and a new branch. nil answers
	// none, as for phones.
	Auth *Credentials
}

// Outgoing is one INVITE of ours on its way to a phone. Its methods are
// safe for concurrent use. Once Invite has returned one, Wait must be
// called: it is what hands out, or hangs up, the dialog of an answer.
type Outgoing struct {
	inv      *invitation
	tx       sip.ClientTransaction // the INVITE's latest: a new one after a challenge; run's only
	callID   string
	auth     *Credentials // Target.Auth; never changed
	progress chan int
	early    chan *sip.Response
	cancel   chan struct{} // closed by Cancel
	once     sync.Once     // closes cancel
	done     chan struct{} // closed when the outcome is known and run has returned
	hangUp   sync.Once     // of a dialog answered before Cancel but not handed out

	mu        sync.Mutex
	handler   Handler       // guarded by mu: the handler the dialog of an answer starts with
	cancelled bool          // guarded by mu: Cancel was called before Wait handed out a dialog
	claimed   bool          // guarded by mu: Wait handed out the dialog
	dialog    *Dialog       // guarded by mu; set before done is closed
	res       *sip.Response // guarded by mu
	err       error         // guarded by mu
}

// invitation is what an INVITE's responses need of it once it is sent:
// enough to make a dialog of a 2xx. It is all that sipgo's transaction
// holds, through the retransmission hook, for 64·T1 after the 2xx, so it
// holds no call.
type invitation struct {
	set       *Set
	invite    *sip.Request // as sent
	local     *sip.FromHeader
	transport string // "UDP" or "TCP"
	dest      string // Target.Destination
	laddr     sip.Addr
}

// Invite sends an INVITE with the offer sdp (none for a late offer: the
// answer's SDP is then an offer, to be answered with Dialog.Request) and
// returns at once. headers are added to the INVITE. We offer no session
// timer and no reliable provisional responses. ctx bounds the sending
// only (a TCP connection being set up), not the call: stop that with
// Cancel or Wait's ctx. The error wraps ErrNoResponse when the INVITE
// could not be sent.
func (s *Set) Invite(ctx context.Context, t Target, sdp []byte, headers ...sip.Header) (*Outgoing, error) {
	if s.cfg.Client == nil {
		return nil, errors.New("dialog: Invite needs the Set's Config.Client")
	}
	var transport string
	switch strings.ToLower(t.Transport) {
	case "", "udp":
		transport = "UDP"
	case "tcp":
		transport = "TCP"
	default:
		return nil, fmt.Errorf("dialog: transport %q: use udp or tcp", t.Transport)
	}
	for _, u := range []*sip.Uri{&t.URI, &t.From, &t.To} {
		if u.Scheme == "" {
			u.Scheme = "sip"
		}
	}
	req := sip.NewRequest(sip.INVITE, *t.URI.Clone())
	from := &sip.FromHeader{DisplayName: t.FromName, Address: *t.From.Clone(), Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: *t.To.Clone(), Params: sip.NewParams()})
	callID := sip.CallIDHeader(newCallID())
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	req.AppendHeader(s.contact(transport))
	req.AppendHeader(sip.NewHeader("Allow", Methods))
	if s.cfg.Agent != "" {
		req.AppendHeader(sip.NewHeader("User-Agent", s.cfg.Agent))
	}
	for _, h := range headers {
		req.AppendHeader(h)
	}
	if len(sdp) > 0 {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	req.SetBody(sdp)
	req.SetTransport(transport)
	if t.Destination != "" {
		req.SetDestination(t.Destination)
	}
	req.Laddr = s.listener(transport)
	tx, err := s.cfg.Client.TransactionRequest(ctx, req, s.addVia)
	if err != nil {
		return nil, fmt.Errorf("INVITE %s: %w: %v", t.URI.String(), ErrNoResponse, err)
	}
	o := &Outgoing{
		inv: &invitation{set: s, invite: req, local: from, transport: transport, dest: t.Destination, laddr: req.Laddr},
		tx:  tx, callID: callID.Value(), auth: t.Auth,
		progress: make(chan int, 8), early: make(chan *sip.Response, 8),
		cancel: make(chan struct{}), done: make(chan struct{}),
	}
	acks := &acker{inv: o.inv}
	tx.OnRetransmission(acks.retransmitted)
	go o.run(acks)
	return o, nil
}

// CallID is the INVITE's Call-ID, for logs. It stays the same when the
// INVITE is sent again after a challenge.
func (o *Outgoing) CallID() string { return o.callID }

// Early delivers the provisional responses above 100 as they come (180,
// 183…), whole: a 183's or 180's SDP body is the answer for early media
// (ringback, announcements), to be passed on to a caller before the
// call is answered. It is closed at the final response, as Progress is,
// and like Progress it holds the last few: a response that finds it full
// is dropped, so reading it is optional. The responses are the caller's
// to keep and must not be changed.
func (o *Outgoing) Early() <-chan *sip.Response { return o.early }

// Progress delivers the provisional statuses as they come (180, 183…;
// not 100), and is closed at the final response. It holds the last few:
// a status that finds it full is dropped, so reading it is optional.
func (o *Outgoing) Progress() <-chan int { return o.progress }

// SetHandler sets the handler that the dialog of an answer starts with,
// before its ACK goes: a phone may send a re-INVITE (hold) or INFO right
// after the ACK, before Wait has returned. Dialog.SetHandler changes it
// later.
func (o *Outgoing) SetHandler(h Handler) {
	o.mu.Lock()
	o.handler = h
	o.mu.Unlock()
}

// Cancel gives the INVITE up (RFC 3261 §9.1). The CANCEL goes once a
// provisional response has come: at once, or when one arrives; with none
// before Timer B, the INVITE ends there. A 2xx that crosses the CANCEL,
// or that came before it but has not been handed out by Wait, is
// acknowledged and then hung up at once (BYE), and Wait reports
// ErrCancelled. After Wait has returned a dialog, Cancel does nothing:
// hang that up with Bye. Cancel does not block.
func (o *Outgoing) Cancel() {
	o.mu.Lock()
	if !o.claimed {
		o.cancelled = true
	}
	claimed := o.claimed
	o.mu.Unlock()
	if !claimed {
		o.once.Do(func() { close(o.cancel) })
	}
}

// Wait waits for the INVITE's outcome:
//   - a 2xx: its ACK is sent (and sent again on each 2xx retransmission),
//     and Wait returns the confirmed Dialog and the 2xx, whose body is the
//     SDP answer (or, after a late offer, the phone's offer);
//   - a final response of 300 or more: no dialog, the response, and an
//     error wrapping *Rejected;
//   - no response (Timer B) or a transport failure: an error wrapping
//     ErrNoResponse;
//   - Cancel, or ctx ending (which calls Cancel): once the INVITE's
//     transaction is over, an error wrapping ErrCancelled (and *Rejected,
//     with the response, when the phone refused first).
//
// The caller owns the dialog returned: it must end it (Bye, Close).
func (o *Outgoing) Wait(ctx context.Context) (*Dialog, *sip.Response, error) {
	select {
	case <-o.done:
	default:
		select {
		case <-o.done:
		case <-ctx.Done():
			o.Cancel()
			<-o.done
		}
	}
	o.mu.Lock()
	d, res, err := o.dialog, o.res, o.err
	if d != nil && o.cancelled {
		// Answered before Cancel, and not handed out: nobody wants it.
		o.dialog, o.err = nil, fmt.Errorf("%w: it was answered before the CANCEL; hung up", ErrCancelled)
		err = o.err
	} else if d != nil {
		o.claimed = true
	}
	o.mu.Unlock()
	if d != nil && err != nil {
		o.hangUp.Do(func() { hangUp(d) })
		return nil, res, err
	}
	return d, res, err
}

// run reads the INVITE's responses until its outcome is known.
func (o *Outgoing) run(acks *acker) {
	defer close(o.done)
	defer close(o.progress)
	defer close(o.early)
	var (
		provisional bool       // a 1xx of the latest INVITE came: a CANCEL may go (RFC 3261 §9.1)
		wanted      bool       // Cancel was called
		challenged  bool       // the INVITE was sent again with credentials
		cancelling  = o.cancel // nil once Cancel is seen
		cancelTx    sip.ClientTransaction
		cancelRes   <-chan *sip.Response
		cancelDone  <-chan struct{}
		giveUp      *time.Timer
		givingUp    <-chan time.Time
	)
	defer func() {
		if cancelTx != nil {
			cancelTx.Terminate()
		}
		if giveUp != nil {
			giveUp.Stop()
		}
	}()
	sendCancel := func() {
		// RFC 3261 §9.1: with no final response 64·T1 after the CANCEL,
		// the INVITE is over.
		giveUp = time.NewTimer(64 * sip.T1)
		givingUp = giveUp.C
		tx, err := o.inv.sendCancel()
		if err != nil {
			return
		}
		cancelTx, cancelRes, cancelDone = tx, tx.Responses(), tx.Done()
	}
	for {
		select {
		case res := <-o.tx.Responses():
			if !wanted && isChallenge(res.StatusCode) {
				// A Cancel that returned before the challenge came is
				// seen before it: the INVITE does not go again.
				select {
				case <-cancelling:
					cancelling, wanted = nil, true
				default:
				}
			}
			switch {
			case res.IsProvisional():
				if !provisional && wanted {
					sendCancel()
				}
				provisional = true
				if res.StatusCode > 100 {
					select {
					case o.progress <- res.StatusCode:
					default:
					}
					select {
					case o.early <- res:
					default:
					}
				}
			case res.IsSuccess():
				o.answered(res, acks)
				return
			case isChallenge(res.StatusCode) && o.auth != nil && !challenged && !wanted:
				// sipgo's transaction has acknowledged the challenge, and
				// absorbs its retransmissions until Timer D.
				challenged = true
				next, err := o.authorize(res)
				if err != nil {
					o.finish(nil, res, err)
					return
				}
				acks = next
				provisional = false
			default:
				rejected := &Rejected{Status: res.StatusCode, Reason: res.Reason}
				err := fmt.Errorf("INVITE %s: %w", o.inv.invite.Recipient.String(), rejected)
				if challenged && isChallenge(res.StatusCode) {
					err = fmt.Errorf("INVITE %s: %w: the credentials were refused", o.inv.invite.Recipient.String(), rejected)
				}
				if wanted {
					err = fmt.Errorf("%w (%w)", ErrCancelled, rejected)
				}
				o.finish(nil, res, err)
				return
			}
		case <-o.tx.Done():
			err := fmt.Errorf("INVITE %s: %w: %v", o.inv.invite.Recipient.String(), ErrNoResponse, o.tx.Err())
			if wanted {
				err = fmt.Errorf("%w (the INVITE ended without a final response: %v)", ErrCancelled, o.tx.Err())
			}
			o.finish(nil, nil, err)
			return
		case <-cancelling:
			cancelling, wanted = nil, true
			if provisional {
				sendCancel()
			}
		case res := <-cancelRes:
			if !res.IsProvisional() {
				cancelRes, cancelDone = nil, nil
			}
		case <-cancelDone:
			cancelRes, cancelDone = nil, nil
		case <-givingUp:
			o.tx.Terminate()
			o.finish(nil, nil, fmt.Errorf("%w: no final response to the INVITE 64·T1 after its CANCEL", ErrCancelled))
			return
		}
	}
}

func isChallenge(status int) bool {
	return status == sip.StatusUnauthorized || status == sip.StatusProxyAuthRequired
}

// authorize sends the INVITE again, answering the challenge res, on a
// transaction that replaces o.tx, and returns the acker of its 2xx. The
// error, when it could not, wraps *Rejected with res's status (and
// ErrNoResponse when the new INVITE could not be sent).
func (o *Outgoing) authorize(res *sip.Response) (*acker, error) {
	rejected := &Rejected{Status: res.StatusCode, Reason: res.Reason}
	uri := o.inv.invite.Recipient.String()
	req, err := authorized(o.inv.invite, res, o.auth)
	if err != nil {
		return nil, fmt.Errorf("INVITE %s: %w (the challenge was not answered: %v)", uri, rejected, err)
	}
	inv := *o.inv
	inv.invite = req
	// Over TCP the connection is open already: this is not a connect.
	ctx, cancel := context.WithTimeout(context.Background(), 64*sip.T1)
	defer cancel()
	tx, err := inv.set.cfg.Client.TransactionRequest(ctx, req, inv.set.addVia)
	if err != nil {
		return nil, fmt.Errorf("INVITE %s with credentials: %w: %v (after %w)", uri, ErrNoResponse, err, rejected)
	}
	o.inv, o.tx = &inv, tx
	acks := &acker{inv: o.inv}
	tx.OnRetransmission(acks.retransmitted)
	return acks, nil
}

// finish records the outcome.
func (o *Outgoing) finish(d *Dialog, res *sip.Response, err error) {
	o.mu.Lock()
	o.dialog, o.res, o.err = d, res, err
	o.mu.Unlock()
}

// answered makes the dialog of the first 2xx and acknowledges it. A 2xx
// that crossed our CANCEL is hung up at once.
func (o *Outgoing) answered(res *sip.Response, acks *acker) {
	d := o.inv.dialogOf(res)
	o.mu.Lock()
	d.handler = o.handler
	o.mu.Unlock()
	// Known before the ACK goes: the phone's BYE may follow it at once.
	o.inv.set.dialogs.Store(d.ID, d)
	ack := d.ack(o.inv.invite.CSeq().SeqNo)
	client := o.inv.set.cfg.Client
	o.inv.set.addVia(client, ack)
	// Before it goes: the phone may repeat its 2xx as soon as it has it.
	acks.took(d.remoteTag(), ack)
	if err := client.WriteRequest(ack, asBuilt); err != nil {
		d.end(ErrEnded)
		o.finish(nil, res, fmt.Errorf("ACK of the 2xx: %w: %v", ErrNoResponse, err))
		return
	}
	d.startTimer()
	o.mu.Lock()
	cancelled := o.cancelled
	o.mu.Unlock()
	if cancelled {
		hangUp(d)
		o.finish(nil, res, fmt.Errorf("%w: the 2xx crossed the CANCEL; hung up", ErrCancelled))
		return
	}
	o.finish(d, res, nil)
}

// hangUp ends a dialog that nobody wants: BYE, bounded by 64·T1.
func hangUp(d *Dialog) {
	ctx, cancel := context.WithTimeout(context.Background(), 64*sip.T1)
	defer cancel()
	d.Bye(ctx)
	d.Close()
}

// sendCancel sends the CANCEL of the INVITE: the same Request-URI, Call-ID,
// From, To, CSeq number and top Via (so the phone matches it to the
// INVITE's transaction), to the same address (RFC 3261 §9.1).
func (inv *invitation) sendCancel() (sip.ClientTransaction, error) {
	in := inv.invite
	req := sip.NewRequest(sip.CANCEL, *in.Recipient.Clone())
	req.AppendHeader(sip.HeaderClone(in.Via()))
	req.AppendHeader(sip.HeaderClone(in.From()))
	req.AppendHeader(sip.HeaderClone(in.To()))
	req.AppendHeader(sip.HeaderClone(in.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: in.CSeq().SeqNo, MethodName: sip.CANCEL})
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	for _, r := range in.GetHeaders("Route") {
		req.AppendHeader(sip.HeaderClone(r))
	}
	if inv.set.cfg.Agent != "" {
		req.AppendHeader(sip.NewHeader("User-Agent", inv.set.cfg.Agent))
	}
	req.SetBody(nil)
	req.SetTransport(inv.transport)
	req.SetDestination(in.Destination())
	req.Laddr = inv.laddr
	return inv.set.cfg.Client.TransactionRequest(context.Background(), req, asBuilt)
}

// addVia gives a request of ours its Via, which names Host and Port, as
// our Contact does: sipgo's would name the socket it sends from, and when
// the phone never sent us anything that is a socket of its own, bound to
// 0.0.0.0, which the phone cannot answer to. Its responses come to our
// listener instead, which is also the address a NAT in front of us maps.
func (s *Set) addVia(c *sipgo.Client, req *sip.Request) error {
	if s.cfg.Host == "" || s.cfg.Port == 0 {
		return sipgo.ClientRequestAddVia(c, req)
	}
	via := &sip.ViaHeader{
		ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: req.Transport(),
		Host: s.cfg.Host, Port: s.cfg.Port, Params: sip.NewParams(),
	}
	via.Params.Add("branch", sip.GenerateBranchN(16))
	req.PrependHeader(via)
	return nil
}

// listener is the address of our UDP listener when it is bound to Host
// and Port, for requests to go from: sipgo would otherwise send to a
// phone that never sent us anything from a socket of its own, which a
// NAT in front of the phone would not let the answers through to. The
// zero Addr (sipgo's choice) otherwise, and over TCP.
func (s *Set) listener(transport string) sip.Addr {
	if transport != "UDP" || s.cfg.Client == nil {
		return sip.Addr{}
	}
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	pool := s.cfg.Client.TransportLayer().Pool("udp")
	if pool == nil {
		return sip.Addr{}
	}
	c := pool.Get(addr)
	if c == nil {
		return sip.Addr{}
	}
	defer c.TryClose() // Get took a reference
	if u, ok := c.(*sip.UDPConnection); !ok || !u.Listener {
		return sip.Addr{}
	}
	ip := net.ParseIP(s.cfg.Host)
	if ip == nil {
		return sip.Addr{}
	}
	return sip.Addr{IP: ip, Port: s.cfg.Port}
}

// asBuilt sends a request as it is: it has its Via.
func asBuilt(*sipgo.Client, *sip.Request) error { return nil }

// dialogOf makes the confirmed dialog of a 2xx: the far end's tag from its
// To, the remote target from its Contact, the route set from its
// Record-Route in reverse (RFC 3261 §12.1.2), and the session timer it
// asks for.
func (inv *invitation) dialogOf(res *sip.Response) *Dialog {
	remote := sip.HeaderClone(res.To()).(*sip.ToHeader)
	target := inv.invite.Recipient
	if c := res.Contact(); c != nil {
		target = c.Address
	}
	var routes []string
	for _, h := range res.GetHeaders("Record-Route") {
		routes = append(splitRoutes(h.Value()), routes...)
	}
	d := &Dialog{
		set: inv.set, role: "uac", callID: *inv.invite.CallID(), local: inv.local, remote: remote,
		transport: inv.transport, dest: inv.dest, laddr: inv.laddr, target: *target.Clone(), routes: routes,
		answered: true, confirmed: true, localCSeq: inv.invite.CSeq().SeqNo,
		acked: make(chan *sip.Request, 1), refreshed: make(chan struct{}, 1),
	}
	d.ID = sip.DialogIDMake(d.callID.Value(), d.localTag(), d.remoteTag())
	d.ctx, d.cancel = context.WithCancelCause(context.Background())
	// We offer no session timer, so a phone should not ask for one; one
	// that does anyway is obeyed: with refresher=uac we refresh, and
	// otherwise we expect its refreshes (RFC 4028 §7.2 makes a missing
	// refresher the UAS's).
	if se := res.GetHeader("Session-Expires"); se != nil {
		if n, refresher, ok := parseSessionExpires(se.Value()); ok {
			if refresher == "" {
				refresher = "uas"
			}
			d.expires, d.refresher = n, refresher
		}
	}
	return d
}

// splitRoutes splits a Record-Route value into its routes, at the commas
// outside angle brackets and quotes.
func splitRoutes(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '<':
			depth++
		case c == '>':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(v[start:i]))
			start = i + 1
		}
	}
	if r := strings.TrimSpace(v[start:]); r != "" {
		out = append(out, r)
	}
	return out
}

func (d *Dialog) remoteTag() string {
	t, _ := d.remote.Params.Get("tag")
	return t
}

// ack builds the ACK of the 2xx to the INVITE with CSeq seq: a request of
// its own to the remote target, along the route set (RFC 3261 §13.2.2.4).
func (d *Dialog) ack(seq uint32) *sip.Request {
	d.mu.Lock()
	target, routes := d.target, d.routes
	d.mu.Unlock()
	req := sip.NewRequest(sip.ACK, *target.Clone())
	d.addressed(req, seq, sip.ACK)
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	if d.set.cfg.Agent != "" {
		req.AppendHeader(sip.NewHeader("User-Agent", d.set.cfg.Agent))
	}
	for _, r := range routes {
		req.AppendHeader(sip.NewHeader("Route", r))
	}
	req.SetBody(nil)
	d.route(req, routes)
	return req
}

// startTimer starts the session timer when the dialog has one.
func (d *Dialog) startTimer() {
	d.mu.Lock()
	timed := d.expires > 0
	d.mu.Unlock()
	if timed {
		d.tasks.Go(d.sessionTimer)
	}
}

// acker acknowledges the 2xx retransmissions that sipgo's INVITE
// transaction passes on while it is Accepted (64·T1 after the first 2xx).
// It runs on sipgo's goroutines.
type acker struct {
	inv *invitation
	mu  sync.Mutex
	tag string       // guarded by mu: the To-tag of the 2xx taken
	ack *sip.Request // guarded by mu: its ACK as sent; nil until then
}

// took notes the ACK sent for the 2xx of the far end's tag.
func (a *acker) took(tag string, ack *sip.Request) {
	a.mu.Lock()
	a.tag, a.ack = tag, ack.Clone()
	a.mu.Unlock()
}

func (a *acker) retransmitted(res *sip.Response) {
	if !res.IsSuccess() {
		return
	}
	a.mu.Lock()
	ack, tag := a.ack, a.tag
	if ack != nil {
		ack = ack.Clone()
	}
	a.mu.Unlock()
	if ack == nil {
		return // the first 2xx is still being handled: the next retransmission is acknowledged
	}
	got, _ := res.To().Params.Get("tag")
	if got == tag {
		a.inv.set.cfg.Client.WriteRequest(ack, asBuilt)
		return
	}
	// Another fork answered too (RFC 3261 §13.2.2.4): acknowledge it and
	// hang it up.
	d := a.inv.dialogOf(res)
	if err := a.inv.set.cfg.Client.WriteRequest(d.ack(a.inv.invite.CSeq().SeqNo), a.inv.set.addVia); err == nil {
		hangUp(d)
	}
}

// newCallID is a Call-ID of 128 random bits.
func newCallID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
