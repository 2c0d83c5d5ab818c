package billing

import (
	"context"
	"fmt"

	"github.com/callflow/callflow/live"
	"github.com/callflow/callflow/store"
)

// LiveModel reads the typed live model of the version live in st: what
// the ledger, the recordings and the fees are configured with. It returns
// nil, and no error, when nothing has been applied; the functions below
// take nil as that store's defaults. A version applied by a callflow from
// before the model was stored has none, and is an error that says to
// apply it again.
func LiveModel(ctx context.Context, st *store.Store) (*live.Model, int64, error) {
	l, err := st.Live(ctx)
	if err != nil {
		return nil, 0, err
	}
	if l.Version.ID == 0 {
		return nil, 0, nil
	}
	m, err := DecodeLive(l.Version.ID, l.Model)
	return m, l.Version.ID, err
}

// DecodeLive decodes the stored typed live model of version; see
// LiveModel.
func DecodeLive(version int64, model []byte) (*live.Model, error) {
	if model == nil {
		return nil, fmt.Errorf("version %d was applied by an older callflow, which did not store the typed live model that serve and billing read. Apply it again (callflow apply), or serve its directory (callflow serve DIR)", version)
	}
	m, err := live.Decode(model)
	if err != nil {
		return nil, fmt.Errorf("version %d: %w", version, err)
	}
	return m, nil
}

// NewRateCard is a live model's rate card, as billing prices with it.
func NewRateCard(r live.RateCard) RateCard {
	card := RateCard{NumberMonthly: map[string]map[string]Micro{}, IncomingPerMinute: micros(r.IncomingPerMinute),
		OutgoingPerMinute: micros(r.OutgoingPerMinute), CreditValue: micros(r.CreditValue)}
	for cc, fees := range r.NumberMonthly {
		card.NumberMonthly[cc] = micros(fees)
	}
	return card
}

func micros(in map[string]live.Micro) map[string]Micro {
	out := make(map[string]Micro, len(in))
	for k, v := range in {
		out[k] = Micro(v)
	}
	return out
}

// NewLedger is the organisation's ledger as m configures it: its low
// balance and its auto-recharge, which is off for a partner and for a
// customer managed by one (S4). With m nil (nothing applied) the ledger
// notifies at no balance and never recharges.
func NewLedger(st *store.Store, m *live.Model) *Ledger {
	l := &Ledger{Store: st, Clock: SystemClock{}, Payments: Invoice{}}
	if m == nil {
		return l
	}
	l.LowBalance = Micro(m.Credits.LowBalance)
	partner := m.Organization.Partner || m.Organization.ManagedByPartner
	if ar := m.Credits.AutoRecharge; ar.Enabled && !partner {
		l.AutoRecharge = AutoRecharge{Enabled: true, Threshold: Micro(ar.Threshold), Amount: Micro(ar.Amount)}
	}
	return l
}

// NewRecordings is the organisation's recording storage under m's plan
// and retention; with m nil, the free plan, kept for ever.
func NewRecordings(st *store.Store, m *live.Model) *Recordings {
	r := &Recordings{Store: st, Clock: SystemClock{}, Plan: "free"}
	if m != nil {
		r.Plan, r.DeleteAfter = m.Recordings.Plan, m.Recordings.DeleteAfter
	}
	return r
}

// MonthlyFees lists what m charges every month (S1): each number's fee,
// by its country and type on m's rate card, and the storage plan's. With
// m nil, nothing.
func MonthlyFees(m *live.Model) []FeeItem {
	if m == nil {
		return nil
	}
	card := NewRateCard(m.Rates)
	var items []FeeItem
	for _, n := range m.Numbers { // sorted by name
		country := n.Country
		if country == "" {
			country = "?"
		}
		items = append(items, FeeItem{Key: "number:" + n.E164, Item: "number." + n.Name, What: n.Type + " " + country, Fee: card.NumberFee(country, n.Type)})
	}
	p := m.Recordings.Plan
	items = append(items, FeeItem{Key: "storage:" + p, Item: "recordings", What: "plan " + p, Fee: StoragePlans[p].Fee})
	return items
}
