package plan

import (
	"fmt"
	"strings"
	"sync"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/lang"
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

// RateCard returns the rate card of a configuration: the default card
// with the configuration's rates block laid over it, entry by entry.
func RateCard(s *Snapshot) (billing.RateCard, error) {
	card := billing.RateCard{NumberMonthly: map[string]map[string]billing.Micro{}, IncomingPerMinute: map[string]billing.Micro{},
		OutgoingPerMinute: map[string]billing.Micro{}, CreditValue: map[string]billing.Micro{}}
	def, err := defaultRateObject()
	if err != nil {
		return card, err
	}
	for _, o := range []Object{def, s.Rates} {
		for k, v := range o {
			amount, err := billing.ParseCredits(v)
			if err != nil {
				return card, fmt.Errorf("rate %s: %w", k, err)
			}
			kind, key, _ := strings.Cut(k, ".")
			switch kind {
			case "number_monthly":
				cc, typ, _ := strings.Cut(key, "/")
				if card.NumberMonthly[cc] == nil {
					card.NumberMonthly[cc] = map[string]billing.Micro{}
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
