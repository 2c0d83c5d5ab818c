package main

import (
	"context"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/live"
	"github.com/callflow/callflow/plan"
	"github.com/callflow/callflow/store"
)

// liveLedger opens the organisation's ledger as the live version
// configures it, and returns the typed live model with it (nil when
// nothing is applied).
func liveLedger(ctx context.Context, st *store.Store) (*billing.Ledger, *live.Model, error) {
	m, _, err := billing.LiveModel(ctx, st)
	if err != nil {
		return nil, nil, &exitError{code: exitFail, msg: err.Error()}
	}
	return billing.NewLedger(st, m), m, nil
}

func currencyOf(m *live.Model) string {
	if m == nil {
		return "USD"
	}
	return m.Organization.Currency
}

// money shows credits in the organisation's currency, converted with the
// live version's rate card; with nothing applied, with the default card.
func money(m *live.Model, amount billing.Micro) (string, error) {
	if m == nil {
		card, err := plan.RateCard(plan.Empty())
		if err != nil {
			return "", err
		}
		return card.Money(amount, currencyOf(m)), nil
	}
	return billing.NewRateCard(m.Rates).Money(amount, currencyOf(m)), nil
}
