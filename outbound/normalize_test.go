package outbound_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/outbound"
)

func TestNormalize(t *testing.T) {
	cases := []struct {
		country, dialled string
		want             outbound.Destination
	}{
		// E.164, with separators, from anywhere.
		{"US", "+44 20 7183 8750", outbound.Destination{E164: "+442071838750", Country: "GB", Type: outbound.Local}},
		{"", "+44 (0)20 7183-8750", outbound.Destination{E164: "+442071838750", Country: "GB", Type: outbound.Local}},
		{"JP", "+44.7400.123456", outbound.Destination{E164: "+447400123456", Country: "GB", Type: outbound.Mobile}},
		{"FR", "tel:+14155550100", outbound.Destination{E164: "+14155550100", Country: "US", Type: outbound.LocalOrMobile}},
		// The organisation's international prefix.
		{"US", "011 44 20 7183 8750", outbound.Destination{E164: "+442071838750", Country: "GB", Type: outbound.Local}},
		{"CA", "011442071838750", outbound.Destination{E164: "+442071838750", Country: "GB", Type: outbound.Local}},
		{"GB", "00 1 415 555 0100", outbound.Destination{E164: "+14155550100", Country: "US", Type: outbound.LocalOrMobile}},
		{"FR", "00 44 7400.123456", outbound.Destination{E164: "+447400123456", Country: "GB", Type: outbound.Mobile}},
		{"JP", "010 44 20 7183 8750", outbound.Destination{E164: "+442071838750", Country: "GB", Type: outbound.Local}},
		// National numbers, read in the organisation's country.
		{"US", "(415) 555-0100", outbound.Destination{E164: "+14155550100", Country: "US", Type: outbound.LocalOrMobile}},
		{"US", "1-800-555-0199", outbound.Destination{E164: "+18005550199", Country: "US", Type: outbound.TollFree}},
		{"GB", "020 7183 8750", outbound.Destination{E164: "+442071838750", Country: "GB", Type: outbound.Local}},
		{"GB", "07400.123456", outbound.Destination{E164: "+447400123456", Country: "GB", Type: outbound.Mobile}},
		{"GB", "0800 890 567", outbound.Destination{E164: "+44800890567", Country: "GB", Type: outbound.TollFree}},
		{"GB", "09098 790 123", outbound.Destination{E164: "+449098790123", Country: "GB", Type: outbound.PremiumRate}},
		{"JP", "03-1234-5678", outbound.Destination{E164: "+81312345678", Country: "JP", Type: outbound.Local}},
		{"JP", "090-1234-5678", outbound.Destination{E164: "+819012345678", Country: "JP", Type: outbound.Mobile}},
		{"FR", "01 23 45 67 89", outbound.Destination{E164: "+33123456789", Country: "FR", Type: outbound.Local}},
		{"FR", "06 12 34 56 78", outbound.Destination{E164: "+33612345678", Country: "FR", Type: outbound.Mobile}},
		{"FR", "0891 12 34 56", outbound.Destination{E164: "+33891123456", Country: "FR", Type: outbound.PremiumRate}},
		// A local number with a global phone-context (RFC 3966).
		{"US", "2071838750;phone-context=+44", outbound.Destination{E164: "+442071838750", Country: "GB", Type: outbound.Local}},
		{"US", "+1-900-555-0100", outbound.Destination{E164: "+19005550100", Country: "US", Type: outbound.PremiumRate}},
	}
	for _, c := range cases {
		got, err := outbound.Normalize(c.dialled, c.country)
		if err != nil || got != c.want {
			t.Errorf("Normalize(%q, %q) = %+v, %v; want %+v", c.dialled, c.country, got, err, c.want)
		}
	}
}

func TestNormalizeRefuses(t *testing.T) {
	cases := []struct {
		country, dialled string
		want             error
		says             string
	}{
		{"US", "", outbound.ErrIncomplete, "no digits"},
		{"US", "+", outbound.ErrIncomplete, "no digits"},
		{"US", "555", outbound.ErrIncomplete, "too short"},
		{"US", "+12345", outbound.ErrIncomplete, "too short"},
		{"US", "+1 199 555 0100", outbound.ErrInvalid, "not a number any country assigns"},
		{"GB", "020 7183 875", outbound.ErrInvalid, "not a number any country assigns"},
		{"", "020 7183 8750", outbound.ErrInvalid, "no country"},
		{"US", "sip:+442071838750@carrier.example", outbound.ErrInvalid, "SIP URI"},
		{"US", "2071838750;phone-context=example.com", outbound.ErrInvalid, "a domain"},
		{"US", "+442071838750;ext=12", outbound.ErrInvalid, "parameter \"ext\""},
		{"US", "+442071838750;phone-context=+44", outbound.ErrInvalid, "one or the other"},
		{"US", "1-800-FLOWERS", outbound.ErrInvalid, "not part of a phone number"},
		{"US", "*67 415 555 0100", outbound.ErrInvalid, "service codes"},
		{"US", "+44+2071838750", outbound.ErrInvalid, "not part of a phone number"},
		{"US", strings.Repeat("1", 65), outbound.ErrInvalid, "longer than any phone number"},
		{"XX", "4155550100", outbound.ErrInvalid, "not one the phone-number metadata knows"},
		// China, every way it can be dialled (S29).
		{"US", "+86 10 1234 5678", outbound.ErrChina, "China"},
		{"US", "+86 1", outbound.ErrChina, "China"},
		{"US", "011 86 10 1234 5678", outbound.ErrChina, "China"},
		{"US", "01186", outbound.ErrChina, "China"},
		{"GB", "0086 10 1234 5678", outbound.ErrChina, "China"},
		{"FR", "00 86 138 0013 8000", outbound.ErrChina, "China"},
		{"JP", "010 86 10 1234 5678", outbound.ErrChina, "China"},
		{"US", "tel:+861012345678", outbound.ErrChina, "China"},
		{"US", "1012345678;phone-context=+86", outbound.ErrChina, "China"},
	}
	for _, c := range cases {
		d, err := outbound.Normalize(c.dialled, c.country)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("Normalize(%q, %q) = %+v, %v; want %v saying %q", c.dialled, c.country, d, err, c.want, c.says)
		}
	}
}

// TestTypesAgree keeps the compiler's list of destination types, which
// checks rate keys, the same as the one Normalize returns.
func TestTypesAgree(t *testing.T) {
	if !slices.Equal(compiler.DestinationTypes, outbound.Types) {
		t.Errorf("compiler.DestinationTypes = %v, outbound.Types = %v", compiler.DestinationTypes, outbound.Types)
	}
}
