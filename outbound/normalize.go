// Package outbound decides whether a telephony user may place a call, and
// on what terms: Normalize reads what the user dialled as an E.164
// destination with its country and type, and Check applies the policy of
// an applied version (live.Model) to it: the user's allow_outgoing, the
// rule that no call goes to China (S29), the organisation's blocked
// countries and premium-rate block, the caller ID the callee sees (S25,
// S26) and the rate per minute (S1). The server asks Check before it
// places anything on the trunk, and `callflow simulate --outbound` prints
// its Decision, so that a CI job can check the policy without a phone.
//
// The package holds no state and does no I/O: a Decision depends on the
// model and the dialled text only.
package outbound

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Destination types: what libphonenumber's metadata says a destination
// number is, in a small set. Rates are keyed by them ("GB/mobile") and
// block_premium refuses PremiumRate.
const (
	Local         = "local"           // fixed line
	Mobile        = "mobile"          // mobile
	LocalOrMobile = "local_or_mobile" // either; the numbering plan cannot tell (most of +1)
	TollFree      = "toll_free"       // free to the caller
	PremiumRate   = "premium_rate"    // the caller pays a premium
	SharedCost    = "shared_cost"     // caller and callee share the cost
	VoIP          = "voip"            // a VoIP service's number
	Personal      = "personal"        // a personal number that follows its owner
	UAN           = "uan"             // a company's universal access number
	Other         = "other"           // pager, voicemail access, unclassified
)

// Types lists the destination types, in the order the documentation
// gives them.
var Types = []string{Local, Mobile, LocalOrMobile, TollFree, PremiumRate, SharedCost, VoIP, Personal, UAN, Other}

// Destination is a dialled number read as a destination.
type Destination struct {
	E164    string `json:"e164"`    // such as "+442071838750"
	Country string `json:"country"` // ISO 3166-1 alpha-2, such as "GB"; "001" for a non-geographic number
	Type    string `json:"type"`    // one of Types
}

// ErrChina is returned (wrapped) by Normalize for every number with
// country code +86, valid or not, however it was dialled: calls to China
// are never placed (S29).
var ErrChina = errors.New("calls to China (+86) are never placed (S29)")

// ErrIncomplete is returned (wrapped) by Normalize for a number too
// short to be one: the phone may not have sent all the digits yet.
var ErrIncomplete = errors.New("the number is incomplete")

// ErrInvalid is returned (wrapped) by Normalize for anything else that
// is not a number one can call.
var ErrInvalid = errors.New("not a valid number")

const chinaCountryCode = 86

// maxDialled bounds what is read: no phone number, with its separators,
// comes near it.
const maxDialled = 64

// Normalize reads dialled, what a user's phone sent as the user part of
// its Request-URI, as a destination. It accepts
//   - E.164, with spaces and the separators - . ( ) / between digits:
//     "+44 20 7183 8750";
//   - the international prefix of country, the organisation's ISO 3166-1
//     alpha-2 code, as libphonenumber's metadata has it: "00 44 20 7183
//     8750" in GB, "011 44 20 7183 8750" in the US;
//   - a national number read in country: "(415) 555-0100" in the US,
//     "020 7183 8750" in GB;
//   - the tel: URI forms: "tel:+442071838750", and a local number with a
//     global phone-context, "2071838750;phone-context=+44".
//
// It refuses, with an error that says why, anything else: a SIP URI, a
// phone-context that is a domain, other URI parameters, letters, service
// codes with * or #, a national number when country is "" (then only
// E.164 is understood), and a number no country assigns. Every error
// wraps ErrChina, ErrIncomplete or ErrInvalid. A number in China is
// ErrChina, valid or not, and its Destination is filled in as far as it
// could be read.
func Normalize(dialled, country string) (Destination, error) {
	s, err := userPart(dialled)
	if err != nil {
		return Destination{}, err
	}
	global := strings.HasPrefix(s, "+")
	digits := strings.TrimPrefix(s, "+")
	if global && strings.HasPrefix(digits, "86") {
		return Destination{E164: "+" + digits, Country: "CN"}, fmt.Errorf("%s is in China: %w", "+"+digits, ErrChina)
	}
	region := country
	if global {
		region = ""
	} else if country == "" {
		return Destination{}, fmt.Errorf("%q is not in E.164 form, and the organisation has no country to read a national number in: dial +, the country code and the number, or set organization { country }: %w", dialled, ErrInvalid)
	} else if phonenumbers.GetCountryCodeForRegion(country) == 0 {
		return Destination{}, fmt.Errorf("the organisation's country %q is not one the phone-number metadata knows, so %q cannot be read as a national number: %w", country, dialled, ErrInvalid)
	}
	if !global && chinaByPrefix(digits, country) {
		return Destination{Country: "CN"}, fmt.Errorf("%q dials China through the international prefix: %w", dialled, ErrChina)
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		if errors.Is(err, phonenumbers.ErrTooShortNSN) || errors.Is(err, phonenumbers.ErrTooShortAfterIDD) {
			return Destination{}, fmt.Errorf("%q is too short to be a phone number: %w", dialled, ErrIncomplete)
		}
		return Destination{}, fmt.Errorf("%q cannot be read as a phone number (%v): %w", dialled, err, ErrInvalid)
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	if num.GetCountryCode() == chinaCountryCode || strings.HasPrefix(e164, "+86") {
		return Destination{E164: e164, Country: "CN"}, fmt.Errorf("%s is in China: %w", e164, ErrChina)
	}
	if !phonenumbers.IsValidNumber(num) {
		if phonenumbers.IsPossibleNumberWithReason(num) == phonenumbers.TOO_SHORT {
			return Destination{}, fmt.Errorf("%q (%s) is too short to be a phone number there: %w", dialled, e164, ErrIncomplete)
		}
		return Destination{}, fmt.Errorf("%q (%s) is not a number any country assigns: check the digits: %w", dialled, e164, ErrInvalid)
	}
	region = phonenumbers.GetRegionCodeForNumber(num)
	if region == "" || region == "ZZ" {
		return Destination{}, fmt.Errorf("%q (%s) belongs to no country: %w", dialled, e164, ErrInvalid)
	}
	return Destination{E164: e164, Country: region, Type: typeOf(phonenumbers.GetNumberType(num))}, nil
}

// userPart strips the tel: forms and the visual separators from dialled,
// leaving "+" and digits, or digits alone.
func userPart(dialled string) (string, error) {
	if len(dialled) > maxDialled {
		return "", fmt.Errorf("%d characters is longer than any phone number: %w", len(dialled), ErrInvalid)
	}
	s := strings.TrimSpace(dialled)
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "tel:"):
		s = s[len("tel:"):]
	case strings.HasPrefix(lower, "sip:") || strings.HasPrefix(lower, "sips:") || strings.Contains(s, "@"):
		return "", fmt.Errorf("%q is a SIP URI: give the user part of the Request-URI, the number alone: %w", dialled, ErrInvalid)
	}
	number, params, hasParams := strings.Cut(s, ";")
	context := ""
	if hasParams {
		for _, p := range strings.Split(params, ";") {
			name, value, _ := strings.Cut(p, "=")
			if !strings.EqualFold(name, "phone-context") {
				return "", fmt.Errorf("%q carries the parameter %q: only phone-context is understood, and a number with an extension or subaddress is not dialled: %w", dialled, name, ErrInvalid)
			}
			if context != "" {
				return "", fmt.Errorf("%q gives phone-context twice: %w", dialled, ErrInvalid)
			}
			if !strings.HasPrefix(value, "+") {
				return "", fmt.Errorf("%q has phone-context %q, a domain: only a global context such as phone-context=+44 says which country the number is in: %w", dialled, value, ErrInvalid)
			}
			context = value
			if context == "+" {
				return "", fmt.Errorf("%q has an empty phone-context: %w", dialled, ErrInvalid)
			}
		}
	}
	var b strings.Builder
	for i, r := range number {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/':
		case r == '*' || r == '#':
			return "", fmt.Errorf("%q holds %q: service codes are not dialled through the trunk: %w", dialled, r, ErrInvalid)
		default:
			return "", fmt.Errorf("%q holds %q, which is not part of a phone number: dial digits, with + for E.164: %w", dialled, r, ErrInvalid)
		}
	}
	out := b.String()
	if strings.Count(out, "+") > 1 {
		return "", fmt.Errorf("%q has more than one +: %w", dialled, ErrInvalid)
	}
	if context != "" {
		if strings.HasPrefix(out, "+") {
			return "", fmt.Errorf("%q is a global number with a phone-context: give one or the other: %w", dialled, ErrInvalid)
		}
		var c strings.Builder
		for _, r := range context[1:] {
			switch {
			case r >= '0' && r <= '9':
				c.WriteRune(r)
			case r == '-' || r == '.' || r == '(' || r == ')':
			default:
				return "", fmt.Errorf("%q has phone-context %q, which is not + and digits: %w", dialled, context, ErrInvalid)
			}
		}
		if c.Len() == 0 {
			return "", fmt.Errorf("%q has phone-context %q, which has no digits: %w", dialled, context, ErrInvalid)
		}
		// RFC 3966: a local number with a global context is the context's
		// digits followed by the number's.
		out = "+" + c.String() + out
	}
	if strings.TrimPrefix(out, "+") == "" {
		return "", fmt.Errorf("%q holds no digits: %w", dialled, ErrIncomplete)
	}
	return out, nil
}

// chinaByPrefix says whether digits, dialled in country, start with one
// of that country's international prefix and then 86, so that a
// Chinese number too short or too long to parse is still refused as
// China. (A number that parses is refused by its country code.)
func chinaByPrefix(digits, country string) bool {
	for _, idd := range internationalPrefixes(country) {
		if strings.HasPrefix(digits, idd+"86") {
			return true
		}
	}
	return false
}

// internationalPrefixes returns the international prefix country dials
// before a country code, as the metadata formats a call to China from
// it: ["011"] for the US, ["00"] for GB, ["010"] for JP.
func internationalPrefixes(country string) []string {
	ex := phonenumbers.GetExampleNumber("CN")
	if ex == nil {
		return nil
	}
	dialled := phonenumbers.NormalizeDigitsOnly(phonenumbers.FormatOutOfCountryCallingNumber(ex, country))
	national := phonenumbers.GetNationalSignificantNumber(ex)
	idd, ok := strings.CutSuffix(dialled, "86"+national)
	if !ok || idd == "" {
		return nil
	}
	return []string{idd}
}

func typeOf(t phonenumbers.PhoneNumberType) string {
	switch t {
	case phonenumbers.FIXED_LINE:
		return Local
	case phonenumbers.MOBILE:
		return Mobile
	case phonenumbers.FIXED_LINE_OR_MOBILE:
		return LocalOrMobile
	case phonenumbers.TOLL_FREE:
		return TollFree
	case phonenumbers.PREMIUM_RATE:
		return PremiumRate
	case phonenumbers.SHARED_COST:
		return SharedCost
	case phonenumbers.VOIP:
		return VoIP
	case phonenumbers.PERSONAL_NUMBER:
		return Personal
	case phonenumbers.UAN:
		return UAN
	}
	return Other
}
