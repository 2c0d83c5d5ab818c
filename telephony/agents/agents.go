// Package agents rings people for calls (S18, S19): it forks INVITEs to
// every registered phone of a user, or of a group's members at once or
// in login order, bridges the first phone to answer and cancels the rest,
// keeps the queues of busy users, and tells the call's record who
// answered. The rules that turn phones' responses into a transfer's
// result are package ring's, shared with `callflow simulate`.
//
// Who is registered, logged in since when and on a call is the store's
// (a Directory), so that every node sees it; what rings is this node's:
// its SIP dialogs and RTP ports (a Host).
package agents

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/callflow/callflow/ring"
	"github.com/callflow/callflow/telephony/dialog"
	"github.com/callflow/callflow/telephony/media"
	"github.com/callflow/callflow/telephony/session"
	"github.com/callflow/callflow/vm"
)

// Phone is one registered phone of a user: where the INVITE goes.
type Phone struct {
	Contact   string // the registered Contact URI: the INVITE's Request-URI
	Source    string // ip:port the registration came from, where requests go (NAT)
	Transport string // udp | tcp
}

// Directory is what is known of people: the live configuration's groups,
// and, from the store, registrations, logins and calls on every node.
type Directory interface {
	// Members are a group's members, in the configuration's order.
	Members(group string) []string
	// Phones are a user's live registrations.
	Phones(ctx context.Context, user string) ([]Phone, error)
	// Logins are the logged-in users, with the moment each logged in.
	Logins(ctx context.Context) (map[string]time.Time, error)
	// Busy are the users on a connected call, on any node.
	Busy(ctx context.Context) (map[string]bool, error)
	// Ringing says that call rings user; Release that it no longer rings
	// them or is connected to them.
	Ringing(ctx context.Context, callID, user string) error
	Release(ctx context.Context, callID, user string) error
	// Claim makes user busy with call, unless the user is connected to
	// another call already (on any node): it reports whether it did.
	Claim(ctx context.Context, callID, user string) (bool, error)
}

// Report hears what a call's record says about its agents. Its methods
// are called on the call's goroutine.
type Report interface {
	// Connected: user answered at at.
	Connected(user string, at time.Time)
	// Queued: the caller waited d in a queue.
	Queued(d time.Duration)
}

// Host is a node's means of ringing: its SIP dialogs and RTP ports.
type Host struct {
	Dialogs *dialog.Set
	// Listen opens an RTP socket for an agent's leg, and says its port.
	Listen func() (net.PacketConn, int, error)
	// Advertise is the address phones send RTP to, and the host of the
	// From of our INVITEs.
	Advertise netip.Addr
	Pacer     *media.Pacer
	Queues    *Queues
	Log       *slog.Logger
	// Sent counts RTP packets sent on agents' legs, when set.
	Sent *atomic.Int64
}

// CallConfig is what a call tells its agents.
type CallConfig struct {
	ID   string // the call's ID (ours, not SIP's)
	From string // the caller's number, as the agents' phones show it
	// Domain is the host part of users' addresses of record.
	Domain    string
	Directory Directory
	Report    Report // nil hears nothing
	// Record opens the two-channel recording of a bridged call whose
	// ring effect says record; nil records nothing.
	Record func() (Recorder, error)
}

// Recorder is a bridged call's recording: the caller on one channel, the
// agent on the other, written as it happens.
type Recorder interface {
	media.BridgeRecorder
	// Keep ends the recording and keeps it; Discard throws it away.
	Keep() error
	Discard()
}

// Call is one call's agents: it implements session.Agents.
type Call struct {
	host *Host
	cfg  CallConfig
	// Codec is the caller's codec, which agents' phones are offered
	// first; set it before the call rings anyone.
	Codec uint8

	mu       sync.Mutex
	handoffs map[string]bool // guarded by mu: users a queue handed this call, until their ring ends
	legs     []*Leg          // guarded by mu
}

// Call makes the agents of one call.
func (h *Host) Call(cfg CallConfig) *Call {
	return &Call{host: h, cfg: cfg, Codec: media.PayloadPCMU, handoffs: map[string]bool{}}
}

var _ session.Agents = (*Call)(nil)

// Ring implements session.Agents.
func (c *Call) Ring(ctx context.Context, e vm.Effect) (vm.Result, session.Leg, error) {
	var leg *Leg
	var r vm.Result
	switch e.Kind {
	case vm.EffectRingUser:
		r, leg = c.ringUser(ctx, e)
		c.host.Queues.counted("user", r.String())
	case vm.EffectRingGroup:
		r, leg = c.ringGroup(ctx, e)
		c.host.Queues.counted("group", r.String())
	default:
		return 0, nil, errors.New("agents: not a ring effect: " + e.Kind.String())
	}
	if leg == nil {
		return r, nil, nil
	}
	return r, leg, nil
}

// Queue implements session.Agents.
func (c *Call) Queue(user string, q *vm.Const) (session.Waiter, bool) {
	w, full := c.host.Queues.Join(user, int(q.MaxWaiting), c.cfg.Directory.Busy)
	if full {
		return nil, true
	}
	return &waiter{Waiter: w, call: c}, false
}

// waiter reports the wait, and hands the user to the call when it leaves
// the queue to ring them.
type waiter struct {
	*Waiter
	call *Call
}

func (w *waiter) Leave() {
	w.Waiter.Leave()
	select {
	case <-w.Ready():
		w.call.mu.Lock()
		w.call.handoffs[w.user] = true
		w.call.mu.Unlock()
	default:
	}
	if r := w.call.cfg.Report; r != nil {
		r.Queued(w.Waited())
	}
}

// Close ends what the call holds: legs still up, users a queue handed it
// that it never rang.
func (c *Call) Close() {
	c.mu.Lock()
	legs, handoffs := c.legs, c.handoffs
	c.legs, c.handoffs = nil, map[string]bool{}
	c.mu.Unlock()
	for _, l := range legs {
		l.Close()
	}
	for user := range handoffs {
		c.host.Queues.Rung(user)
	}
}

// takeHandoff reports whether a queue handed user to the call, and ends
// the hand-off when the ring is over (the caller defers the result).
func (c *Call) takeHandoff(user string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.handoffs[user] {
		return false
	}
	delete(c.handoffs, user)
	return true
}

// log is the call's logger.
func (c *Call) log() *slog.Logger {
	l := c.host.Log
	if l == nil {
		l = slog.Default()
	}
	return l.With("call", c.cfg.ID)
}

// storeDeadline bounds each question to the store while ringing.
const storeDeadline = 5 * time.Second

func (c *Call) ringUser(ctx context.Context, e vm.Effect) (vm.Result, *Leg) {
	user := e.Target.Text
	if c.takeHandoff(user) {
		defer c.host.Queues.Rung(user)
	} else if c.host.Queues.Holds(user) {
		return vm.ResultBusy, nil // callers wait for them: this one queues behind
	}
	sctx, cancel := context.WithTimeout(ctx, storeDeadline)
	defer cancel()
	busy, err := c.cfg.Directory.Busy(sctx)
	if err != nil {
		// The store cannot say: the call goes on as if nobody could be
		// reached, rather than fail.
		c.log().Error("ringing: who is busy", "err", err)
		return vm.ResultUnavailable, nil
	}
	if busy[user] {
		return vm.ResultBusy, nil
	}
	phones, err := c.cfg.Directory.Phones(sctx, user)
	if err != nil {
		c.log().Error("ringing: phones", "user", user, "err", err)
		return vm.ResultUnavailable, nil
	}
	leg, outcomes := c.fork(ctx, map[string][]Phone{user: phones}, time.Duration(e.Timeout)*time.Second, e.Record)
	return ring.UserResult(outcomes[user]), leg
}

func (c *Call) ringGroup(ctx context.Context, e vm.Effect) (vm.Result, *Leg) {
	group := e.Target.Text
	sctx, cancel := context.WithTimeout(ctx, storeDeadline)
	defer cancel()
	logins, err := c.cfg.Directory.Logins(sctx)
	if err != nil {
		c.log().Error("ringing: logins", "group", group, "err", err)
		return vm.ResultUnavailable, nil
	}
	busy, err := c.cfg.Directory.Busy(sctx)
	if err != nil {
		c.log().Error("ringing: who is busy", "group", group, "err", err)
		return vm.ResultUnavailable, nil
	}
	names := c.cfg.Directory.Members(group)
	members := make([]ring.Member, len(names))
	for i, n := range names {
		at, in := logins[n]
		members[i] = ring.Member{Name: n, LoggedIn: in, LoginAt: at, Busy: busy[n] || c.host.Queues.Holds(n)}
	}
	sequential := e.Strategy == vm.Sequential
	order, tally := ring.Order(members, sequential)
	phones := func(users []string) map[string][]Phone {
		// Asked when each turn comes: a sequential group's last member
		// is asked after the others rang.
		pctx, cancel := context.WithTimeout(ctx, storeDeadline)
		defer cancel()
		out := make(map[string][]Phone, len(users))
		for _, u := range users {
			ps, err := c.cfg.Directory.Phones(pctx, u)
			if err != nil {
				c.log().Error("ringing: phones", "user", u, "err", err)
			}
			out[u] = ps
		}
		return out
	}
	timeout := time.Duration(e.Timeout) * time.Second
	if !sequential {
		leg, outcomes := c.fork(ctx, phones(order), timeout, e.Record)
		for _, u := range order {
			tally.Add(outcomes[u])
		}
		return tally.Result(), leg
	}
	for _, u := range order {
		if ctx.Err() != nil {
			break
		}
		leg, outcomes := c.fork(ctx, phones([]string{u}), timeout, e.Record)
		tally.Add(outcomes[u])
		if leg != nil {
			return tally.Result(), leg
		}
	}
	return tally.Result(), nil
}

// rung is how one forked INVITE ended.
type rung struct {
	fork  *ringing
	user  string
	phone Phone
	dlg   *dialog.Dialog
	res   *sip.Response
	err   error
	// handler is the phone's dialog's, set before its INVITE's answer.
	handler *agentDialog
}

// ringing is one phone's INVITE while it rings.
type ringing struct {
	user  string
	rang  atomic.Bool // a 180 or 183 came
	ended bool        // its INVITE's result was taken (by fork's goroutine only)
}

// fork rings every phone of users at once for timeout: the first phone
// to answer whose user can be claimed is the call's, and the others are
// cancelled. It returns the answered leg, if any, and each user's
// outcome.
func (c *Call) fork(ctx context.Context, users map[string][]Phone, timeout time.Duration, record bool) (*Leg, map[string]ring.Outcome) {
	outcomes := make(map[string]ring.Outcome, len(users))
	phones := map[string][]ring.Phone{}
	claimedElsewhere := map[string]bool{}
	total := 0
	for u, ps := range users {
		total += len(ps)
		outcomes[u] = ring.Unavailable
	}
	if total == 0 || ctx.Err() != nil {
		return nil, outcomes
	}
	log := c.log()
	conn, port, err := c.host.Listen()
	if err != nil {
		log.Error("ringing: no RTP port for the agent's leg", "err", err)
		return nil, outcomes
	}
	keep := false
	defer func() {
		if !keep {
			conn.Close()
		}
	}()
	sdp := media.NewSession(netip.AddrPortFrom(c.host.Advertise, uint16(port)))
	offer := sdp.OfferFirst(c.Codec)
	work := context.WithoutCancel(ctx) // presence is kept up to date even as the caller hangs up
	for u := range users {
		sctx, cancel := context.WithTimeout(work, storeDeadline)
		if err := c.cfg.Directory.Ringing(sctx, c.cfg.ID, u); err != nil {
			log.Warn("ringing: presence", "user", u, "err", err)
		}
		cancel()
	}

	rctx, stop := context.WithCancel(ctx)
	defer stop()
	results := make(chan rung, total)
	var forks []*ringing // the INVITEs sent, to tell at the end which rang
	var sdpMu sync.Mutex // the forks' handlers share sdp
	for u, ps := range users {
		for _, p := range ps {
			out, err := c.invite(rctx, u, p, offer)
			if err != nil {
				log.Info("ringing: INVITE not sent", "user", u, "contact", p.Contact, "err", err)
				phones[u] = append(phones[u], ring.PhoneFailed)
				continue
			}
			f := &ringing{user: u}
			forks = append(forks, f)
			h := &agentDialog{mu: &sdpMu, sdp: sdp}
			out.SetHandler(h)
			go func() {
				go func() {
					for st := range out.Progress() {
						if st >= 180 {
							f.rang.Store(true)
						}
					}
				}()
				d, res, err := out.Wait(rctx)
				results <- rung{fork: f, user: u, phone: p, dlg: d, res: res, err: err, handler: h}
			}()
		}
	}

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var winner *rung
	pending := len(forks)
ringing:
	for pending > 0 && winner == nil {
		select {
		case r := <-results:
			pending--
			r.fork.ended = true
			switch {
			case r.err == nil && r.dlg != nil:
				sctx, cancel := context.WithTimeout(work, storeDeadline)
				ok, err := c.cfg.Directory.Claim(sctx, c.cfg.ID, r.user)
				cancel()
				if err != nil || !ok {
					if err != nil {
						log.Error("ringing: claiming the agent", "user", r.user, "err", err)
					}
					// On a call elsewhere already: this phone is busy.
					go byeLate(r.dlg)
					claimedElsewhere[r.user] = true
					phones[r.user] = append(phones[r.user], ring.PhoneBusy)
					continue
				}
				winner = &r
			case r.err != nil:
				var rej *dialog.Rejected
				switch {
				case r.fork.rang.Load() && errors.Is(r.err, dialog.ErrCancelled):
					phones[r.user] = append(phones[r.user], ring.PhoneRang)
				case errors.As(r.err, &rej):
					phones[r.user] = append(phones[r.user], ring.Classify(rej.Status))
				default:
					phones[r.user] = append(phones[r.user], ring.PhoneFailed)
				}
			}
		case <-timer.C:
			break ringing
		case <-ctx.Done():
			break ringing
		}
	}
	// The other phones stop ringing (stop cancels their INVITEs). Their
	// outcome is what they did so far, and nobody waits for their
	// CANCELs to be answered: one that answers all the same is hung up.
	stop()
	for _, f := range forks {
		if !f.ended {
			if f.rang.Load() {
				phones[f.user] = append(phones[f.user], ring.PhoneRang)
			} else {
				phones[f.user] = append(phones[f.user], ring.PhoneFailed)
			}
		}
	}
	if pending > 0 {
		go func() {
			for range pending {
				if r := <-results; r.err == nil && r.dlg != nil {
					byeLate(r.dlg) // answered after another phone, or after we gave up
				}
			}
		}()
	}

	for u := range users {
		if winner != nil && u == winner.user {
			continue
		}
		sctx, cancel := context.WithTimeout(work, storeDeadline)
		if err := c.cfg.Directory.Release(sctx, c.cfg.ID, u); err != nil {
			log.Warn("ringing: presence", "user", u, "err", err)
		}
		cancel()
		outcomes[u] = ring.User(claimedElsewhere[u], phones[u])
	}
	if winner == nil {
		return nil, outcomes
	}
	neg, err := sdp.ReadAnswer(winner.res.Body())
	if err != nil {
		log.Info("ringing: the agent's answer has no audio we can use; hanging up", "user", winner.user, "err", err)
		go byeLate(winner.dlg)
		sctx, cancel := context.WithTimeout(work, storeDeadline)
		c.cfg.Directory.Release(sctx, c.cfg.ID, winner.user)
		cancel()
		outcomes[winner.user] = ring.Unavailable
		return nil, outcomes
	}
	keep = true
	outcomes[winner.user] = ring.Answered
	at := time.Now()
	leg := &Leg{call: c, user: winner.user, dlg: winner.dlg, conn: conn, sdp: sdp, neg: neg, record: record, answered: at, handler: winner.handler}
	if src, err := netip.ParseAddrPort(winner.phone.Source); err == nil {
		leg.source = src.Addr().Unmap()
	}
	c.mu.Lock()
	c.legs = append(c.legs, leg)
	c.mu.Unlock()
	if c.cfg.Report != nil {
		c.cfg.Report.Connected(winner.user, at)
	}
	log.Info("agent answered", "user", winner.user)
	return leg, outcomes
}

// invite sends the INVITE to one phone of user.
func (c *Call) invite(ctx context.Context, user string, p Phone, offer []byte) (*dialog.Outgoing, error) {
	var uri sip.Uri
	if err := sip.ParseUri(p.Contact, &uri); err != nil {
		return nil, err
	}
	from := sip.Uri{Scheme: "sip", User: c.cfg.From, Host: c.host.Advertise.String()}
	if from.User == "" {
		from.User = "anonymous"
	}
	to := sip.Uri{Scheme: "sip", User: user, Host: c.cfg.Domain}
	return c.host.Dialogs.Invite(ctx, dialog.Target{URI: uri, Destination: p.Source, Transport: p.Transport, From: from, To: to}, offer)
}

// byeLate hangs up a phone that answered when it was no longer wanted.
func byeLate(d *dialog.Dialog) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d.Bye(ctx)
	d.Close()
}
