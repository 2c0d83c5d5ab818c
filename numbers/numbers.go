// Package numbers provides phone numbers (S13–S15). A provider offers
// numbers, provisions the ones a configuration declares and releases the
// ones it no longer does. The built-in provider, Inventory, serves the
// numbers an organisation already owns on its SIP trunk, listed in an
// inventory file; a carrier's number-ordering API would be another
// implementation of the same interface (plan.NumberProvider).
package numbers

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/callflow/callflow/compiler"
)

// InventoryFile is the inventory's name in a repository.
const InventoryFile = "inventory.csv"

// Offer is one number a provider can give.
type Offer struct {
	E164    string `json:"e164"`
	Type    string `json:"type"`    // local | mobile | toll_free
	Country string `json:"country"` // ISO 3166-1 alpha-2
	Region  string `json:"region,omitempty"`
}

// Query selects offers. Empty fields match everything; Region matches
// any part of an offer's region, ignoring case.
type Query struct {
	Country string
	Type    string
	Region  string
}

// Inventory is the built-in provider: the numbers on the organisation's
// SIP trunk, from a CSV file with the columns e164, type and region.
// Provisioning one of them only records that a flow uses it, so it can
// never fail for a listed number, and releasing costs nothing.
type Inventory struct {
	Path   string
	Offers []Offer
}

// LoadInventory reads an inventory file. Lines starting with # are
// comments. Every number is checked as the compiler checks numbers.
func LoadInventory(path string) (*Inventory, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	inv := &Inventory{Path: path}
	seen := map[string]bool{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) < 2 || len(rec) > 3 {
			return nil, fmt.Errorf("%s:%d: want e164,type[,region], got %d fields", path, line, len(rec))
		}
		o := Offer{E164: strings.TrimSpace(rec[0]), Type: strings.TrimSpace(rec[1])}
		if len(rec) == 3 {
			o.Region = strings.TrimSpace(rec[2])
		}
		info, err := compiler.ParseNumber(o.E164)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		if !slices.Contains(info.Types, o.Type) {
			return nil, fmt.Errorf("%s:%d: %s is %s, not %s", path, line, o.E164, strings.Join(info.Types, " or "), o.Type)
		}
		if seen[o.E164] {
			return nil, fmt.Errorf("%s:%d: %s is listed twice", path, line, o.E164)
		}
		seen[o.E164] = true
		o.Country = info.Region
		inv.Offers = append(inv.Offers, o)
	}
	return inv, nil
}

// Name identifies the provider in the store.
func (inv *Inventory) Name() string { return "trunk-inventory" }

// Available lists the offers that match q and are not held, sorted.
func (inv *Inventory) Available(_ context.Context, q Query, held map[string]bool) ([]Offer, error) {
	var out []Offer
	for _, o := range inv.Offers {
		if held[o.E164] || (q.Country != "" && o.Country != q.Country) || (q.Type != "" && o.Type != q.Type) ||
			(q.Region != "" && !strings.Contains(strings.ToLower(o.Region), strings.ToLower(q.Region))) {
			continue
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].E164 < out[j].E164 })
	return out, nil
}

// Provision takes a number. The inventory must list it.
func (inv *Inventory) Provision(_ context.Context, e164 string) error {
	for _, o := range inv.Offers {
		if o.E164 == e164 {
			return nil
		}
	}
	return fmt.Errorf("%s is not on the trunk: the inventory %s does not list it. Add it there once your carrier has routed it to the trunk", e164, inv.Path)
}

// Release gives a number back. For the trunk the number stays owned; it
// only stops being answered.
func (inv *Inventory) Release(context.Context, string) error { return nil }

// TypeExists reports whether a country has numbers of a type at all,
// from libphonenumber's metadata.
func TypeExists(country, kind string) bool {
	var types []phonenumbers.PhoneNumberType
	switch kind {
	case "local":
		types = []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.FIXED_LINE_OR_MOBILE}
	case "mobile":
		types = []phonenumbers.PhoneNumberType{phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE}
	case "toll_free":
		types = []phonenumbers.PhoneNumberType{phonenumbers.TOLL_FREE}
	}
	for _, t := range types {
		if phonenumbers.GetExampleNumberForType(country, t) != nil {
			return true
		}
	}
	return false
}
