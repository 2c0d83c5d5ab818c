package billing_test

import (
	"testing"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/live"
)

func TestFromLiveModel(t *testing.T) {
	m := &live.Model{
		Organization: live.Organization{Currency: "USD"},
		Credits:      live.Credits{LowBalance: 3_000_000, AutoRecharge: live.AutoRecharge{Enabled: true, Threshold: 1_000_000, Amount: 20_000_000}},
		Recordings:   live.Recordings{Plan: "200k", DeleteAfter: "6mo"},
		Rates:        live.RateCard{NumberMonthly: map[string]map[string]live.Micro{"GB": {"local": 700_000}, "*": {"local": 900_000}}},
		Numbers: []live.Number{
			{Name: "london", E164: "+442071838750", Type: "local", Country: "GB"},
			{Name: "odd", E164: "+999", Type: "local"},
		},
	}
	l := billing.NewLedger(nil, m)
	if l.LowBalance != 3_000_000 || l.AutoRecharge != (billing.AutoRecharge{Enabled: true, Threshold: 1_000_000, Amount: 20_000_000}) {
		t.Errorf("ledger %+v", l)
	}
	for _, partner := range []live.Organization{{Currency: "USD", Partner: true}, {Currency: "USD", ManagedByPartner: true}} {
		p := *m
		p.Organization = partner
		if billing.NewLedger(nil, &p).AutoRecharge.Enabled {
			t.Errorf("%+v: auto-recharge on for a partner (S4)", partner)
		}
	}
	if r := billing.NewRecordings(nil, m); r.Plan != "200k" || r.DeleteAfter != "6mo" {
		t.Errorf("recordings %+v", r)
	}
	fees := billing.MonthlyFees(m)
	want := []billing.FeeItem{
		{Key: "number:+442071838750", Item: "number.london", What: "local GB", Fee: 700_000},
		{Key: "number:+999", Item: "number.odd", What: "local ?", Fee: 900_000},
		{Key: "storage:200k", Item: "recordings", What: "plan 200k", Fee: billing.StoragePlans["200k"].Fee},
	}
	if len(fees) != len(want) {
		t.Fatalf("fees %+v, want %+v", fees, want)
	}
	for i := range want {
		if fees[i] != want[i] {
			t.Errorf("fee %d: %+v, want %+v", i, fees[i], want[i])
		}
	}
	// Nothing applied: the defaults, and no fees.
	if l := billing.NewLedger(nil, nil); l.LowBalance != 0 || l.AutoRecharge.Enabled {
		t.Errorf("ledger of nothing applied %+v", l)
	}
	if r := billing.NewRecordings(nil, nil); r.Plan != "free" || r.DeleteAfter != "" {
		t.Errorf("recordings of nothing applied %+v", r)
	}
	if fees := billing.MonthlyFees(nil); len(fees) != 0 {
		t.Errorf("fees of nothing applied: %+v", fees)
	}
}
