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
	// Outbound is the organisation's own policy for outgoing calls
	// (organization { outbound }), on top of the rule no configuration
	// can lift: no call to China (S29).
	Outbound Outbound `json:"outbound"`
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

// Outbound is the destination policy an organisation declares for its
// users' outgoing calls (package outbound applies it).
type Outbound struct {
	// BlockedCountries are ISO 3166-1 alpha-2 codes no call may go to,
	// sorted, each once; never nil in an encoding. China is refused
	// whether or not it is listed.
	BlockedCountries []string `json:"blocked_countries"`
	// BlockPremium refuses premium-rate destinations.
	BlockPremium bool `json:"block_premium"`
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
	// destination: "COUNTRY/type", "COUNTRY", "*/type" or "*", where
	// COUNTRY is ISO 3166-1 alpha-2 and type a destination type (package
	// outbound). OutgoingRate says which key prices a destination.
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
	// Flow is the flow that answers it; "" for none. For a custom caller
	// ID it is the flow of the organisation's support number, which no
	// flow's Numbers lists: callbacks to a custom caller ID run the
	// support number's flow (S26).
	Flow string `json:"flow"`
	// CustomCallerID says that the number is some user's custom caller
	// ID: no flow of its own answers it, and its Flow follows the support
	// number's (RouteCustomCallerIDs).
	CustomCallerID bool `json:"custom_caller_id"`
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
	// CustomCallerID is the E.164 number those the user calls see
	// instead of CallerID, set by an administrator (S26); "" for none.
	// It is a number with CustomCallerID set, and requires
	// AllowCustomCallerID.
	CustomCallerID string `json:"custom_caller_id"`
}

// PresentedCallerID is the number those the user calls see: the custom
// caller ID when the user has one, else the caller ID; "" for none.
func (u User) PresentedCallerID() string {
	if u.CustomCallerID != "" {
		return u.CustomCallerID
	}
	return u.CallerID
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

// User returns the user named name.
func (m *Model) User(name string) (User, bool) {
	for _, u := range m.Users {
		if u.Name == name {
			return u, true
		}
	}
	return User{}, false
}

// RouteCustomCallerIDs points every custom caller ID number at the flow
// of the support number, so that the route table (number → flow) sends
// a callback to it to the support flow (S26). Call it whenever a
// number's flow may have changed: when a model is made, and when a flow
// is republished.
func (m *Model) RouteCustomCallerIDs() {
	support := ""
	for _, n := range m.Numbers {
		if n.E164 == m.Organization.SupportNumber && m.Organization.SupportNumber != "" {
			support = n.Flow
		}
	}
	for i := range m.Numbers {
		if m.Numbers[i].CustomCallerID {
			m.Numbers[i].Flow = support
		}
	}
}

// OutgoingRateKeys are the keys of RateCard.OutgoingPerMinute that may
// price a call to a destination of type typ in country, most specific
// first: "GB/mobile", "GB", "*/mobile", "*".
func OutgoingRateKeys(country, typ string) []string {
	return []string{country + "/" + typ, country, "*/" + typ, "*"}
}

// OutgoingRate returns the per-minute rate of a call to a destination of
// type typ in country, and the key that priced it; ok is false when no
// key does.
func (r RateCard) OutgoingRate(country, typ string) (rate Micro, key string, ok bool) {
	for _, k := range OutgoingRateKeys(country, typ) {
		if rate, ok := r.OutgoingPerMinute[k]; ok {
			return rate, k, true
		}
	}
	return 0, "", false
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
