package compiler

import (
	"net/netip"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// This file checks the organisation-wide blocks, users and groups.

// Recording plans (S7, S8) and retention periods (S9).
var (
	RecordingPlans     = []string{"free", "50k", "200k", "1m"}
	RecordingRetention = []string{"3mo", "6mo"}
)

func (c *checker) checkOrganization() {
	org := c.m.Config.Organization
	if org == nil {
		return
	}
	if org.Country.Set && phonenumbers.GetCountryCodeForRegion(org.Country.Value) == 0 {
		c.errorf(org.Country.Range, "Invalid country",
			"%q is not an ISO 3166-1 alpha-2 country code. Write two capital letters, such as \"US\", \"GB\" or \"JP\".", org.Country.Value)
	}
	if org.Currency.Set && !isCurrencyCode(org.Currency.Value) {
		c.errorf(org.Currency.Range, "Invalid currency",
			"%q is not an ISO 4217 currency code. Write three capital letters, such as \"USD\", \"EUR\" or \"JPY\".", org.Currency.Value)
	}
	if org.SupportNumber != nil {
		resolve(c, *org.SupportNumber, "number", c.m.Numbers, "support_number")
	}
	if out := org.Outbound; out != nil {
		seen := map[string]bool{}
		for _, cc := range out.BlockedCountries {
			switch {
			case phonenumbers.GetCountryCodeForRegion(cc.Value) == 0:
				c.errorf(cc.Range, "Invalid country",
					"%q is not an ISO 3166-1 alpha-2 country code. Write two capital letters, such as \"KP\" or \"CU\".", cc.Value)
			case seen[cc.Value]:
				c.errorf(cc.Range, "Country blocked twice", "%s is already in blocked_countries. Remove one.", cc.Value)
			}
			seen[cc.Value] = true
		}
	}
	if org.SIPDomain.Set {
		if why := sipDomainProblem(org.SIPDomain.Value); why != "" {
			c.errorf(org.SIPDomain.Range, "Invalid SIP domain",
				"%q %s. Phones register as sip:NAME@DOMAIN, so write the domain alone: a host name such as \"sip.example.com\" or an IP address such as \"192.0.2.10\".", org.SIPDomain.Value, why)
		}
	}
}

// sipDomainProblem says what keeps s from being a SIP domain (a host
// name or an IP address, alone), or "" when it is one.
func sipDomainProblem(s string) string {
	switch {
	case s == "":
		return "is empty; remove sip_domain to use the server's own host"
	case strings.Contains(s, "://") || strings.HasPrefix(strings.ToLower(s), "sip:") || strings.HasPrefix(strings.ToLower(s), "sips:"):
		return "has a scheme"
	case strings.Contains(s, "@"):
		return "names a user"
	case strings.ContainsAny(s, "/;?"):
		return "has a path or parameters"
	}
	host := s
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
		if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
			return ""
		}
		return "is not an IPv6 address in brackets"
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return ""
	}
	if _, err := netip.ParseAddrPort(host); err == nil || strings.Contains(host, ":") {
		return "has a port"
	}
	if len(host) > 253 {
		return "is longer than a host name may be (253 characters)"
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "is not a host name (each dot-separated label is 1 to 63 letters, digits or hyphens, not starting or ending with a hyphen)"
		}
		for i := 0; i < len(label); i++ {
			b := label[i]
			if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-') {
				return "is not a host name (only letters, digits, hyphens and dots)"
			}
		}
	}
	return ""
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

func (c *checker) checkCredits() {
	cr := c.m.Config.Credits
	if cr == nil || cr.AutoRecharge == nil {
		return
	}
	ar := cr.AutoRecharge
	if org := c.m.Config.Organization; org != nil && ar.Enabled.Value && (org.Partner.Value || org.ManagedByPartner.Value) {
		c.errorf(ar.DeclRange, "Auto-recharge is not available to partner organisations",
			"A partner organisation, or a customer managed by a partner, cannot use auto-recharge (S4); its credits are bought by the partner. Remove the auto_recharge block, or set enabled = false.")
	}
	if ar.Amount.Set && ar.Amount.Micro == 0 {
		c.errorf(ar.Amount.Range, "Auto-recharge amount is zero",
			"Each recharge buys this many credits; it must be more than zero.")
	}
}

func (c *checker) checkRecordings() {
	rec := c.m.Config.Recordings
	if rec == nil {
		return
	}
	c.checkEnum(rec.Plan, "recording plan", RecordingPlans...)
	c.checkEnum(rec.DeleteAfter, "retention period", RecordingRetention...)
}

func (c *checker) checkUsers() {
	org := c.m.Config.Organization
	for _, u := range c.m.Config.Users {
		if u.CallerID != nil {
			resolve(c, *u.CallerID, "number", c.m.Numbers, "caller_id")
		}
		if u.AllowOutgoing.Value && u.CallerID == nil {
			c.errorf(u.AllowOutgoing.Range, "Outgoing calls need a caller ID",
				"User %q may place outgoing calls, so the person called must see one of the organisation's numbers. Add caller_id = number.NAME to the user.", u.Name)
		}
		if u.RecordOutgoing.Value && !u.AllowOutgoing.Value {
			c.warnf(u.RecordOutgoing.Range, "Recording outgoing calls has no effect",
				"User %q records outgoing calls but may not place any. Set allow_outgoing = true, or remove record_outgoing.", u.Name)
		}
		if u.AllowCustomCallerID.Value && (org == nil || org.SupportNumber == nil) {
			c.errorf(u.AllowCustomCallerID.Range, "Custom caller ID needs a support number",
				"When user %q shows a custom caller ID, callbacks to it are forwarded to the organisation's support number (S26). Add support_number = number.NAME to the organization block.", u.Name)
		}
		if u.CustomCallerID == nil {
			continue
		}
		n, ok := resolve(c, *u.CustomCallerID, "number", c.m.Numbers, "custom_caller_id")
		switch {
		case !ok:
		case !u.AllowCustomCallerID.Value:
			c.errorf(u.CustomCallerID.Range, "Custom caller ID is not allowed",
				"User %q has a custom_caller_id but not allow_custom_caller_id = true (S25). Add allow_custom_caller_id = true, or remove custom_caller_id.", u.Name)
		case u.CallerID != nil && u.CallerID.Name == u.CustomCallerID.Name:
			c.errorf(u.CustomCallerID.Range, "Custom caller ID is the caller ID",
				"%s is user %q's caller_id already; a custom caller ID hides that number behind another (S26). Choose a different number, or remove custom_caller_id.", u.CustomCallerID, u.Name)
		case org != nil && org.SupportNumber != nil && org.SupportNumber.Name == u.CustomCallerID.Name:
			c.errorf(u.CustomCallerID.Range, "Custom caller ID is the support number",
				"%s is the organisation's support_number, which callbacks to a custom caller ID are forwarded to (S26). Choose another number, one that no flow answers.", u.CustomCallerID)
		default:
			c.m.CustomCallerIDs[n.Name] = true
		}
	}
}

// checkCustomCallerIDs runs after the flows: a custom caller ID must be
// a number no flow answers, since a call back to it is forwarded to the
// support number's flow (S26), and that number needs a flow.
func (c *checker) checkCustomCallerIDs() {
	org := c.m.Config.Organization
	for _, u := range c.m.Config.Users {
		if u.CustomCallerID == nil || !c.m.CustomCallerIDs[u.CustomCallerID.Name] || c.m.Users[u.Name] != u {
			continue
		}
		if f, ok := c.m.NumberFlow[u.CustomCallerID.Name]; ok {
			c.errorf(u.CustomCallerID.Range, "Custom caller ID is answered by a flow",
				"%s is answered by flow %q, but callbacks to a custom caller ID are answered by the support number's flow (S26), so no flow may list it. Remove it from the flow's numbers, or choose a number no flow answers.", u.CustomCallerID, f)
			continue
		}
		if org == nil || org.SupportNumber == nil {
			continue // reported on allow_custom_caller_id
		}
		if _, ok := c.m.NumberFlow[org.SupportNumber.Name]; !ok && c.m.Numbers[org.SupportNumber.Name] != nil {
			c.errorf(u.CustomCallerID.Range, "Callbacks to the custom caller ID would be rejected",
				"Callbacks to %s are answered by the flow of the support number, %s, but no flow answers it (S16, S26). Add %s to a flow's numbers.", u.CustomCallerID, org.SupportNumber, org.SupportNumber)
		}
	}
}

func (c *checker) checkGroups() {
	for _, g := range c.m.Config.Groups {
		seen := map[string]bool{}
		for _, ref := range g.Members {
			if ref.IsValid() && ref.Kind != "user" {
				c.errorf(ref.Range, "Group members must be users",
					"%s is a %s; a group holds telephony users only, written user.NAME.", ref, ref.Kind)
				continue
			}
			if _, ok := resolve(c, ref, "user", c.m.Users, "members"); !ok {
				continue
			}
			if seen[ref.Name] {
				c.errorf(ref.Range, "Duplicate group member",
					"%s is listed twice in group %q. Remove one.", ref, g.Name)
			}
			seen[ref.Name] = true
		}
		if len(g.Members) == 0 {
			c.warnf(g.NameRange, "Group has no members",
				"Group %q has no members, so every transfer to it takes its unavailable connection. Add members = [user.NAME, ...].", g.Name)
		}
	}
}
