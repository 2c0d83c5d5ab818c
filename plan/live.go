package plan

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/lang"
	"github.com/callflow/callflow/live"
)

// NewLive makes the typed live model of a checked configuration, what
// apply stores with the version for the runtime: every default written
// out, the rate card as this callflow's default card with the
// configuration's rates laid over it, references resolved (a caller ID
// is the number's E.164, a flow's numbers their names). The model must
// have no errors.
func NewLive(m *compiler.Model) (*live.Model, error) {
	cfg := m.Config
	out := &live.Model{
		Organization: live.Organization{Currency: lang.DefaultOrganizationCurrency},
		Credits:      live.Credits{LowBalance: lang.DefaultLowBalance},
		Recordings:   live.Recordings{Plan: lang.DefaultRecordingPlan},
	}
	e164 := func(r *lang.Ref) string {
		if r == nil {
			return ""
		}
		if n, ok := m.Numbers[r.Name]; ok {
			return n.E164.Value
		}
		return ""
	}
	if o := cfg.Organization; o != nil {
		out.Organization = live.Organization{
			Name: o.Name.Value, Country: o.Country.Value, Currency: o.Currency.Value,
			Partner: o.Partner.Value, ManagedByPartner: o.ManagedByPartner.Value, SupportNumber: e164(o.SupportNumber),
			SIPDomain: strings.ToLower(o.SIPDomain.Value),
		}
		if out.Organization.Currency == "" {
			out.Organization.Currency = lang.DefaultOrganizationCurrency
		}
	}
	if c := cfg.Credits; c != nil {
		out.Credits.LowBalance = live.Micro(c.LowBalance.Micro)
		if ar := c.AutoRecharge; ar != nil {
			out.Credits.AutoRecharge = live.AutoRecharge{Enabled: ar.Enabled.Value, Threshold: live.Micro(ar.Threshold.Micro), Amount: live.Micro(ar.Amount.Micro)}
		}
	}
	if r := cfg.Recordings; r != nil {
		out.Recordings.DeleteAfter = r.DeleteAfter.Value
		if r.Plan.Value != "" {
			out.Recordings.Plan = r.Plan.Value
		}
	}
	out.Outbound.BlockedCountries = []string{}
	if o := cfg.Organization; o != nil && o.Outbound != nil {
		for _, cc := range o.Outbound.BlockedCountries {
			out.Outbound.BlockedCountries = append(out.Outbound.BlockedCountries, cc.Value)
		}
		slices.Sort(out.Outbound.BlockedCountries)
		out.Outbound.BlockedCountries = slices.Compact(out.Outbound.BlockedCountries)
		out.Outbound.BlockPremium = o.Outbound.BlockPremium.Value
	}
	rates, err := rateCard(rateObject(cfg.Rates))
	if err != nil {
		return nil, err
	}
	out.Rates = rates
	for _, t := range cfg.Trunks {
		lt := live.Trunk{Name: t.Name, Address: t.Address.Value, Transport: t.Transport.Value}
		for _, n := range t.InboundFrom {
			p, err := compiler.ParseNetwork(n.Value)
			if err != nil {
				return nil, fmt.Errorf("trunk %s: %v", t.Name, err)
			}
			lt.InboundFrom = append(lt.InboundFrom, p)
		}
		slices.SortFunc(lt.InboundFrom, func(a, b netip.Prefix) int { return cmp.Compare(a.String(), b.String()) })
		lt.InboundFrom = slices.Compact(lt.InboundFrom)
		out.Trunks = append(out.Trunks, lt)
	}
	for _, name := range sortedKeys(m.Numbers) {
		n := m.Numbers[name]
		ln := live.Number{Name: name, E164: n.E164.Value, Type: n.Type.Value, Region: n.Region.Value, Flow: m.NumberFlow[name], CustomCallerID: m.CustomCallerIDs[name]}
		if info, err := compiler.ParseNumber(n.E164.Value); err == nil {
			ln.Country = info.Region
		}
		out.Numbers = append(out.Numbers, ln)
	}
	for _, name := range sortedKeys(m.Users) {
		u := m.Users[name]
		out.Users = append(out.Users, live.User{
			Name: name, DisplayName: u.DisplayName.Value, Email: u.Email.Value,
			AllowOutgoing: u.AllowOutgoing.Value, RecordOutgoing: u.RecordOutgoing.Value,
			CallerID: e164(u.CallerID), AllowCustomCallerID: u.AllowCustomCallerID.Value,
			CustomCallerID: e164(u.CustomCallerID),
		})
	}
	for _, name := range sortedKeys(m.Groups) {
		g := live.Group{Name: name, Members: []string{}}
		for _, r := range m.Groups[name].Members {
			g.Members = append(g.Members, r.Name)
		}
		out.Groups = append(out.Groups, g)
	}
	for _, name := range sortedKeys(m.Flows) {
		f := m.Flows[name]
		lf := live.Flow{Name: name, Enabled: f.Enabled.Value, Numbers: []string{}}
		for _, r := range sortedRefs(f.Numbers) {
			lf.Numbers = append(lf.Numbers, r.Name)
		}
		out.Flows = append(out.Flows, lf)
	}
	slices.SortFunc(out.Trunks, func(a, b live.Trunk) int { return cmp.Compare(a.Name, b.Name) })
	// Callbacks to a custom caller ID run the support number's flow (S26).
	out.RouteCustomCallerIDs()
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("the typed live model of this configuration is wrong, which is a bug in callflow: %w", err)
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
