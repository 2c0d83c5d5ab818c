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
		Outbound:     live.Outbound{BlockedCountries: []string{"CU", "KP"}, BlockPremium: true},
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
			{Name: "private", E164: "+14155550122", Type: "local", Country: "US", Flow: "support", CustomCallerID: true},
		},
		Users: []live.User{
			{Name: "ann", DisplayName: "Ann", Email: "ann@example.com", AllowOutgoing: true, CallerID: "+14155550100", AllowCustomCallerID: true, CustomCallerID: "+14155550122"},
			{Name: "bob"},
		},
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
	if u, ok := got.User("ann"); !ok || u.PresentedCallerID() != "+14155550122" {
		t.Errorf("User(ann) = %+v, %v; want the custom caller ID presented", u, ok)
	}
}

func TestRouteCustomCallerIDs(t *testing.T) {
	m := sample()
	m.Numbers[3].Flow = ""
	m.RouteCustomCallerIDs()
	if got := m.Numbers[3].Flow; got != "support" {
		t.Errorf("custom caller ID's flow = %q, want the support number's flow", got)
	}
	if _, err := m.Encode(); err != nil {
		t.Error(err)
	}
}

func TestOutgoingRate(t *testing.T) {
	card := live.RateCard{OutgoingPerMinute: map[string]live.Micro{"GB": 30_000, "GB/mobile": 120_000, "*/mobile": 150_000, "*": 100_000}}
	for _, c := range []struct {
		country, typ, key string
		rate              live.Micro
	}{
		{"GB", "mobile", "GB/mobile", 120_000},
		{"GB", "local", "GB", 30_000},
		{"FR", "mobile", "*/mobile", 150_000},
		{"FR", "local", "*", 100_000},
	} {
		rate, key, ok := card.OutgoingRate(c.country, c.typ)
		if !ok || rate != c.rate || key != c.key {
			t.Errorf("OutgoingRate(%s, %s) = %d, %q, %v; want %d, %q", c.country, c.typ, rate, key, ok, c.rate, c.key)
		}
	}
	if _, _, ok := (live.RateCard{}).OutgoingRate("GB", "local"); ok {
		t.Error("an empty card prices a call")
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
		{"number of another flow", strings.Replace(good, `"flow":"support","custom_caller_id":false}`, `"flow":"idle","custom_caller_id":false}`, 1), `whose flow is "idle"`},
		{"custom caller ID not the support flow", strings.Replace(good, `"flow":"support","custom_caller_id":true}`, `"flow":"idle","custom_caller_id":true}`, 1), `not the support number's "support"`},
		{"custom caller ID answered by a flow", strings.Replace(good, `"numbers":["main","support"]`, `"numbers":["main","private","support"]`, 1), `which is a custom caller ID`},
		{"custom caller ID not allowed", strings.Replace(good, `"allow_custom_caller_id":true`, `"allow_custom_caller_id":false`, 1), `may not use one`},
		{"custom caller ID not such a number", strings.Replace(good, `"custom_caller_id":"+14155550122"`, `"custom_caller_id":"+14155550111"`, 1), `not a custom caller ID number`},
		{"blocked country not a code", strings.Replace(good, `"blocked_countries":["CU","KP"]`, `"blocked_countries":["CU","kp"]`, 1), `not an ISO 3166-1`},
		{"blocked countries unsorted", strings.Replace(good, `"blocked_countries":["CU","KP"]`, `"blocked_countries":["KP","CU"]`, 1), `not sorted`},
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
	_, err := live.Decode([]byte(strings.Replace(good, `"format_version":3`, `"format_version":99`, 1)))
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
	f.Add([]byte(`{"format_version":3,"model":null}`))
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
