// Package live is the typed model of one applied version, as the runtime
// reads it: the organisation, its credits and recordings settings, the
// rate card it was applied with, its trunks, numbers, users, groups and
// flows. `callflow apply` makes a Model from the checked configuration
// (package plan) and stores its Encode-ing with the version; the server
// reads it back with Decode, so that nothing on the call path parses HCL
// or runs the compiler.
//
// A Model is plain data: it imports nothing of the front end, and its
// encoding is versioned (FormatVersion) and strict. Decode refuses an
// encoding with unknown or missing fields, and Validate a model whose
// parts do not agree (a number answered by a flow that does not exist),
// so that a damaged stored model is an error, never a call routed wrong.
package live

import "net/netip"

// Micro is an amount of money in micro-credits: 1 credit = 1 USD =
// 1,000,000 micro-credits. Money is never floating point.
type Micro int64

// Model is the typed configuration of one applied version. Its lists are
// sorted by name, so that equal configurations encode to equal bytes.
type Model struct {
	Organization Organization `json:"organization"`
	Credits      Credits      `json:"credits"`
	Recordings   Recordings   `json:"recordings"`
	// Rates is the effective rate card: the default card of the callflow
	// that applied the version with the configuration's rates laid over
	// it. A version carries the prices it was applied with, so that an
	// upgrade of callflow changes no price until it is applied again.
	Rates   RateCard `json:"rates"`
	Trunks  []Trunk  `json:"trunks"`
	Numbers []Number `json:"numbers"`
	Users   []User   `json:"users"`
	Groups  []Group  `json:"groups"`
	Flows   []Flow   `json:"flows"`
}

// Organization holds the organisation-wide settings (S4, S26).
type Organization struct {
	Name     string `json:"name"`     // "" when not written
	Country  string `json:"country"`  // ISO 3166-1 alpha-2; "" accepts dialled numbers in E.164 only
	Currency string `json:"currency"` // ISO 4217; never ""
	// Partner and ManagedByPartner say that the organisation is a
	// partner, or a customer of one: either turns auto-recharge off (S4).
	Partner          bool `json:"partner"`
	ManagedByPartner bool `json:"managed_by_partner"`
	// SupportNumber is the E.164 number callbacks to a custom caller ID
	// go to (S26); "" for none.
	SupportNumber string `json:"support_number"`
	// SIPDomain is the domain users' phones register in, as
	// sip:NAME@DOMAIN: a host name or an IP address, lower case; "" when
	// not written, and then the server's own host is the domain.
	SIPDomain string `json:"sip_domain"`
}

// Credits holds the prepaid-credit settings (S1–S4).
type Credits struct {
	// LowBalance is the balance below which the administrator is
	// notified; 0 for never.
	LowBalance   Micro        `json:"low_balance"`
	AutoRecharge AutoRecharge `json:"auto_recharge"`
}

// AutoRecharge buys Amount credits when the balance falls below
// Threshold (S4), as written; the ledger turns it off for partners.
type AutoRecharge struct {
	Enabled   bool  `json:"enabled"`
	Threshold Micro `json:"threshold"`
	Amount    Micro `json:"amount"`
}

// Recordings holds the recording storage settings (S7–S9).
type Recordings struct {
	Plan        string `json:"plan"`         // free | 50k | 200k | 1m; never ""
	DeleteAfter string `json:"delete_after"` // 3mo | 6mo; "" keeps recordings
}

// RateCard holds what things cost (S1), every entry written out.
type RateCard struct {
	// NumberMonthly is a number's monthly fee by country (ISO 3166-1
	// alpha-2; "*" for any other) and number type.
	NumberMonthly map[string]map[string]Micro `json:"number_monthly"`
	// IncomingPerMinute is the per-minute rate of an incoming call by the
	// type of the number called.
	IncomingPerMinute map[string]Micro `json:"incoming_per_minute"`
	// OutgoingPerMinute is the per-minute rate of an outgoing call by the
	// country called; "*" for any other.
	OutgoingPerMinute map[string]Micro `json:"outgoing_per_minute"`
	// CreditValue is what one credit is worth in each currency, in
	// millionths of that currency's unit.
	CreditValue map[string]Micro `json:"credit_value"`
}

// Trunk is a carrier's SIP trunk.
type Trunk struct {
	Name      string `json:"name"`
	Address   string `json:"address"`   // host:port, for outgoing calls
	Transport string `json:"transport"` // udp | tcp
	// InboundFrom are the networks that may deliver calls to the
	// organisation's numbers, masked; never empty.
	InboundFrom []netip.Prefix `json:"inbound_from"`
}

// Number is a phone number the organisation owns (S13–S16).
type Number struct {
	Name string `json:"name"`
	E164 string `json:"e164"`
	Type string `json:"type"` // local | mobile | toll_free
	// Country is the number's country (ISO 3166-1 alpha-2), read from its
	// E.164 when it was applied; its monthly fee is by country.
	Country string `json:"country"`
	Region  string `json:"region"` // as written, informational; "" when not
	Flow    string `json:"flow"`   // the flow that answers it; "" for none
}

// User is a telephony user (S25, S26).
type User struct {
	Name           string `json:"name"`
	DisplayName    string `json:"display_name"`
	Email          string `json:"email"`
	AllowOutgoing  bool   `json:"allow_outgoing"`
	RecordOutgoing bool   `json:"record_outgoing"`
	// CallerID is the E.164 number those the user calls see; "" for none.
	CallerID            string `json:"caller_id"`
	AllowCustomCallerID bool   `json:"allow_custom_caller_id"`
}

// Group is a telephony group (S27).
type Group struct {
	Name string `json:"name"`
	// Members are users' names, in the order the configuration lists them.
	Members []string `json:"members"`
}

// Flow is one flow's place in the version; its program is stored apart,
// as a flow version.
type Flow struct {
	Name    string   `json:"name"`
	Enabled bool     `json:"enabled"`
	Numbers []string `json:"numbers"` // the names of the numbers it answers, sorted
}

// Number returns the number named name.
func (m *Model) Number(name string) (Number, bool) {
	for _, n := range m.Numbers {
		if n.Name == name {
			return n, true
		}
	}
	return Number{}, false
}

// Flow returns the flow named name.
func (m *Model) Flow(name string) (Flow, bool) {
	for _, f := range m.Flows {
		if f.Name == name {
			return f, true
		}
	}
	return Flow{}, false
}
