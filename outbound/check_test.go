package outbound_test

import (
	"strings"
	"testing"

	"github.com/callflow/callflow/live"
	"github.com/callflow/callflow/outbound"
)

// model is a live version of an organisation in country, with users
// alice (may call out, custom caller ID), bob (may not) and carol (may
// call out, shows her caller ID), and a rate card priced by country and
// type.
func model(country, callerID, private string) *live.Model {
	m := &live.Model{
		Organization: live.Organization{Country: country, Currency: "USD", SupportNumber: callerID},
		Outbound:     live.Outbound{BlockedCountries: []string{"CU", "KP"}, BlockPremium: true},
		Recordings:   live.Recordings{Plan: "free"},
		Rates: live.RateCard{OutgoingPerMinute: map[string]live.Micro{
			"GB": 30_000, "GB/mobile": 120_000, "*/mobile": 150_000, "*": 100_000, "US": 20_000,
		}},
		Numbers: []live.Number{
			{Name: "main", E164: callerID, Type: "local", Flow: "support"},
			{Name: "private", E164: private, Type: "local", Flow: "support", CustomCallerID: true},
		},
		Users: []live.User{
			{Name: "alice", AllowOutgoing: true, CallerID: callerID, AllowCustomCallerID: true, CustomCallerID: private},
			{Name: "bob", CallerID: callerID},
			{Name: "carol", AllowOutgoing: true, CallerID: callerID},
		},
		Flows: []live.Flow{{Name: "support", Enabled: true, Numbers: []string{"main"}}},
	}
	if err := m.Validate(); err != nil {
		panic(err)
	}
	return m
}

var orgs = map[string]*live.Model{
	"US": model("US", "+14155550100", "+14155550111"),
	"GB": model("GB", "+442071838750", "+442071838751"),
	"JP": model("JP", "+81312345678", "+81312345679"),
	"FR": model("FR", "+33123456789", "+33123456788"),
}

func TestCheck(t *testing.T) {
	cases := []struct {
		org, user, dialled string
		want               outbound.Decision
	}{
		{"US", "carol", "+44 20 7183 8750", outbound.Decision{Allowed: true, CallerID: "+14155550100", RatePerMinute: 30_000, RateKey: "GB",
			Destination: outbound.Destination{E164: "+442071838750", Country: "GB", Type: outbound.Local}}},
		{"US", "alice", "011 44 7400 123456", outbound.Decision{Allowed: true, CallerID: "+14155550111", CustomCallerID: true, RatePerMinute: 120_000, RateKey: "GB/mobile",
			Destination: outbound.Destination{E164: "+447400123456", Country: "GB", Type: outbound.Mobile}}},
		{"US", "carol", "(415) 555-0100", outbound.Decision{Allowed: true, CallerID: "+14155550100", RatePerMinute: 20_000, RateKey: "US",
			Destination: outbound.Destination{E164: "+14155550100", Country: "US", Type: outbound.LocalOrMobile}}},
		{"GB", "carol", "020 7183 8750", outbound.Decision{Allowed: true, CallerID: "+442071838750", RatePerMinute: 30_000, RateKey: "GB",
			Destination: outbound.Destination{E164: "+442071838750", Country: "GB", Type: outbound.Local}}},
		{"JP", "carol", "06 12 34 56 78;phone-context=+33", outbound.Decision{Allowed: true, CallerID: "+81312345678", RatePerMinute: 150_000, RateKey: "*/mobile",
			Destination: outbound.Destination{E164: "+33612345678", Country: "FR", Type: outbound.Mobile}}},
		{"FR", "carol", "01 23 45 67 89", outbound.Decision{Allowed: true, CallerID: "+33123456789", RatePerMinute: 100_000, RateKey: "*",
			Destination: outbound.Destination{E164: "+33123456789", Country: "FR", Type: outbound.Local}}},

		{"US", "bob", "+442071838750", outbound.Decision{Status: 403, Refusal: outbound.NoOutgoing}},
		{"US", "zed", "+442071838750", outbound.Decision{Status: 403, Refusal: outbound.UnknownUser}},
		{"US", "carol", "+1 199 555 0100", outbound.Decision{Status: 404, Refusal: outbound.InvalidNumber}},
		{"US", "carol", "555", outbound.Decision{Status: 484, Refusal: outbound.InvalidNumber}},
		{"US", "carol", "+86 10 1234 5678", outbound.Decision{Status: 403, Refusal: outbound.China,
			Destination: outbound.Destination{E164: "+861012345678", Country: "CN"}}},
		{"US", "carol", "011 86 10 1234 5678", outbound.Decision{Status: 403, Refusal: outbound.China, Destination: outbound.Destination{Country: "CN"}}},
		{"GB", "carol", "0086 10 1234 5678", outbound.Decision{Status: 403, Refusal: outbound.China, Destination: outbound.Destination{Country: "CN"}}},
		{"JP", "carol", "010 86 138 0013 8000", outbound.Decision{Status: 403, Refusal: outbound.China, Destination: outbound.Destination{Country: "CN"}}},
		{"FR", "carol", "+53 7 123 4567", outbound.Decision{Status: 403, Refusal: outbound.BlockedCountry,
			Destination: outbound.Destination{E164: "+5371234567", Country: "CU", Type: outbound.Local}}},
		{"GB", "carol", "09098 790 123", outbound.Decision{Status: 403, Refusal: outbound.Premium,
			Destination: outbound.Destination{E164: "+449098790123", Country: "GB", Type: outbound.PremiumRate}}},
	}
	for _, c := range cases {
		got := outbound.Check(orgs[c.org], c.user, c.dialled)
		c.want.User, c.want.Dialled = c.user, c.dialled
		if c.want.Allowed {
			c.want.Reason = got.Reason
		}
		reason := got.Reason
		got.Reason = c.want.Reason
		if got != c.want {
			t.Errorf("%s org: Check(%s, %q) =\n  %+v\nwant\n  %+v", c.org, c.user, c.dialled, got, c.want)
		}
		if reason == "" {
			t.Errorf("%s org: Check(%s, %q) gives no reason", c.org, c.user, c.dialled)
		}
	}
}

func TestCheckReasons(t *testing.T) {
	for dialled, says := range map[string]string{
		"+86 10 1234 5678": "China (+86) are never placed",
		"+53 7 123 4567":   "CU, a country the organisation blocks",
		"+1 900 555 0100":  "premium-rate number",
		"+1 199 555 0100":  "not a valid number",
	} {
		if d := outbound.Check(orgs["US"], "carol", dialled); !strings.Contains(d.Reason, says) {
			t.Errorf("Check(carol, %q).Reason = %q, want it to say %q", dialled, d.Reason, says)
		}
	}
	if d := outbound.Check(orgs["US"], "bob", "+442071838750"); !strings.Contains(d.Reason, "allow_outgoing") {
		t.Errorf("bob's reason = %q, want it to name allow_outgoing", d.Reason)
	}
}

// TestCheckChinaListedOrNot: China is refused whatever the organisation
// declares, and a model that prices China does not change that.
func TestCheckChinaListedOrNot(t *testing.T) {
	m := model("US", "+14155550100", "+14155550111")
	m.Outbound = live.Outbound{}
	m.Rates.OutgoingPerMinute["CN"] = 1
	if d := outbound.Check(m, "carol", "+8613800138000"); d.Allowed || d.Refusal != outbound.China {
		t.Errorf("Check = %+v, want refused as China", d)
	}
}

func TestCheckWithoutRate(t *testing.T) {
	m := model("US", "+14155550100", "+14155550111")
	m.Rates.OutgoingPerMinute = map[string]live.Micro{"GB": 1}
	if d := outbound.Check(m, "carol", "+33123456789"); d.Allowed || d.Refusal != outbound.NoRate {
		t.Errorf("Check = %+v, want refused for want of a rate", d)
	}
}
