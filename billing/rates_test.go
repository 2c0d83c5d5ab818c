package billing_test

import (
	"testing"

	"github.com/callflow/callflow/billing"
)

func TestMoney(t *testing.T) {
	card := billing.RateCard{CreditValue: map[string]billing.Micro{"USD": billing.Credits(1, 0), "EUR": billing.Credits(0, 92), "JPY": billing.Credits(150, 0)}}
	for _, tt := range []struct {
		m        billing.Micro
		currency string
		want     string
	}{
		{billing.Credits(5, 0), "USD", "5.00 USD"},
		{billing.Credits(5, 0), "EUR", "4.60 EUR"},
		{billing.Credits(29, 50), "JPY", "4425.00 JPY"},
		{-billing.Credits(1, 50), "EUR", "-1.38 EUR"},
		{billing.Credits(1_000_000_000, 0), "JPY", "150000000000.00 JPY"},
		{billing.Credits(3, 0), "CHF", "3.00 credits"},
	} {
		if got := card.Money(tt.m, tt.currency); got != tt.want {
			t.Errorf("Money(%s, %s) = %s, want %s", tt.m, tt.currency, got, tt.want)
		}
	}
}

func TestParseCredits(t *testing.T) {
	for in, want := range map[string]billing.Micro{"50": billing.Credits(50, 0), "12.5": billing.Credits(12, 50), "0.000001": 1, ".5": billing.Credits(0, 50)} {
		if got, err := billing.ParseCredits(in); err != nil || got != want {
			t.Errorf("ParseCredits(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", ".", "-1", "-0.5", "+3", "1.+5", "1.0000001", "abc", "1e3", "2000000000"} {
		if _, err := billing.ParseCredits(bad); err == nil {
			t.Errorf("ParseCredits(%q) accepted", bad)
		}
	}
}
