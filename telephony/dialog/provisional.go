package dialog

import (
	"context"

	"github.com/emiago/sipgo/sip"
)

// Ring sends a provisional response to the INVITE (180 Ringing, 183
// Session Progress) with our To-tag and Contact, so that the caller knows
// the far end rings; sdp, when set, is early media's answer. It sends
// nothing once the INVITE has a final response or was cancelled.
func (d *Dialog) Ring(status int, reason string, sdp []byte) error {
	if d.invite == nil {
		return errOurs
	}
	if status <= 100 || status >= 200 {
		return &Rejected{Status: status, Reason: "not a provisional status"}
	}
	d.mu.Lock()
	done := d.answered || d.ended
	d.mu.Unlock()
	if done || d.ctx.Err() != nil {
		return context.Cause(d.ctx)
	}
	res := sip.NewResponseFromRequest(d.invite, status, reason, sdp)
	if to := res.To(); to != nil && !to.Params.Has("tag") {
		to.Params.Add("tag", d.localTag())
	}
	res.AppendHeader(d.contact())
	if len(sdp) > 0 {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	d.set.decorate(res, status)
	return d.tx.Respond(res)
}
