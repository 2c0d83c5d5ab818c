package live

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// FormatVersion is the version of the encoding. Bump it whenever a field
// is added, removed or changes meaning: Decode refuses every other
// version, and the fix it names is to apply the configuration again.
const FormatVersion = 3

// ErrFormat is returned (wrapped) by Decode for a model of another
// format version than FormatVersion.
var ErrFormat = errors.New("typed live model of another format")

// envelope is the encoding: the format version beside the model.
type envelope struct {
	FormatVersion int   `json:"format_version"`
	Model         Model `json:"model"`
}

// Encode returns the model's encoding: JSON, map keys sorted, so that
// equal models encode to equal bytes. It fails for a model that does not
// pass Validate.
func (m *Model) Encode() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	c := *m
	c.normalise()
	return json.Marshal(envelope{FormatVersion: FormatVersion, Model: c})
}

// normalise makes nil and empty the same, so that an encoding always
// holds every field (Decode requires them).
func (m *Model) normalise() {
	if m.Trunks == nil {
		m.Trunks = []Trunk{}
	}
	if m.Numbers == nil {
		m.Numbers = []Number{}
	}
	if m.Users == nil {
		m.Users = []User{}
	}
	if m.Groups == nil {
		m.Groups = []Group{}
	}
	if m.Flows == nil {
		m.Flows = []Flow{}
	}
	if m.Outbound.BlockedCountries == nil {
		m.Outbound.BlockedCountries = []string{}
	}
	r := &m.Rates
	if r.NumberMonthly == nil {
		r.NumberMonthly = map[string]map[string]Micro{}
	}
	if r.IncomingPerMinute == nil {
		r.IncomingPerMinute = map[string]Micro{}
	}
	if r.OutgoingPerMinute == nil {
		r.OutgoingPerMinute = map[string]Micro{}
	}
	if r.CreditValue == nil {
		r.CreditValue = map[string]Micro{}
	}
	for i := range m.Groups {
		if m.Groups[i].Members == nil {
			m.Groups[i].Members = []string{}
		}
	}
	for i := range m.Flows {
		if m.Flows[i].Numbers == nil {
			m.Flows[i].Numbers = []string{}
		}
	}
}

// Decode reads an encoding made by Encode. It refuses, with an error that
// says what is wrong, an encoding of another format version (ErrFormat),
// one with a field it does not know or without one it needs, and a model
// that does not pass Validate.
func Decode(b []byte) (*Model, error) {
	var tree any
	raw := json.NewDecoder(bytes.NewReader(b))
	raw.UseNumber()
	if err := raw.Decode(&tree); err != nil {
		return nil, fmt.Errorf("typed live model is damaged: %w", err)
	}
	if _, err := raw.Token(); err != io.EOF {
		return nil, fmt.Errorf("typed live model is damaged: data after its end")
	}
	top, _ := tree.(map[string]any)
	version, ok := top["format_version"].(json.Number)
	switch {
	case !ok:
		return nil, fmt.Errorf("typed live model is damaged: it has no format_version number")
	case version.String() != strconv.Itoa(FormatVersion):
		return nil, fmt.Errorf("%w: format %s, and this callflow reads format %d. Apply the configuration again with this callflow (callflow apply, or callflow serve DIR)", ErrFormat, version, FormatVersion)
	}
	if err := requireFields(tree, reflect.TypeFor[envelope](), ""); err != nil {
		return nil, fmt.Errorf("typed live model is damaged: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var e envelope
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("typed live model is damaged: %w", err)
	}
	if err := e.Model.Validate(); err != nil {
		return nil, fmt.Errorf("typed live model is damaged: %w", err)
	}
	return &e.Model, nil
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// requireFields checks that v, the JSON value of a t (a struct, or a
// slice or map of them) decoded as any, holds every field that
// encoding/json would fill, at every depth: a missing field would
// otherwise decode as its zero value, and a number answered by no flow
// looks the same as a damaged one. It walks a tree parsed once, so that
// checking costs one more parse however deep the model.
func requireFields(v any, t reflect.Type, path string) error {
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil // a leaf, such as netip.Prefix
	}
	switch t.Kind() {
	case reflect.Struct:
		fields, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s is not an object", where(path))
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			raw, ok := fields[name]
			if !ok {
				return fmt.Errorf("%s has no field %q", where(path), name)
			}
			if err := requireFields(raw, f.Type, join(path, name)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if v == nil {
			return fmt.Errorf("%s is null", where(path))
		}
		items, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s is not a list", where(path))
		}
		for i, item := range items {
			if err := requireFields(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if v == nil {
			return fmt.Errorf("%s is null", where(path))
		}
		items, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s is not an object", where(path))
		}
		for k, item := range items {
			if err := requireFields(item, t.Elem(), fmt.Sprintf("%s[%q]", path, k)); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func where(path string) string {
	if path == "" {
		return "the encoding"
	}
	return path
}

// Validate reports the first thing in the model that cannot be right: a
// name given twice, a required value left empty, a network that is not
// one, a reference to a number, user or flow the model does not hold, or
// a number and its flow that disagree.
func (m *Model) Validate() error {
	if m.Organization.Currency == "" {
		return fmt.Errorf("organization has no currency")
	}
	if m.Recordings.Plan == "" {
		return fmt.Errorf("recordings has no plan")
	}
	if m.Credits.LowBalance < 0 || m.Credits.AutoRecharge.Threshold < 0 || m.Credits.AutoRecharge.Amount < 0 {
		return fmt.Errorf("credits hold a negative amount")
	}
	if err := m.Rates.validate(); err != nil {
		return err
	}
	e164s := map[string]bool{}
	numbers := map[string]Number{}
	for _, n := range m.Numbers {
		_, dup := numbers[n.Name]
		if err := named("number", n.Name, dup); err != nil {
			return err
		}
		if !strings.HasPrefix(n.E164, "+") || len(n.E164) < 3 {
			return fmt.Errorf("number %s: %q is not an E.164 number", n.Name, n.E164)
		}
		if e164s[n.E164] {
			return fmt.Errorf("number %s: %s is also another number's", n.Name, n.E164)
		}
		if n.Type == "" {
			return fmt.Errorf("number %s has no type", n.Name)
		}
		e164s[n.E164] = true
		numbers[n.Name] = n
	}
	if s := m.Organization.SupportNumber; s != "" && !e164s[s] {
		return fmt.Errorf("organization: support number %s is not one of the organisation's numbers", s)
	}
	for i, cc := range m.Outbound.BlockedCountries {
		if len(cc) != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z' {
			return fmt.Errorf("outbound: blocked country %q is not an ISO 3166-1 alpha-2 code", cc)
		}
		if i > 0 && m.Outbound.BlockedCountries[i-1] >= cc {
			return fmt.Errorf("outbound: blocked countries are not sorted, each once")
		}
	}
	supportFlow := ""
	for _, n := range m.Numbers {
		if n.E164 == m.Organization.SupportNumber {
			supportFlow = n.Flow
		}
	}
	trunks := map[string]bool{}
	for _, t := range m.Trunks {
		if err := named("trunk", t.Name, trunks[t.Name]); err != nil {
			return err
		}
		trunks[t.Name] = true
		if t.Address == "" {
			return fmt.Errorf("trunk %s has no address", t.Name)
		}
		if t.Transport != "udp" && t.Transport != "tcp" {
			return fmt.Errorf("trunk %s: transport %q is neither udp nor tcp", t.Name, t.Transport)
		}
		if len(t.InboundFrom) == 0 {
			return fmt.Errorf("trunk %s has no inbound networks", t.Name)
		}
		for _, p := range t.InboundFrom {
			if !p.IsValid() || p != p.Masked() {
				return fmt.Errorf("trunk %s: inbound network %s is not a masked prefix", t.Name, p)
			}
		}
	}
	users := map[string]bool{}
	for _, u := range m.Users {
		if err := named("user", u.Name, users[u.Name]); err != nil {
			return err
		}
		users[u.Name] = true
		if u.CallerID != "" && !e164s[u.CallerID] {
			return fmt.Errorf("user %s: caller ID %s is not one of the organisation's numbers", u.Name, u.CallerID)
		}
		if u.CustomCallerID != "" {
			if !u.AllowCustomCallerID {
				return fmt.Errorf("user %s has a custom caller ID but may not use one", u.Name)
			}
			if !slices.ContainsFunc(m.Numbers, func(n Number) bool { return n.E164 == u.CustomCallerID && n.CustomCallerID }) {
				return fmt.Errorf("user %s: custom caller ID %s is not a custom caller ID number of the organisation", u.Name, u.CustomCallerID)
			}
		}
	}
	groups := map[string]bool{}
	for _, g := range m.Groups {
		if err := named("group", g.Name, groups[g.Name]); err != nil {
			return err
		}
		groups[g.Name] = true
		for _, u := range g.Members {
			if !users[u] {
				return fmt.Errorf("group %s: member %q is not a user", g.Name, u)
			}
		}
	}
	flows := map[string]Flow{}
	for _, f := range m.Flows {
		_, dup := flows[f.Name]
		if err := named("flow", f.Name, dup); err != nil {
			return err
		}
		flows[f.Name] = f
		for _, n := range f.Numbers {
			num, ok := numbers[n]
			if !ok {
				return fmt.Errorf("flow %s answers number %q, which is not a number", f.Name, n)
			}
			if num.CustomCallerID {
				return fmt.Errorf("flow %s answers number %s, which is a custom caller ID: only the support number's flow answers callbacks to it", f.Name, n)
			}
			if num.Flow != f.Name {
				return fmt.Errorf("flow %s answers number %s, whose flow is %q", f.Name, n, num.Flow)
			}
		}
	}
	for _, n := range m.Numbers {
		if n.CustomCallerID {
			if m.Organization.SupportNumber == "" {
				return fmt.Errorf("number %s is a custom caller ID, but the organisation has no support number to forward callbacks to", n.Name)
			}
			if n.Flow != supportFlow {
				return fmt.Errorf("number %s is a custom caller ID: its flow is %q, not the support number's %q", n.Name, n.Flow, supportFlow)
			}
			if _, ok := flows[n.Flow]; n.Flow != "" && !ok {
				return fmt.Errorf("number %s: flow %q does not exist", n.Name, n.Flow)
			}
			continue
		}
		if n.Flow == "" {
			continue
		}
		f, ok := flows[n.Flow]
		if !ok || !slices.Contains(f.Numbers, n.Name) {
			return fmt.Errorf("number %s: flow %q does not answer it", n.Name, n.Flow)
		}
	}
	return nil
}

func named(kind, name string, taken bool) error {
	if name == "" {
		return fmt.Errorf("a %s has no name", kind)
	}
	if taken {
		return fmt.Errorf("%s %s is there twice", kind, name)
	}
	return nil
}

func (r *RateCard) validate() error {
	for cc, byType := range r.NumberMonthly {
		for typ, fee := range byType {
			if fee < 0 {
				return fmt.Errorf("rates: number_monthly %s/%s is negative", cc, typ)
			}
		}
	}
	for name, entries := range map[string]map[string]Micro{"incoming_per_minute": r.IncomingPerMinute, "outgoing_per_minute": r.OutgoingPerMinute, "credit_value": r.CreditValue} {
		for k, v := range entries {
			if v < 0 {
				return fmt.Errorf("rates: %s %s is negative", name, k)
			}
		}
	}
	return nil
}
