// Package billing prices what an organisation uses and keeps its
// prepaid credits: the rate card, the monthly fees of numbers and of the
// recording storage plan (S1, S7, S8), the ledger with its purchases and
// usage, the call meter, and recording storage. What it is configured
// with comes from the live version's typed model (LiveModel; NewLedger,
// NewRecordings, NewRateCard and MonthlyFees read it), never from the
// configuration's text; RunJob is the monthly billing job.
package billing

import (
	_ "embed" // the default rate card
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/callflow/callflow/live"
)

// Micro is an amount of money in micro-credits: 1 credit = 1 USD =
// 1,000,000 micro-credits. Money is never floating point.
type Micro int64

// Credits builds an amount from whole credits and hundredths.
func Credits(whole, cents int64) Micro { return Micro(whole*1_000_000 + cents*10_000) }

// String formats an amount with two decimals, or as many more as it has,
// so that no amount is shown rounded: "12.50", "12.345", "0.000001".
func (m Micro) String() string { return formatMicro(big.NewInt(int64(m))) }

// RateCard holds what things cost (S1). The default is the readable file
// rates.default.hcl, whose values are examples; an organisation overrides
// any entry in a rates block of its configuration. Apply merges the two
// into the typed live model of the version (package plan), and
// NewRateCard reads that.
type RateCard struct {
	// NumberMonthly is a number's monthly fee by country (ISO 3166-1
	// alpha-2; "*" for any other) and type.
	NumberMonthly map[string]map[string]Micro
	// IncomingPerMinute is the per-minute rate of an incoming call by the
	// type of the number called.
	IncomingPerMinute map[string]Micro
	// OutgoingPerMinute is the per-minute rate of an outgoing call by the
	// destination: "COUNTRY/type", "COUNTRY", "*/type" or "*"
	// (OutgoingRate).
	OutgoingPerMinute map[string]Micro
	// CreditValue is what one credit is worth in each currency, in
	// millionths of that currency's unit.
	CreditValue map[string]Micro
}

// Money formats an amount of credits in currency, converted with the
// card's credit value: "4.60 EUR". Without a value for the currency it
// says credits: "5.00 credits".
func (r RateCard) Money(m Micro, currency string) string {
	value, ok := r.CreditValue[currency]
	if !ok {
		return m.String() + " credits"
	}
	// m micro-credits × value millionths of the currency per credit, in
	// millionths of the currency, rounded half away from zero. Whole
	// credits and the fraction are multiplied apart, so no product can
	// overflow.
	product := new(big.Int).Mul(big.NewInt(int64(m)), big.NewInt(int64(value)))
	half := big.NewInt(500_000 * sign(int64(m)))
	converted := new(big.Int).Quo(product.Add(product, half), big.NewInt(1_000_000))
	return formatMicro(converted) + " " + currency
}

func sign(x int64) int64 {
	if x < 0 {
		return -1
	}
	return 1
}

// DefaultRateCardFile is the default rate card, as shipped.
//
//go:embed rates.default.hcl
var DefaultRateCardFile []byte

// StoragePlans are the recording storage plans (S7, S8): their monthly
// fees and the minutes each holds.
var StoragePlans = map[string]StoragePlan{
	"free": {Minutes: 1_000, Fee: 0},
	"50k":  {Minutes: 50_000, Fee: Credits(25, 0)},
	"200k": {Minutes: 200_000, Fee: Credits(50, 0)},
	"1m":   {Minutes: 1_000_000, Fee: Credits(75, 0)},
}

// StoragePlan is one recording storage plan.
type StoragePlan struct {
	Minutes int64
	Fee     Micro
}

// NumberFee returns the monthly fee of a number of type kind in country.
func (r RateCard) NumberFee(country, kind string) Micro {
	if fees, ok := r.NumberMonthly[country]; ok {
		if fee, ok := fees[kind]; ok {
			return fee
		}
	}
	return r.NumberMonthly["*"][kind]
}

// ErrChina refuses calls to and from China (S29).
var ErrChina = errors.New("calls to China (+86) are refused by policy")

// IncomingRate returns the per-minute rate of a call to a number of the
// given type.
func (r RateCard) IncomingRate(numberType string) Micro { return r.IncomingPerMinute[numberType] }

// ErrNoRate says that the rate card prices no call to a destination.
var ErrNoRate = errors.New("the rate card has no outgoing rate for the destination")

// OutgoingRate returns the per-minute rate of a call to a number of
// destination type typ (package outbound's types, such as "mobile") in
// country, the most specific entry first: "GB/mobile", then "GB", then
// "*/mobile", then "*" (live.OutgoingRateKeys). A call to China is
// ErrChina (S29), one no entry prices ErrNoRate.
func (r RateCard) OutgoingRate(country, typ string) (Micro, error) {
	if country == "CN" {
		return 0, ErrChina
	}
	for _, k := range live.OutgoingRateKeys(country, typ) {
		if rate, ok := r.OutgoingPerMinute[k]; ok {
			return rate, nil
		}
	}
	return 0, fmt.Errorf("%w: %s/%s", ErrNoRate, country, typ)
}

// ParseCredits reads an amount of credits written as a decimal number
// with at most six decimals, such as "50" or "12.5".
func ParseCredits(s string) (Micro, error) {
	whole, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	if whole == "" && frac == "" || len(frac) > 6 || !digits(whole) || !digits(frac) {
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

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func defaultZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// formatMicro formats millionths with two decimals, or more when the
// amount has them: 12.50, 12.345, 0.000001.
func formatMicro(v *big.Int) string {
	neg := v.Sign() < 0
	abs := new(big.Int).Abs(v)
	whole, frac := new(big.Int).QuoRem(abs, big.NewInt(1_000_000), new(big.Int))
	f := fmt.Sprintf("%06d", frac.Int64())
	for len(f) > 2 && f[len(f)-1] == '0' {
		f = f[:len(f)-1]
	}
	s := whole.String() + "." + f
	if neg {
		s = "-" + s
	}
	return s
}
