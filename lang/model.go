package lang

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Config is one repository's whole configuration: every block of every
// *.hcl file under the directory given to [Parser.LoadDir], in file order.
//
// Config is the typed model only. It says nothing about whether references
// resolve or rules such as S24 hold; that is the compiler's job. Lists keep
// declaration order (files sorted by path, blocks in source order) so that
// diagnostics and generated output are deterministic.
type Config struct {
	Organization *Organization // nil when no organization block exists
	Credits      *Credits      // nil when no credits block exists
	Recordings   *Recordings   // nil when no recordings block exists
	Rates        *Rates        // nil when the default rate card applies unchanged
	Trunks       []*Trunk
	Numbers      []*Number
	Users        []*User
	Groups       []*Group
	Flows        []*Flow
}

// Ref is a reference written as an HCL traversal, KIND.NAME, such as
// user.alice or ivr.main. Kind is the block type it names.
type Ref struct {
	Kind  string
	Name  string
	Range hcl.Range
}

// IsValid reports whether the reference was read. An invalid reference has
// been reported by the parser; checks skip it.
func (r Ref) IsValid() bool { return r.Kind != "" }

// String returns the reference as written, "kind.name".
func (r Ref) String() string { return r.Kind + "." + r.Name }

// String is an optional string attribute with its source range.
type String struct {
	Value string
	Set   bool
	Range hcl.Range // the attribute's expression; zero when !Set
}

// Int is an optional whole-number attribute with its source range.
type Int struct {
	Value int64
	Set   bool
	Range hcl.Range
}

// Bool is an optional boolean attribute with its source range.
type Bool struct {
	Value bool
	Set   bool
	Range hcl.Range
}

// Amount is an optional money attribute in micro-credits
// (1 credit = 1,000,000 micro-credits), so that no floating point is
// ever used for money.
type Amount struct {
	Micro int64
	Set   bool
	Range hcl.Range
}

// Organization holds the organisation-wide settings (S4, S26).
type Organization struct {
	Name             String
	Country          String // ISO 3166-1 alpha-2, such as "US"
	Currency         String // ISO 4217, such as "USD"; credits are shown in it
	Partner          Bool   // a partner organisation cannot use auto-recharge (S4)
	ManagedByPartner Bool   // a customer linked to a partner: same restriction (S4)
	SupportNumber    *Ref   // where callbacks to a custom caller ID go (S26)
	// SIPDomain is the domain users' phones register in (sip:NAME@DOMAIN);
	// unset, the server's own host is the domain.
	SIPDomain String
	// Outbound is the organisation's policy for outgoing calls; nil when
	// the block is not written.
	Outbound  *Outbound
	DeclRange hcl.Range
}

// Outbound is the destination policy of outgoing calls, declared in the
// organization block. China (+86) is refused whatever it says (S29).
type Outbound struct {
	// BlockedCountries are ISO 3166-1 alpha-2 codes no call may go to,
	// as written; the compiler checks them.
	BlockedCountries      []String
	BlockedCountriesRange hcl.Range
	// BlockPremium refuses calls to premium-rate numbers.
	BlockPremium Bool
	DeclRange    hcl.Range
}

// Credits holds the prepaid-credit settings (S1–S4).
type Credits struct {
	// LowBalance is the balance below which the administrator is
	// notified; DefaultLowBalance when unset.
	LowBalance   Amount
	AutoRecharge *AutoRecharge // nil when auto-recharge is not configured
	DeclRange    hcl.Range
}

// AutoRecharge buys Amount credits the moment the balance falls below
// Threshold (S4).
type AutoRecharge struct {
	Enabled   Bool // defaults to true when the block is present
	Threshold Amount
	Amount    Amount
	DeclRange hcl.Range
}

// Recordings holds the recording storage settings (S7–S9).
type Recordings struct {
	Plan        String // free | 50k | 200k | 1m; default free
	DeleteAfter String // 3mo | 6mo; unset keeps recordings
	DeclRange   hcl.Range
}

// Number is a phone number the organisation owns (S13–S16).
type Number struct {
	Name        string
	E164        String
	Type        String // local | mobile | toll_free
	Region      String // the region or address it was bought for (S14); informational
	Description String
	DeclRange   hcl.Range // the block header
	NameRange   hcl.Range // the block label
}

// User is a telephony user (S25, S26).
type User struct {
	Name                string
	DisplayName         String
	Email               String
	AllowOutgoing       Bool
	RecordOutgoing      Bool
	CallerID            *Ref
	AllowCustomCallerID Bool
	// CustomCallerID is the number shown instead of CallerID (S26),
	// chosen by an administrator; nil when not written.
	CustomCallerID *Ref
	DeclRange      hcl.Range
	NameRange      hcl.Range
}

// Group is a telephony group (S27). Membership is declared here only.
type Group struct {
	Name        string
	Description String
	Members     []Ref
	MembersSet  bool
	DeclRange   hcl.Range
	NameRange   hcl.Range
}

// Flow is a call flow (S17–S24): states joined by connections.
type Flow struct {
	Name        string
	Description String
	Numbers     []Ref
	Start       *Ref // nil when the flow has no start attribute
	Enabled     Bool // defaults to true
	States      []*State
	DeclRange   hcl.Range
	NameRange   hcl.Range
}

// StateKind names one of the five kinds of state.
type StateKind string

// The five state kinds. Each is also the block type and the first part of
// a reference to a state of that kind.
const (
	Announce      StateKind = "announce"
	IVR           StateKind = "ivr"
	TransferUser  StateKind = "transfer_user"
	TransferGroup StateKind = "transfer_group"
	Voicemail     StateKind = "voicemail"
)

// StateKinds lists every kind in the order the documentation uses.
var StateKinds = []StateKind{Announce, IVR, TransferUser, TransferGroup, Voicemail}

// IsStateKind reports whether s names a state kind.
func IsStateKind(s string) bool {
	for _, k := range StateKinds {
		if string(k) == s {
			return true
		}
	}
	return false
}

// State is one state of a flow. Kind says which of the option pointers is
// set; the others are nil.
type State struct {
	Kind      StateKind
	Name      string
	Prompt    Prompt
	Conns     []Connection // every connection written, in source order
	DeclRange hcl.Range    // the block header
	NameRange hcl.Range    // the block label

	IVR           *IVROptions
	TransferUser  *TransferUserOptions
	TransferGroup *TransferGroupOptions
	Voicemail     *VoicemailOptions
}

// Ref returns the reference that names this state, such as ivr.main.
func (s *State) Ref() string { return string(s.Kind) + "." + s.Name }

// Prompt is what the caller hears: text-to-speech (Say) or audio (Play, a
// WAV file relative to the file that names it, or an https URL) (S21, S23).
type Prompt struct {
	Say  String
	Play String
}

// IsSet reports whether either form of the prompt is written.
func (p Prompt) IsSet() bool { return p.Say.Set || p.Play.Set }

// Connection is one edge of the flow graph: an outcome of a state and the
// state it leads to.
type Connection struct {
	// Outcome is the attribute that holds the connection: "next",
	// "on_timeout", "on_unavailable", "on_busy", "on_all_busy", or "key"
	// for an IVR key.
	Outcome  string
	Key      string    // the IVR key, "0"–"9" or "*", when Outcome is "key"
	KeyRange hcl.Range // the key block's label
	Target   Ref
	Range    hcl.Range // the whole attribute, name and value
}

// Label is how the connection is shown to people: "key 1", "timeout"…
func (c Connection) Label() string {
	if c.Outcome == "key" {
		return "key " + c.Key
	}
	if c.Outcome == "next" {
		return "next"
	}
	return strings.ReplaceAll(strings.TrimPrefix(c.Outcome, "on_"), "_", " ")
}

// ConnectionOutcomes lists every connection attribute a state may hold,
// besides IVR key blocks. Which ones a kind allows is a compiler rule.
var ConnectionOutcomes = []string{"next", "on_timeout", "on_unavailable", "on_busy", "on_all_busy"}

// IVROptions are the options of an ivr state (S20).
type IVROptions struct {
	Timeout Int // seconds after the prompt ends; default DefaultIVRTimeout
}

// TransferUserOptions are the options of a transfer_user state (S18).
type TransferUserOptions struct {
	User        Ref
	RingTimeout Int
	Record      Bool
	Queue       *Queue
}

// Queue holds callers while the user is on another call (S18).
type Queue struct {
	MaxWaiting Int
	Prompt     Prompt // the announcement to waiting callers
	Music      String // hold music: a WAV file or an https URL
	Repeat     Int    // how many times the music plays
	DeclRange  hcl.Range
}

// TransferGroupOptions are the options of a transfer_group state (S19).
type TransferGroupOptions struct {
	Group       Ref
	Ring        String // parallel | sequential
	RingTimeout Int    // per agent when sequential
	Record      Bool
}

// VoicemailOptions are the options of a voicemail state (S22).
type VoicemailOptions struct {
	MaxLength Int // seconds, at most MaxVoicemailLength
	Timeout   Int // the state's own time limit, seconds
}

// Defaults the language documents. The compiler's bounds live beside its
// checks.
const (
	DefaultIVRTimeout           = 5   // S20: five seconds after the prompt ends
	DefaultRingTimeout          = 30  // seconds
	DefaultQueueRepeat          = 1   // plays of the hold music
	DefaultVoicemailLength      = 120 // seconds
	MaxVoicemailLength          = 120 // S22: two minutes
	DefaultVoicemailTimeout     = 180 // seconds: prompt, beep, a full message and some slack
	DefaultRecordingPlan        = "free"
	DefaultLowBalance           = 10_000_000 // micro-credits: 10 credits
	DefaultGroupRing            = "parallel"
	DefaultOrganizationCurrency = "USD"
)
