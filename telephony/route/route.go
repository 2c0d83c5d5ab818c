// Package route decides what happens to an incoming INVITE before any
// media is set up: whether its source may deliver calls at all, which of
// the organisation's numbers it is for, and which flow answers it (S16).
// It is a pure function of the live configuration, so that the server's
// most security-sensitive decision is tested without a network.
package route

import (
	"net/netip"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Table is the routing state built from the live configuration.
type Table struct {
	// Trunks are the networks that may deliver inbound calls. An INVITE
	// from anywhere else is refused.
	Trunks []netip.Prefix
	// Numbers maps an E.164 number to its route.
	Numbers map[string]Number
	// Country is the organisation's country, for dialled numbers written
	// in national form ("4155550100"); "" accepts E.164 only.
	Country string
}

// Number is one number's route.
type Number struct {
	Name    string // the number block's name
	Flow    string // "" when no flow answers it
	Enabled bool   // whether that flow takes calls
}

// Decision is what to do with an INVITE: answer it with Flow, or refuse
// it with Status and Reason.
type Decision struct {
	Status int    // 0 to accept; else the SIP status to refuse with
	Reason string // the SIP reason phrase
	Number string // the E.164 number dialled, when known
	Flow   string
}

// Route decides an INVITE from src for the user part of its Request-URI.
//
// Refusals say no more than they must: a source that is not a trunk gets
// 403 whatever it dials, so strangers learn nothing about which numbers
// exist; a trunk may learn that a number is not ours (404), has no flow
// or a disabled one (480).
func (t *Table) Route(src netip.Addr, dialled string) Decision {
	if !t.trusted(src) {
		return Decision{Status: 403, Reason: "Forbidden"}
	}
	e164, ok := t.normalise(dialled)
	if !ok {
		return Decision{Status: 404, Reason: "Not Found"}
	}
	n, ok := t.Numbers[e164]
	switch {
	case !ok:
		return Decision{Status: 404, Reason: "Not Found", Number: e164}
	case n.Flow == "":
		return Decision{Status: 480, Reason: "No Flow Answers This Number", Number: e164}
	case !n.Enabled:
		return Decision{Status: 480, Reason: "Flow Disabled", Number: e164, Flow: n.Flow}
	}
	return Decision{Number: e164, Flow: n.Flow}
}

func (t *Table) trusted(src netip.Addr) bool {
	src = src.Unmap()
	for _, p := range t.Trunks {
		if p.Contains(src) {
			return true
		}
	}
	return false
}

// normalise turns a dialled user part into E.164: "+14155550100",
// "14155550100" with the organisation's country code, "004414…",
// national "4155550100", and visual separators are all accepted.
func (t *Table) normalise(user string) (string, bool) {
	user, _, _ = strings.Cut(user, ";") // user parameters, such as ;npdi
	if len(user) == 0 || len(user) > 32 {
		return "", false
	}
	var digits strings.Builder
	for i, r := range user {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == '+' && i == 0:
			digits.WriteRune(r)
		case r == '-' || r == '.' || r == '(' || r == ')' || r == ' ':
		default:
			return "", false // letters: a name, not a number
		}
	}
	d := digits.String()
	if strings.HasPrefix(d, "00") {
		d = "+" + d[2:]
	}
	// One of ours as written, or written with the country code but no
	// plus; otherwise read it as a national number of the country.
	for _, candidate := range []string{d, "+" + strings.TrimPrefix(d, "+")} {
		if _, ok := t.Numbers[candidate]; ok {
			return candidate, true
		}
	}
	if t.Country == "" && !strings.HasPrefix(d, "+") {
		return "", false
	}
	num, err := phonenumbers.Parse(d, t.Country)
	if err != nil {
		return "", false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}
