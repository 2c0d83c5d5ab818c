// Package plan is plan and apply: Make compares a checked repository with
// what is live — it normalises the configuration into a Snapshot, diffs
// two snapshots semantically (objects added, changed and removed; for
// flows, states and connections) and prices the difference in monthly
// fees — and Apply stores the result as a new version, with the typed
// live model the runtime reads (NewLive, package live). `callflow plan`
// prints a Plan and `callflow apply` applies it. Nothing on the call path
// imports plan: the server reads the typed model.
package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/lang"
)

// Snapshot is a configuration with everything that does not change its
// meaning taken out: source ranges, layout, comments, order of blocks
// across files, and defaults written out or not. Two repositories that
// mean the same have equal snapshots. It is stored as JSON with every
// version.
type Snapshot struct {
	Organization Object            `json:"organization"`
	Credits      Object            `json:"credits"`
	Recordings   Object            `json:"recordings"`
	Rates        Object            `json:"rates,omitempty"` // overrides of the default rate card
	Trunks       map[string]Object `json:"trunks,omitempty"`
	Numbers      map[string]Object `json:"numbers"`
	Users        map[string]Object `json:"users"`
	Groups       map[string]Object `json:"groups"`
	Flows        map[string]Flow   `json:"flows"`
}

// Object is one object's settings, each written as text: "true", "30",
// "number.support", "[user.alice, user.bob]".
type Object map[string]string

// Flow is one flow's settings and states.
type Flow struct {
	Settings Object           `json:"settings"`
	States   map[string]State `json:"states"` // by reference, "ivr.main"
}

// State is one state's settings and connections.
type State struct {
	Settings    Object `json:"settings"`
	Connections Object `json:"connections"` // outcome label ("key 1", "timeout") → state
}

// NewSnapshot normalises a checked model. The model must have no errors.
func NewSnapshot(m *compiler.Model) *Snapshot {
	cfg := m.Config
	s := &Snapshot{
		Organization: Object{}, Credits: Object{}, Recordings: Object{"plan": lang.DefaultRecordingPlan},
		Numbers: map[string]Object{}, Users: map[string]Object{}, Groups: map[string]Object{}, Flows: map[string]Flow{},
	}
	// An empty organization block and none at all mean the same.
	s.Organization["currency"] = lang.DefaultOrganizationCurrency
	s.Organization["partner"], s.Organization["managed_by_partner"] = "false", "false"
	if o := cfg.Organization; o != nil {
		set(s.Organization, "name", o.Name)
		set(s.Organization, "country", o.Country)
		s.Organization["currency"] = o.Currency.Value
		s.Organization["partner"] = strconv.FormatBool(o.Partner.Value)
		s.Organization["managed_by_partner"] = strconv.FormatBool(o.ManagedByPartner.Value)
		if o.SupportNumber != nil {
			s.Organization["support_number"] = o.SupportNumber.String()
		}
		set(s.Organization, "sip_domain", o.SIPDomain)
		if out := o.Outbound; out != nil {
			countries := make([]string, 0, len(out.BlockedCountries))
			for _, cc := range out.BlockedCountries {
				countries = append(countries, strconv.Quote(cc.Value))
			}
			sort.Strings(countries)
			countries = slices.Compact(countries)
			// Written only when they say something, so that an empty
			// outbound block and none mean the same.
			if len(countries) > 0 {
				s.Organization["outbound.blocked_countries"] = "[" + strings.Join(countries, ", ") + "]"
			}
			if out.BlockPremium.Value {
				s.Organization["outbound.block_premium"] = "true"
			}
		}
	}
	s.Rates = rateObject(cfg.Rates)
	s.Trunks = map[string]Object{}
	for _, t := range cfg.Trunks {
		nets := make([]string, len(t.InboundFrom))
		for i, n := range t.InboundFrom {
			nets[i] = n.Value
		}
		sort.Strings(nets)
		s.Trunks[t.Name] = Object{"address": t.Address.Value, "inbound_from": "[" + strings.Join(nets, ", ") + "]", "transport": t.Transport.Value}
	}
	s.Credits["low_balance"] = credits(lang.DefaultLowBalance)
	if c := cfg.Credits; c != nil {
		s.Credits["low_balance"] = credits(c.LowBalance.Micro)
	}
	if c := cfg.Credits; c != nil && c.AutoRecharge != nil {
		ar := c.AutoRecharge
		s.Credits["auto_recharge"] = strconv.FormatBool(ar.Enabled.Value)
		s.Credits["auto_recharge.threshold"] = credits(ar.Threshold.Micro)
		s.Credits["auto_recharge.amount"] = credits(ar.Amount.Micro)
	}
	if r := cfg.Recordings; r != nil {
		s.Recordings["plan"] = r.Plan.Value
		set(s.Recordings, "delete_after", r.DeleteAfter)
	}
	for name, n := range m.Numbers {
		o := Object{"e164": n.E164.Value, "type": n.Type.Value}
		set(o, "region", n.Region)
		set(o, "description", n.Description)
		s.Numbers[name] = o
	}
	for name, u := range m.Users {
		o := Object{
			"allow_outgoing":         strconv.FormatBool(u.AllowOutgoing.Value),
			"record_outgoing":        strconv.FormatBool(u.RecordOutgoing.Value),
			"allow_custom_caller_id": strconv.FormatBool(u.AllowCustomCallerID.Value),
		}
		set(o, "display_name", u.DisplayName)
		set(o, "email", u.Email)
		if u.CallerID != nil {
			o["caller_id"] = u.CallerID.String()
		}
		if u.CustomCallerID != nil {
			o["custom_caller_id"] = u.CustomCallerID.String()
		}
		s.Users[name] = o
	}
	for name, g := range m.Groups {
		// Ring order is login order, so the order members are written in
		// means nothing.
		o := Object{"members": refList(sortedRefs(g.Members))}
		set(o, "description", g.Description)
		s.Groups[name] = o
	}
	for name, f := range m.Flows {
		s.Flows[name] = flowSnapshot(f)
	}
	return s
}

func flowSnapshot(f *compiler.Flow) Flow {
	settings := Object{"enabled": strconv.FormatBool(f.Enabled.Value), "numbers": refList(sortedRefs(f.Numbers))}
	set(settings, "description", f.Description)
	if f.Start != nil {
		settings["start"] = f.Start.String()
	}
	out := Flow{Settings: settings, States: map[string]State{}}
	for ref, s := range f.States {
		st := State{Settings: Object{}, Connections: Object{}}
		prompt(st.Settings, "", s.Prompt)
		seconds := func(k string, i lang.Int) { st.Settings[k] = strconv.FormatInt(i.Value, 10) }
		switch s.Kind {
		case lang.IVR:
			seconds("timeout", s.IVR.Timeout)
		case lang.TransferUser:
			o := s.TransferUser
			st.Settings["user"] = o.User.String()
			seconds("ring_timeout", o.RingTimeout)
			st.Settings["record"] = strconv.FormatBool(o.Record.Value)
			if q := o.Queue; q != nil {
				seconds("queue.max_waiting", q.MaxWaiting)
				seconds("queue.repeat", q.Repeat)
				prompt(st.Settings, "queue.", q.Prompt)
				audio(st.Settings, "queue.music", q.Music)
			}
		case lang.TransferGroup:
			o := s.TransferGroup
			st.Settings["group"] = o.Group.String()
			st.Settings["ring"] = o.Ring.Value
			seconds("ring_timeout", o.RingTimeout)
			st.Settings["record"] = strconv.FormatBool(o.Record.Value)
		case lang.Voicemail:
			seconds("max_length", s.Voicemail.MaxLength)
			seconds("timeout", s.Voicemail.Timeout)
		}
		for _, c := range s.Conns {
			st.Connections[c.Label()] = c.Target.String()
		}
		out.States[ref] = st
	}
	return out
}

func set(o Object, key string, s lang.String) {
	if s.Set {
		o[key] = s.Value
	}
}

func prompt(o Object, prefix string, p lang.Prompt) {
	set(o, prefix+"say", p.Say)
	audio(o, prefix+"play", p.Play)
}

// audio records an audio setting and, for a file, a hash of its contents,
// so that replacing the audio, or moving the file that names it, is a
// change even when the text is not.
func audio(o Object, key string, s lang.String) {
	if !s.Set {
		return
	}
	o[key] = s.Value
	if strings.Contains(s.Value, "://") || filepath.IsAbs(s.Value) {
		return
	}
	data, err := os.ReadFile(filepath.Join(filepath.Dir(s.Range.Filename), s.Value))
	if err != nil {
		return
	}
	sum := sha256.Sum256(data)
	o[key+".sha256"] = hex.EncodeToString(sum[:8])
}

// credits formats micro-credits as credits, with no trailing zeros.
func credits(micro int64) string {
	s := fmt.Sprintf("%d.%06d", micro/1_000_000, micro%1_000_000)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

func refList(refs []lang.Ref) string {
	parts := make([]string, len(refs))
	for i, r := range refs {
		parts[i] = r.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// sortedRefs orders a list whose order means nothing (a flow's numbers).
func sortedRefs(refs []lang.Ref) []lang.Ref {
	out := append([]lang.Ref(nil), refs...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].String() < out[j-1].String(); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// JSON returns the snapshot's canonical JSON (map keys sorted).
func (s *Snapshot) JSON() []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return b
}

// Hash returns a hash of the canonical JSON of v.
func Hash(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ParseSnapshot reads a stored snapshot.
func ParseSnapshot(b []byte) (*Snapshot, error) {
	s := &Snapshot{}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("stored configuration is damaged: %w", err)
	}
	return s, nil
}

// Empty returns the snapshot of a store where nothing is applied.
func Empty() *Snapshot {
	return &Snapshot{
		Organization: Object{}, Credits: Object{}, Recordings: Object{},
		Numbers: map[string]Object{}, Users: map[string]Object{}, Groups: map[string]Object{}, Flows: map[string]Flow{},
	}
}
