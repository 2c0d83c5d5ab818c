package plan

import (
	"fmt"
	"io"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/compiler"
)

// Cost is a configuration's monthly fees (S1): each number's, by type and
// country, and the recording storage plan's.
type Cost struct {
	Items []CostItem    `json:"items"`
	Total billing.Micro `json:"total_micro"`
}

// CostItem is one monthly fee.
type CostItem struct {
	Key  string        `json:"key"`  // what is charged: "number:+1…" or "storage:50k"
	Item string        `json:"item"` // "number.support" or "recordings"
	What string        `json:"what"` // "toll_free US" or "plan 50k"
	Fee  billing.Micro `json:"fee_micro"`
}

// MonthlyCost prices a snapshot with its own rate card.
func MonthlyCost(s *Snapshot) (Cost, error) {
	var c Cost
	rates, err := RateCard(s)
	if err != nil {
		return c, err
	}
	for _, name := range unionKeys(s.Numbers, nil) {
		n := s.Numbers[name]
		country := "?"
		if info, err := compiler.ParseNumber(n["e164"]); err == nil {
			country = info.Region
		}
		fee := rates.NumberFee(country, n["type"])
		c.Items = append(c.Items, CostItem{Key: "number:" + n["e164"], Item: "number." + name, What: n["type"] + " " + country, Fee: fee})
		c.Total += fee
	}
	if p, ok := s.Recordings["plan"]; ok {
		fee := billing.StoragePlans[p].Fee
		c.Items = append(c.Items, CostItem{Key: "storage:" + p, Item: "recordings", What: "plan " + p, Fee: fee})
		c.Total += fee
	}
	return c, nil
}

// WriteCostChange prints the monthly cost before and after in credits,
// what it comes to in the organisation's currency, and the items whose
// fee changes.
func WriteCostChange(w io.Writer, before, after Cost, currency string, card billing.RateCard) {
	fmt.Fprintf(w, "Monthly cost: %s → %s credits (%s), %s a month\n", before.Total, after.Total, signed(after.Total-before.Total), card.Money(after.Total, currency))
	old := map[string]CostItem{}
	for _, i := range before.Items {
		old[i.Item] = i
	}
	seen := map[string]bool{}
	for _, i := range after.Items {
		seen[i.Item] = true
		o, had := old[i.Item]
		switch {
		case !had:
			fmt.Fprintf(w, "  + %-24s %-16s %s\n", i.Item, i.What, signed(i.Fee))
		case o.Fee != i.Fee || o.What != i.What:
			what := i.What
			if o.What != i.What {
				what = o.What + " → " + i.What
			}
			fmt.Fprintf(w, "  ~ %-24s %-16s %s\n", i.Item, what, signed(i.Fee-o.Fee))
		}
	}
	for _, o := range before.Items {
		if !seen[o.Item] {
			fmt.Fprintf(w, "  - %-24s %-16s %s\n", o.Item, o.What, signed(-o.Fee))
		}
	}
}

func signed(m billing.Micro) string {
	if m >= 0 {
		return "+" + m.String()
	}
	return m.String()
}
