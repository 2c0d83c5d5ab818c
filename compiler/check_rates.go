package compiler

import (
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/nyaruka/phonenumbers"

	"github.com/callflow/callflow/lang"
)

// DestinationTypes are the types of number an outgoing call can go to,
// as package outbound names them; outgoing rates are keyed by them
// ("GB/mobile"). A test in outbound keeps the two lists the same.
var DestinationTypes = []string{"local", "mobile", "local_or_mobile", "toll_free", "premium_rate", "shared_cost", "voip", "personal", "uan", "other"}

func (c *checker) checkRates() {
	if r := c.m.Config.Rates; r != nil {
		c.diags = append(c.diags, CheckRates(r)...)
	}
}

// CheckRates checks a rates block, or the default rate card: every key
// must name what it prices, and China is refused, not priced (S29).
func CheckRates(r *lang.Rates) hcl.Diagnostics {
	c := &checker{}
	country := func(e lang.RateEntry, cc string) bool {
		switch {
		case cc == "*":
			return true
		case cc == "CN":
			c.errorf(e.KeyRange, "China is not priced", "Calls and numbers in China (+86) are refused by policy (S29), so they have no rate. Remove this entry.")
			return false
		case phonenumbers.GetCountryCodeForRegion(cc) == 0:
			c.errorf(e.KeyRange, "Invalid rate key", "%q is not an ISO 3166-1 alpha-2 country code or \"*\". Write two capital letters, such as \"US\".", cc)
			return false
		}
		return true
	}
	for _, e := range r.NumberMonthly {
		cc, kind, ok := strings.Cut(e.Key, "/")
		if !ok || !slices.Contains(NumberTypes, kind) {
			c.errorf(e.KeyRange, "Invalid rate key", "A number_monthly key is COUNTRY/type, such as \"US/local\" or \"*/toll_free\"; the type is one of %s.", quoteList(NumberTypes))
			continue
		}
		country(e, cc)
	}
	for _, e := range r.IncomingPerMinute {
		if !slices.Contains(NumberTypes, e.Key) {
			c.errorf(e.KeyRange, "Invalid rate key", "An incoming_per_minute key is the type of the number called: one of %s.", quoteList(NumberTypes))
		}
	}
	for _, e := range r.OutgoingPerMinute {
		cc, kind, typed := strings.Cut(e.Key, "/")
		if typed && !slices.Contains(DestinationTypes, kind) {
			c.errorf(e.KeyRange, "Invalid rate key", "An outgoing_per_minute key is COUNTRY, COUNTRY/type, \"*/type\" or \"*\", such as GB, \"GB/mobile\" or \"*/mobile\"; the type is one of %s.", quoteList(DestinationTypes))
			continue
		}
		country(e, cc)
	}
	for _, e := range r.CreditValue {
		if !isCurrencyCode(e.Key) {
			c.errorf(e.KeyRange, "Invalid rate key", "A credit_value key is an ISO 4217 currency code, three capital letters such as EUR.")
		} else if e.Amount.Micro == 0 {
			c.errorf(e.KeyRange, "Invalid amount", "A credit is worth more than nothing in %s.", e.Key)
		}
	}
	return c.diags
}
