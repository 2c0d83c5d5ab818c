package agents

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/callflow/callflow/telephony/dialog"
	"github.com/callflow/callflow/telephony/media"
)

// Outbound is a call a user's phone places through the trunk (S25): the
// phone's INVITE, accepted, and what to place on the trunk for it.
type Outbound struct {
	// User is the user whose phone calls; they are on a call (busy for
	// transfers) until it ends.
	User string
	// Phone is the dialog of the phone's INVITE; Conn its RTP socket,
	// Answer our SDP answer to its offer (sent with the 200 OK once the
	// callee answers), SDP and Negotiated what that answer settled, and
	// Sources the hosts its media may come from.
	Phone      *dialog.Dialog
	Conn       net.PacketConn
	SDP        *media.Session
	Answer     []byte
	Negotiated media.Negotiated
	Sources    []netip.Addr
	// Trunk is where the call goes: the carrier, with our credentials if
	// it asks; Headers are added to the INVITE (P-Asserted-Identity).
	Trunk   dialog.Target
	Headers []sip.Header
	// Record records the call from the callee's answer (record_outgoing).
	Record bool
	// Confirmed is called when the callee answered and the phone
	// confirmed our answer: the call's minutes start.
	Confirmed func()
	// MaxRing bounds the carrier's ringing; two minutes when zero.
	MaxRing time.Duration
}

// Endings of outbound calls, for their records.
const (
	EndConnected   = "connected"
	EndCancelled   = "cancelled"   // the caller hung up before the callee answered
	EndBusy        = "busy"        // the callee's side said busy (486, 600, 603)
	EndNoAnswer    = "no-answer"   // nobody answered (408, 480, 487, our ring limit)
	EndUnavailable = "unavailable" // the callee could not be reached (404, 5xx, no response)
	EndFailed      = "failed"      // our side failed: no RTP port, the answer not confirmed
)

// PlaceOutbound places o on the trunk and bridges the phone to the callee
// once they answer: the carrier's ringing reaches the phone as 180, its
// refusals with their codes, the phone's CANCEL cancels the trunk's
// INVITE, and either side's BYE ends both. It returns the call's ending.
// ctx ends the call early (the server stops, credits run out).
func (c *Call) PlaceOutbound(ctx context.Context, o Outbound) string {
	log := c.log().With("user", o.User)
	// The phone's CANCEL or BYE ends its dialog's context: the call too.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopAfter := context.AfterFunc(o.Phone.Context(), cancel)
	defer stopAfter()

	work := context.WithoutCancel(ctx)
	sctx, scancel := context.WithTimeout(work, storeDeadline)
	if _, err := c.cfg.Directory.Claim(sctx, c.cfg.ID, o.User); err != nil {
		log.Warn("outbound: presence", "err", err)
	}
	scancel()
	released := false
	release := func() {
		if released {
			return
		}
		released = true
		sctx, scancel := context.WithTimeout(work, storeDeadline)
		defer scancel()
		if err := c.cfg.Directory.Release(sctx, c.cfg.ID, o.User); err != nil {
			log.Warn("outbound: presence", "err", err)
		}
		c.host.Queues.Free(o.User)
	}
	defer release()

	conn, port, err := c.host.Listen()
	if err != nil {
		log.Error("outbound: no RTP port for the trunk's leg", "err", err)
		o.Phone.Reject(503, "No Media Port")
		return EndFailed
	}
	keep := false
	defer func() {
		if !keep {
			conn.Close()
		}
	}()
	tsdp := media.NewSession(netip.AddrPortFrom(c.host.Advertise, uint16(port)))
	out, err := c.host.Dialogs.Invite(ctx, o.Trunk, tsdp.OfferFirst(o.Negotiated.PayloadType), o.Headers...)
	if err != nil {
		log.Warn("outbound: the trunk's INVITE was not sent", "err", err)
		o.Phone.Reject(503, "Service Unavailable")
		return EndUnavailable
	}
	h := &agentDialog{mu: &sync.Mutex{}, sdp: tsdp}
	out.SetHandler(h)
	maxRing := o.MaxRing
	if maxRing == 0 {
		maxRing = 2 * time.Minute
	}
	rctx, rcancel := context.WithTimeout(ctx, maxRing)
	defer rcancel()
	ringing := make(chan struct{})
	go func() {
		defer close(ringing)
		rang := false
		for st := range out.Progress() {
			if (st == 180 || st == 183) && !rang {
				rang = true // the phone plays its ringback; early media is not relayed
				o.Phone.Ring(180, "Ringing", nil)
			}
		}
	}()
	dlg, res, err := out.Wait(rctx)
	<-ringing
	if err != nil {
		var rej *dialog.Rejected
		switch {
		case o.Phone.Context().Err() != nil:
			return EndCancelled // the phone's CANCEL answered itself
		case errors.As(err, &rej):
			o.Phone.Reject(rej.Status, rej.Reason)
			switch {
			case rej.Status == 486 || rej.Status == 600 || rej.Status == 603:
				return EndBusy
			case rej.Status == 408 || rej.Status == 480 || rej.Status == 487:
				return EndNoAnswer
			}
			return EndUnavailable
		case errors.Is(err, dialog.ErrCancelled) && ctx.Err() == nil:
			o.Phone.Reject(408, "Request Timeout") // our ring limit
			return EndNoAnswer
		case errors.Is(err, dialog.ErrCancelled):
			o.Phone.Reject(503, "Service Unavailable")
			return EndFailed
		}
		o.Phone.Reject(480, "Temporarily Unavailable")
		return EndUnavailable
	}
	neg, err := tsdp.ReadAnswer(res.Body())
	if err != nil {
		log.Warn("outbound: the callee's answer has no audio we can use", "err", err)
		byeLate(dlg)
		o.Phone.Reject(488, "Not Acceptable Here")
		return EndFailed
	}
	if _, err := o.Phone.Answer(ctx, o.Answer); err != nil {
		byeLate(dlg)
		switch {
		case errors.Is(err, dialog.ErrBye):
			// The phone's BYE overtook its ACK: it hung up as the callee
			// answered, and the call, connected, is over.
			if o.Confirmed != nil {
				o.Confirmed()
			}
			return EndConnected
		case errors.Is(err, dialog.ErrCancelled):
			return EndCancelled
		}
		return EndFailed
	}
	if o.Confirmed != nil {
		o.Confirmed()
	}
	at := time.Now()
	keep = true
	leg := &Leg{call: c, user: o.User, dlg: dlg, conn: conn, sdp: tsdp, neg: neg, record: o.Record, answered: at, handler: h}
	if src, err := netip.ParseAddrPort(o.Trunk.Destination); err == nil {
		leg.source = src.Addr().Unmap()
	}
	released = true // the leg releases the user when it closes
	defer leg.Close()
	if c.cfg.Report != nil {
		c.cfg.Report.Connected(o.User, at)
	}

	// The phone's media: its own stream and latch; its re-INVITEs (hold,
	// a new address) are answered and applied.
	stream := media.NewStream(o.Conn, net.UDPAddrFromAddrPort(o.Negotiated.Remote), o.Negotiated.PayloadType, c.host.Sent)
	c.host.Pacer.Add(stream)
	defer func() {
		stream.Close()
		<-stream.Done()
	}()
	phone := media.Leg{Conn: o.Conn, Stream: stream, Latch: media.NewLatch(o.Negotiated.Remote, o.Sources...), Codec: o.Negotiated.PayloadType, DTMFType: o.Negotiated.DTMFType}
	o.Phone.SetHandler(&phoneDialog{sdp: o.SDP, stream: stream, latch: phone.Latch})
	log.Info("outbound call answered", "to", o.Trunk.To.User)
	if err := leg.Bridge(ctx, phone); err != nil {
		log.Warn("outbound: the bridge ended with an error", "err", err)
	}
	if o.Phone.Context().Err() == nil {
		byeCtx, byeCancel := context.WithTimeout(context.Background(), 5*time.Second)
		o.Phone.Bye(byeCtx)
		byeCancel()
	}
	return EndConnected
}

// phoneDialog takes the offers of a calling phone's dialog while it is
// bridged: a new address moves its media, a hold stops what goes to it.
type phoneDialog struct {
	mu     sync.Mutex
	sdp    *media.Session
	stream *media.Stream
	latch  *media.Latch
}

func (p *phoneDialog) Offer(offer []byte) ([]byte, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(offer) == 0 {
		return p.sdp.Offer(), 0
	}
	answer, n, err := p.sdp.Answer(offer)
	if err != nil {
		return nil, 488
	}
	p.apply(n)
	return answer, 0
}

func (p *phoneDialog) Answer(answer []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n, err := p.sdp.ReadAnswer(answer); err == nil {
		p.apply(n)
	}
}

func (p *phoneDialog) apply(n media.Negotiated) {
	if p.latch.Offer(n.Remote) {
		p.stream.SetRemote(net.UDPAddrFromAddrPort(n.Remote))
	}
	p.stream.SetSending(n.Direction.Sends())
}

// Info: keys are relayed as RFC 4733 events by the bridge; INFO is not.
func (p *phoneDialog) Info(string, []byte) {}
