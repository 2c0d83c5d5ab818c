package outbound

import (
	"errors"
	"fmt"
	"slices"

	"github.com/callflow/callflow/live"
)

// Refusal says, in one word, why a call is refused; "" when it is
// allowed. Reason says it in a sentence.
type Refusal string

// The refusals, with the SIP status each is answered with.
const (
	UnknownUser    Refusal = "unknown_user"    // 403: no such user in the live version
	NoOutgoing     Refusal = "no_outgoing"     // 403: the user lacks allow_outgoing
	NoCallerID     Refusal = "no_caller_id"    // 403: the user has no number to present
	InvalidNumber  Refusal = "invalid_number"  // 404, or 484 for an incomplete number
	China          Refusal = "china"           // 403: +86, however dialled (S29)
	BlockedCountry Refusal = "blocked_country" // 403: organization { outbound { blocked_countries } }
	Premium        Refusal = "premium_rate"    // 403: organization { outbound { block_premium } }
	NoRate         Refusal = "no_rate"         // 403: the rate card prices no such call
)

// SIP statuses a refused call is answered with: 403 Forbidden for
// policy; 404 Not Found for a number no country assigns, as a called
// number that does not exist is answered; 484 Address Incomplete for one
// too short to be a number, so that a phone that dials digit by digit
// may send more.
const (
	StatusForbidden  = 403
	StatusNotFound   = 404
	StatusIncomplete = 484
)

// Decision is what Check decides about one call.
type Decision struct {
	Allowed bool `json:"allowed"`
	// Status is the SIP status the call is refused with; 0 when allowed.
	Status  int     `json:"status"`
	Refusal Refusal `json:"refusal"`
	// Reason says exactly why the call is refused, or that it is
	// allowed, in a sentence for the phone's display, the log and the
	// call record.
	Reason string `json:"reason"`
	// User is the user who dials.
	User string `json:"user"`
	// Dialled is what the user dialled, as given.
	Dialled string `json:"dialled"`
	// Destination is the number read from Dialled, as far as it could be
	// read: empty for an invalid number.
	Destination Destination `json:"destination"`
	// CallerID is the E.164 number the callee sees (From and
	// P-Asserted-Identity): the user's custom caller ID when they have
	// one (CustomCallerID is then true), else their caller ID; "" when
	// the call is refused before it is known.
	CallerID       string `json:"caller_id"`
	CustomCallerID bool   `json:"custom_caller_id"`
	// RatePerMinute is the call's rate in micro-credits per started
	// minute, and RateKey the rate card's key that priced it
	// ("GB/mobile"); 0 and "" when refused before the rate is known.
	RatePerMinute live.Micro `json:"rate_per_minute"`
	RateKey       string     `json:"rate_key"`
}

// Check decides whether user may call dialled under the policy of m, the
// live version: the user must exist and have allow_outgoing and a caller
// ID; dialled must be a valid number (Normalize, read in the
// organisation's country); it must not be in China, whatever the model
// says (S29); it must not be in a country the organisation blocks, nor,
// when the organisation blocks premium rate, a premium-rate number; and
// the rate card must price it. m must not be nil. Check never places
// anything: the caller acts on the Decision.
func Check(m *live.Model, user, dialled string) Decision {
	d := Decision{User: user, Dialled: dialled}
	u, ok := m.User(user)
	if !ok {
		return d.refuse(StatusForbidden, UnknownUser, fmt.Sprintf("no user named %q is in the live version", user))
	}
	if !u.AllowOutgoing {
		return d.refuse(StatusForbidden, NoOutgoing, fmt.Sprintf("user %s may not place outgoing calls (allow_outgoing is not true)", user))
	}
	dest, err := Normalize(dialled, m.Organization.Country)
	d.Destination = dest
	switch {
	case errors.Is(err, ErrChina):
		return d.refuse(StatusForbidden, China, err.Error())
	case errors.Is(err, ErrIncomplete):
		return d.refuse(StatusIncomplete, InvalidNumber, "not a valid number: "+err.Error())
	case err != nil:
		return d.refuse(StatusNotFound, InvalidNumber, "not a valid number: "+err.Error())
	}
	if dest.Country == "CN" || len(dest.E164) >= 3 && dest.E164[:3] == "+86" {
		// Normalize refuses these already; S29 is checked twice, because a
		// loophole here is a call to China.
		return d.refuse(StatusForbidden, China, "calls to China (+86) are never placed (S29)")
	}
	if slices.Contains(m.Outbound.BlockedCountries, dest.Country) {
		return d.refuse(StatusForbidden, BlockedCountry, fmt.Sprintf("%s is in %s, a country the organisation blocks (organization { outbound { blocked_countries } })", dest.E164, dest.Country))
	}
	if m.Outbound.BlockPremium && dest.Type == PremiumRate {
		return d.refuse(StatusForbidden, Premium, fmt.Sprintf("%s is a premium-rate number, and the organisation blocks them (organization { outbound { block_premium = true } })", dest.E164))
	}
	d.CallerID = u.PresentedCallerID()
	d.CustomCallerID = u.CustomCallerID != ""
	if d.CallerID == "" {
		return d.refuse(StatusForbidden, NoCallerID, fmt.Sprintf("user %s has no caller ID to present to the callee (caller_id)", user))
	}
	rate, key, ok := m.Rates.OutgoingRate(dest.Country, dest.Type)
	if !ok {
		return d.refuse(StatusForbidden, NoRate, fmt.Sprintf("the rate card has no outgoing_per_minute rate for %s/%s, nor a \"*\" one", dest.Country, dest.Type))
	}
	d.RatePerMinute, d.RateKey = rate, key
	d.Allowed = true
	d.Reason = fmt.Sprintf("user %s may call %s (%s, %s)", user, dest.E164, dest.Country, dest.Type)
	return d
}

func (d Decision) refuse(status int, why Refusal, reason string) Decision {
	d.Allowed, d.Status, d.Refusal, d.Reason = false, status, why, reason
	return d
}
