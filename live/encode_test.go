package live_test

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/callflow/callflow/live"
)

func sample() *live.Model {
	return &live.Model{
		Organization: live.Organization{Name: "Acme", Country: "US", Currency: "EUR", SupportNumber: "+18005550199"},
		Credits:      live.Credits{LowBalance: 10_000_000, AutoRecharge: live.AutoRecharge{Enabled: true, Threshold: 5_000_000, Amount: 50_000_000}},
		Recordings:   live.Recordings{Plan: "50k", DeleteAfter: "3mo"},
		Rates: live.RateCard{
			NumberMonthly:     map[string]map[string]live.Micro{"US": {"local": 1_000_000}, "*": {"toll_free": 2_500_000}},
			IncomingPerMinute: map[string]live.Micro{"toll_free": 30_000},
			OutgoingPerMinute: map[string]live.Micro{"*": 50_000},
			CreditValue:       map[string]live.Micro{"EUR": 920_000},
		},
		Trunks: []live.Trunk{{Name: "carrier", Address: "sip.carrier.example:5060", Transport: "udp", InboundFrom: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}}},
		Numbers: []live.Number{
			{Name: "main", E164: "+14155550100", Type: "local", Country: "US", Flow: "support"},
			{Name: "support", E164: "+18005550199", Type: "toll_free", Country: "US", Region: "California", Flow: "support"},
			{Name: "spare", E164: "+14155550111", Type: "local", Country: "US"},
		},
		Users:  []live.User{{Name: "ann", DisplayName: "Ann", Email: "ann@example.com", AllowOutgoing: true, CallerID: "+14155550100"}, {Name: "bob"}},
		Groups: []live.Group{{Name: "sales", Members: []string{"bob", "ann"}}},
		Flows:  []live.Flow{{Name: "support", Enabled: true, Numbers: []string{"main", "support"}}, {Name: "idle"}},
	}
}

func encode(t *testing.T, m *live.Model) []byte {
	t.Helper()
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	m := sample()
	b := encode(t, m)
	got, err := live.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	m.Flows[1].Numbers = []string{} // Encode writes an empty list for none
	if !reflect.DeepEqual(got, m) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, m)
	}
	if again := encode(t, got); string(again) != string(b) {
		t.Errorf("encoding is not stable:\n%s\n%s", b, again)
	}
	if f, ok := got.Flow("support"); !ok || !f.Enabled {
		t.Errorf("Flow(support) = %+v, %v", f, ok)
	}
	if n, ok := got.Number("spare"); !ok || n.Flow != "" {
		t.Errorf("Number(spare) = %+v, %v", n, ok)
	}
}

func TestDecodeRefuses(t *testing.T) {
	good := string(encode(t, sample()))
	cases := []struct {
		name, in, want string
	}{
		{"not JSON", "{", "damaged"},
		{"no version", `{"model":{}}`, "no format_version number"},
		{"not an object", `[1]`, "no format_version number"},
		{"version as text", `{"format_version":"1","model":{}}`, "no format_version number"},
		{"unknown field", strings.Replace(good, `"partner":false`, `"partner":false,"reseller":true`, 1), `unknown field "reseller"`},
		{"missing field", strings.Replace(good, `"enabled":true,`, ``, 1), `has no field "enabled"`},
		{"missing list", strings.Replace(good, `"members":["bob","ann"]`, `"members":null`, 1), "model.groups[0].members is null"},
		{"trailing data", good + `{}`, "damaged"},
		{"bad prefix", strings.Replace(good, `203.0.113.0/24`, `203.0.113.7/24`, 1), "not a masked prefix"},
		{"flow of no number", strings.Replace(good, `"numbers":["main","support"]`, `"numbers":["main","gone"]`, 1), `answers number "gone"`},
		{"number of another flow", strings.Replace(good, `"flow":"support"}`, `"flow":"idle"}`, 1), `whose flow is "idle"`},
		{"member not a user", strings.Replace(good, `"members":["bob","ann"]`, `"members":["bob","cy"]`, 1), `member "cy" is not a user`},
	}
	for _, c := range cases {
		if c.in == good {
			t.Fatalf("%s: the case changes nothing", c.name)
		}
		_, err := live.Decode([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to say %q", c.name, err, c.want)
		}
	}
}

func TestDecodeOtherFormat(t *testing.T) {
	good := string(encode(t, sample()))
	_, err := live.Decode([]byte(strings.Replace(good, `"format_version":2`, `"format_version":99`, 1)))
	if !errors.Is(err, live.ErrFormat) || !strings.Contains(err.Error(), "callflow apply") {
		t.Errorf("err = %v, want ErrFormat naming the fix", err)
	}
}

func TestEncodeValidates(t *testing.T) {
	m := sample()
	m.Users = append(m.Users, live.User{Name: "ann"})
	if _, err := m.Encode(); err == nil || !strings.Contains(err.Error(), "user ann is there twice") {
		t.Errorf("err = %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	good, err := sample().Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	empty, err := (&live.Model{Organization: live.Organization{Currency: "USD"}, Recordings: live.Recordings{Plan: "free"}}).Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(empty)
	f.Add([]byte(`{"format_version":2,"model":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := live.Decode(b)
		if err != nil {
			return
		}
		// What decodes is valid, and encodes to something that decodes
		// to the same model.
		again, err := m.Encode()
		if err != nil {
			t.Fatalf("decoded a model that does not encode: %v", err)
		}
		m2, err := live.Decode(again)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed the model:\n%+v\n%+v", m, m2)
		}
	})
}
