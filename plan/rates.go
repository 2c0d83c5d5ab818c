package plan

import (
	"fmt"
	"strings"
	"sync"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/lang"
	"github.com/callflow/callflow/live"
)

// Rate keys in a snapshot are "number_monthly.US/local",
// "incoming_per_minute.toll_free", "outgoing_per_minute.GB".

func rateObject(r *lang.Rates) Object {
	o := Object{}
	if r == nil {
		return o
	}
	for prefix, entries := range map[string][]lang.RateEntry{
		"number_monthly": r.NumberMonthly, "incoming_per_minute": r.IncomingPerMinute, "outgoing_per_minute": r.OutgoingPerMinute,
		"credit_value": r.CreditValue,
	} {
		for _, e := range entries {
			o[prefix+"."+e.Key] = credits(e.Amount.Micro)
		}
	}
	return o
}

var defaultRates struct {
	once sync.Once
	obj  Object
	err  error
}

// defaultRateObject reads the shipped default rate card once.
func defaultRateObject() (Object, error) {
	d := &defaultRates
	d.once.Do(func() {
		r, diags := lang.ParseRates("rates.default.hcl", billing.DefaultRateCardFile)
		if diags.HasErrors() {
			d.err = fmt.Errorf("the default rate card is invalid: %s", diags.Error())
			return
		}
		if diags := compiler.CheckRates(r); diags.HasErrors() {
			d.err = fmt.Errorf("the default rate card is invalid: %s", diags.Error())
			return
		}
		d.obj = rateObject(r)
	})
	return d.obj, d.err
}

// RateCard returns the rate card of a snapshot, as billing prices with
// it: the default card with the configuration's rates block laid over
// it, entry by entry. Plans and their costs are shown with it; the
// runtime reads the card stored in the typed live model (see NewLive).
func RateCard(s *Snapshot) (billing.RateCard, error) {
	card, err := rateCard(s.Rates)
	if err != nil {
		return billing.RateCard{}, err
	}
	return billing.NewRateCard(card), nil
}

// rateCard lays overrides (a snapshot's rates) over the default card.
func rateCard(overrides Object) (live.RateCard, error) {
	card := live.RateCard{NumberMonthly: map[string]map[string]live.Micro{}, IncomingPerMinute: map[string]live.Micro{},
		OutgoingPerMinute: map[string]live.Micro{}, CreditValue: map[string]live.Micro{}}
	def, err := defaultRateObject()
	if err != nil {
		return card, err
	}
	for _, o := range []Object{def, overrides} {
		for k, v := range o {
			m, err := billing.ParseCredits(v)
			if err != nil {
				return card, fmt.Errorf("rate %s: %w", k, err)
			}
			amount := live.Micro(m)
			kind, key, _ := strings.Cut(k, ".")
			switch kind {
			case "number_monthly":
				cc, typ, _ := strings.Cut(key, "/")
				if card.NumberMonthly[cc] == nil {
					card.NumberMonthly[cc] = map[string]live.Micro{}
				}
				card.NumberMonthly[cc][typ] = amount
			case "incoming_per_minute":
				card.IncomingPerMinute[key] = amount
			case "outgoing_per_minute":
				card.OutgoingPerMinute[key] = amount
			case "credit_value":
				card.CreditValue[key] = amount
			}
		}
	}
	return card, nil
}
