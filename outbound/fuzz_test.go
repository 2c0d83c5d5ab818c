package outbound_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/callflow/callflow/outbound"
)

var seeds = []string{
	"+44 20 7183 8750", "011 44 20 7183 8750", "(415) 555-0100", "020 7183 8750", "0086 10 1234 5678",
	"01186 10 1234 5678", "+86 10 1234 5678", "8610 1234 5678", "010 86 138 0013 8000", "tel:+861012345678",
	"1012345678;phone-context=+86", "2071838750;phone-context=+44", "sip:1@x", "*67", "+", "", "1-800-555-0199",
	"+1 900 555 0100", "+53 7 123 4567", "09098 790 123", "+852 2123 4567", "+886 2 2345 6789", "+8 6",
}

// digitsOf is what a string says once everything but digits and + is
// dropped: "+86…" there is a Chinese number whichever way it was
// written.
func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' || r == '+' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// FuzzNormalize: no input panics; a number that is read is E.164 with a
// country and a type, never in China; every error is one of the three.
func FuzzNormalize(f *testing.F) {
	for _, s := range seeds {
		for _, cc := range []string{"US", "GB", "JP", "FR", "CN", ""} {
			f.Add(s, cc)
		}
	}
	f.Fuzz(func(t *testing.T, dialled, country string) {
		d, err := outbound.Normalize(dialled, country)
		if err != nil {
			if !errors.Is(err, outbound.ErrChina) && !errors.Is(err, outbound.ErrInvalid) && !errors.Is(err, outbound.ErrIncomplete) {
				t.Fatalf("Normalize(%q, %q): error %v wraps none of the three", dialled, country, err)
			}
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if strings.HasPrefix(d.E164, "+86") || d.Country == "CN" {
			t.Fatalf("Normalize(%q, %q) = %+v with no error: a Chinese number", dialled, country, d)
		}
		if !strings.HasPrefix(d.E164, "+") || len(d.E164) < 3 || digitsOf(d.E164) != d.E164 || d.Country == "" || d.Type == "" {
			t.Fatalf("Normalize(%q, %q) = %+v: not a full destination", dialled, country, d)
		}
		if strings.HasPrefix(digitsOf(dialled), "+86") && !strings.Contains(strings.ToLower(dialled), "phone-context") {
			t.Fatalf("Normalize(%q, %q) = %+v: +86 dialled, not refused", dialled, country, d)
		}
	})
}

// FuzzCheck: no input panics, and no input yields an allowed call to
// China (S29) or one without a caller ID and a rate.
func FuzzCheck(f *testing.F) {
	for _, s := range seeds {
		for _, org := range []string{"US", "GB", "JP", "FR"} {
			f.Add(org, "carol", s)
			f.Add(org, "alice", s)
		}
	}
	f.Add("US", "bob", "+442071838750")
	f.Fuzz(func(t *testing.T, org, user, dialled string) {
		m, ok := orgs[org]
		if !ok {
			m = orgs["US"]
		}
		d := outbound.Check(m, user, dialled)
		if d.Reason == "" {
			t.Fatalf("Check(%s, %q): no reason", user, dialled)
		}
		if !d.Allowed {
			if d.Status != 403 && d.Status != 404 && d.Status != 484 || d.Refusal == "" {
				t.Fatalf("Check(%s, %q) refused with status %d, refusal %q", user, dialled, d.Status, d.Refusal)
			}
			return
		}
		if strings.HasPrefix(d.Destination.E164, "+86") || d.Destination.Country == "CN" {
			t.Fatalf("Check(%s, %q) allows a call to China: %+v", user, dialled, d)
		}
		if strings.HasPrefix(digitsOf(dialled), "+86") && !strings.Contains(strings.ToLower(dialled), "phone-context") {
			t.Fatalf("Check(%s, %q) allows +86 dialled: %+v", user, dialled, d)
		}
		if d.Status != 0 || d.CallerID == "" || d.RateKey == "" {
			t.Fatalf("Check(%s, %q) allows a call with %+v", user, dialled, d)
		}
	})
}
