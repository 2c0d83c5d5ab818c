package telephony

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/outbound"
	"github.com/callflow/callflow/telephony/agents"
	"github.com/callflow/callflow/telephony/dialog"
	"github.com/callflow/callflow/telephony/media"
)

// Outbound is how a Live places the calls users' phones make (S25).
type Outbound struct {
	// Check decides whether user may call dialled, as whom and at what
	// rate (package outbound).
	Check func(user, dialled string) outbound.Decision
	// Refused records a call the policy refused.
	Refused func(ctx context.Context, callID string, d outbound.Decision)
	// Begin opens an allowed call's record and reserves its first minute
	// (an ErrRefused with 402 when credits do not cover it): confirm
	// starts its minutes when the callee answers, end closes it with its
	// ending, and record says whether the user's calls are recorded. stop
	// ends the call early (credits ran out).
	Begin func(ctx context.Context, callID string, d outbound.Decision, stop func(error)) (confirm func(), end func(ending string), record bool, err error)
}

// Trunk is where a Live's outgoing calls go: the carrier's address
// (host:port) and transport, by the trunk's name in the configuration.
type Trunk struct {
	Name, Address, Transport string
}

// WithPhoneAuth authenticates the INVITEs of users' phones: auth checks
// that req comes from user (digest, 407) and answers it itself when it
// does not (the registrar's Authenticate). Without it, an INVITE from a
// source that is not a trunk is refused with 403, as before users could
// call out.
func WithPhoneAuth(auth func(req *sip.Request, tx sip.ServerTransaction, user string) bool) Option {
	return func(o *options) { o.phoneAuth = auth }
}

// WithTrunkAuth gives the credentials for a trunk, by its name, that the
// carrier may challenge our INVITEs for; nil for none.
func WithTrunkAuth(creds func(trunk string) *dialog.Credentials) Option {
	return func(o *options) { o.trunkAuth = creds }
}

// outgoing reports whether an INVITE that the routing table refused as a
// stranger's may be a user's phone calling out instead: the server
// authenticates phones, and the Live places calls and keeps presence.
func (s *Server) outgoing(live *Live) bool {
	return s.opts.phoneAuth != nil && live.Outbound.Check != nil && live.Agents != nil
}

// onOutbound takes the INVITE of a phone that is not a trunk: whoever it
// claims to be in From, it is challenged (407), so that nothing reaches
// the trunk unauthenticated and a stranger learns nothing of who the
// users are; then the organisation's policy decides (S25, S29), the first
// minute is reserved at the destination's rate (S1), and the call is
// placed on the trunk and bridged.
func (s *Server) onOutbound(req *sip.Request, tx sip.ServerTransaction, live *Live, src netip.AddrPort) {
	user := ""
	if f := req.From(); f != nil {
		user = f.Address.User
	}
	if !s.opts.phoneAuth(req, tx, user) {
		s.Metrics.refused("outbound-unauthenticated")
		return // challenged, refused or dropped by the authenticator
	}
	callID := newCallID()
	log := s.log.With("call", callID, "user", user, "dialled", req.Recipient.User)
	d := live.Outbound.Check(user, req.Recipient.User)
	if !d.Allowed {
		log.Info("outbound call refused", "refusal", d.Refusal, "reason", d.Reason)
		if live.Outbound.Refused != nil {
			live.Outbound.Refused(s.ctx, callID, d)
		}
		s.counted(d.Status, "outbound-"+string(d.Refusal))
		s.dialogs.Respond(tx, req, d.Status, reasonPhrase(d.Status), sip.NewHeader("Warning", fmt.Sprintf("399 callflow %q", d.Reason)))
		return
	}
	if live.Trunk == nil {
		log.Error("outbound call refused: the configuration has no trunk")
		s.counted(503, "outbound-no-trunk")
		s.dialogs.Respond(tx, req, sip.StatusServiceUnavailable, "No Trunk")
		return
	}
	if len(req.Body()) == 0 {
		s.counted(488, "outbound-no-offer")
		s.dialogs.Respond(tx, req, 488, "Not Acceptable Here", sip.NewHeader("Warning", `399 callflow "an outgoing call needs an SDP offer in its INVITE"`))
		return
	}
	dlg, err := s.dialogs.Accept(req, tx)
	if err != nil {
		s.Metrics.refused("invalid-invite")
		return
	}
	defer dlg.Close()
	conn, port, err := s.ports.listen()
	if err != nil {
		log.Error("no RTP port", "err", err)
		s.counted(503, "no-media-port")
		dlg.Reject(sip.StatusServiceUnavailable, "No Media Port")
		return
	}
	defer conn.Close()
	sdp := media.NewSession(netip.AddrPortFrom(s.opts.advertise, uint16(port)))
	answer, neg, err := sdp.Answer(req.Body())
	if err != nil {
		s.counted(488, "bad-sdp")
		dlg.Reject(488, "Not Acceptable Here", sip.NewHeader("Warning", fmt.Sprintf("399 callflow %q", err.Error())))
		return
	}

	ctx, cancel := context.WithCancelCause(s.ctx)
	defer cancel(nil)
	bctx, bcancel := context.WithTimeout(ctx, s.beginTimeout())
	confirm, end, record, err := live.Outbound.Begin(bctx, callID, d, cancel)
	bcancel()
	var refused *ErrRefused
	switch {
	case errors.As(err, &refused):
		log.Info("outbound call refused", "status", refused.Status, "reason", refused.Reason)
		s.counted(refused.Status, "no-credits")
		dlg.Reject(refused.Status, refused.Reason)
		return
	case err != nil:
		log.Error("outbound call not begun", "err", err)
		s.Metrics.Errors.Add(1)
		s.counted(500, "server-error")
		dlg.Reject(sip.StatusInternalServerError, "Server Error")
		return
	}
	domain := live.Domain
	if domain == "" {
		domain = s.opts.advertise.String()
	}
	cfg := agents.CallConfig{ID: callID, From: d.CallerID, Domain: domain, Directory: live.Agents}
	if live.RecordBridge != nil && record {
		cfg.Record = func() (agents.Recorder, error) { return live.RecordBridge(callID) }
	}
	calling := s.agents.Call(cfg)
	defer calling.Close()

	host, _, err := net.SplitHostPort(live.Trunk.Address)
	if err != nil {
		host = live.Trunk.Address // a bare host
	}
	callee := sip.Uri{Scheme: "sip", User: d.Destination.E164, Host: host}
	target := dialog.Target{URI: callee, Destination: live.Trunk.Address, Transport: live.Trunk.Transport,
		From: sip.Uri{Scheme: "sip", User: d.CallerID, Host: s.opts.advertise.String()}, To: callee}
	if s.opts.trunkAuth != nil {
		target.Auth = s.opts.trunkAuth(live.Trunk.Name)
	}
	// The callee sees the caller ID in From and, for carriers that take
	// the network-asserted identity (RFC 3325), in P-Asserted-Identity.
	pai := sip.NewHeader("P-Asserted-Identity", fmt.Sprintf("<sip:%s@%s>", d.CallerID, s.opts.advertise))
	s.Metrics.CallsActive.Add(1)
	started := time.Now()
	log.Info("outbound call", "to", d.Destination.E164, "caller_id", d.CallerID, "from", src)
	ending := calling.PlaceOutbound(ctx, agents.Outbound{
		User: user, Phone: dlg, Conn: conn, SDP: sdp, Answer: answer, Negotiated: neg,
		Sources: s.sources(neg.Remote.Addr(), src.Addr()), Trunk: target, Headers: []sip.Header{pai},
		Record: record, Confirmed: confirm,
	})
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, ErrServerStopped):
		ending = "server-stopped"
	case errors.Is(cause, billing.ErrCreditsExhausted):
		ending = "credits-exhausted"
	}
	s.Metrics.CallsActive.Add(-1)
	s.Metrics.lasted(time.Since(started))
	end(ending)
	s.Metrics.outcome("outbound-" + ending)
	log.Info("outbound call ended", "ending", ending)
}

// reasonPhrase is the reason phrase of the statuses the policy refuses
// with.
func reasonPhrase(status int) string {
	switch status {
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 484:
		return "Address Incomplete"
	}
	return "Refused"
}
