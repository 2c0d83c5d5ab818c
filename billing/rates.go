// Package billing prices what an organisation uses: the monthly fees of
// numbers and of the recording storage plan (S1, S7, S8). The ledger,
// purchases, usage and the call meter build on it.
package billing

import (
	"fmt"
	"strconv"
	"strings"
)

// Micro is an amount of money in micro-credits: 1 credit = 1 USD =
// 1,000,000 micro-credits. Money is never floating point.
type Micro int64

// Credits builds an amount from whole credits and hundredths.
func Credits(whole, cents int64) Micro { return Micro(whole*1_000_000 + cents*10_000) }

// String formats an amount with two decimals, rounding half away from
// zero: "12.50".
func (m Micro) String() string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	cents := (int64(m) + 5_000) / 10_000
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

// RateCard holds the monthly fees. The values of DefaultRates are
// examples, not any carrier's prices: an organisation sets its own.
type RateCard struct {
	// NumberFees is the monthly fee of a number by country (ISO 3166-1
	// alpha-2) and type; "*" is any other country.
	NumberFees map[string]map[string]Micro
	// StoragePlans is the monthly fee of each recording storage plan.
	StoragePlans map[string]Micro
}

// DefaultRates is the rate card used when the organisation sets none.
// Number fees are EXAMPLE VALUES; the storage plan fees are the product's
// (S7): free for 1,000 minutes, 25, 50 and 75 credits a month.
var DefaultRates = RateCard{
	NumberFees: map[string]map[string]Micro{
		"US": {"local": Credits(1, 0), "mobile": Credits(1, 50), "toll_free": Credits(2, 0)},
		"GB": {"local": Credits(1, 25), "mobile": Credits(2, 0), "toll_free": Credits(3, 0)},
		"*":  {"local": Credits(2, 0), "mobile": Credits(3, 0), "toll_free": Credits(5, 0)},
	},
	StoragePlans: map[string]Micro{"free": 0, "50k": Credits(25, 0), "200k": Credits(50, 0), "1m": Credits(75, 0)},
}

// NumberFee returns the monthly fee of a number of type kind in country.
func (r RateCard) NumberFee(country, kind string) Micro {
	if fees, ok := r.NumberFees[country]; ok {
		if fee, ok := fees[kind]; ok {
			return fee
		}
	}
	return r.NumberFees["*"][kind]
}

// ParseCredits reads an amount of credits written as a decimal number
// with at most six decimals, such as "50" or "12.5".
func ParseCredits(s string) (Micro, error) {
	whole, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	if whole == "" && frac == "" || len(frac) > 6 {
		return 0, fmt.Errorf("%q is not an amount of credits: write a number such as 50 or 12.5, with at most six decimals", s)
	}
	w, err := strconv.ParseInt(defaultZero(whole), 10, 64)
	if err != nil || w < 0 || w > 1_000_000_000 {
		return 0, fmt.Errorf("%q is not an amount of credits: write a number from 0 to 1000000000, such as 50 or 12.5", s)
	}
	f, err := strconv.ParseInt(defaultZero(frac+strings.Repeat("0", 6-len(frac))), 10, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%q is not an amount of credits: write a number such as 50 or 12.5", s)
	}
	return Micro(w*1_000_000 + f), nil
}

func defaultZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}
