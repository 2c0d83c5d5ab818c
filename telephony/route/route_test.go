package route_test

import (
	"net/netip"
	"testing"

	"github.com/callflow/callflow/telephony/route"
)

func table() *route.Table {
	return &route.Table{
		Trunks:  []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32")},
		Country: "US",
		Numbers: map[string]route.Number{
			"+14155550100":  {Name: "sales", Flow: "sales", Enabled: true},
			"+18005550199":  {Name: "support", Flow: "support", Enabled: false},
			"+16505550111":  {Name: "spare"},
			"+442071838750": {Name: "london", Flow: "uk", Enabled: true},
		},
	}
}

func TestRoute(t *testing.T) {
	tb := table()
	for _, tt := range []struct {
		src, dialled string
		status       int
		flow         string
	}{
		{"203.0.113.7", "+14155550100", 0, "sales"},
		{"203.0.113.7", "14155550100", 0, "sales"},
		{"203.0.113.7", "4155550100", 0, "sales"},
		{"203.0.113.7", "(415) 555-0100", 0, "sales"},
		{"203.0.113.7", "+1-415-555-0100;npdi", 0, "sales"},
		{"203.0.113.7", "00442071838750", 0, "uk"},
		{"::ffff:203.0.113.7", "+14155550100", 0, "sales"},
		{"2001:db8::5", "+442071838750", 0, "uk"},
		{"203.0.113.7", "+18005550199", 480, "support"},
		{"203.0.113.7", "+16505550111", 480, ""},
		{"203.0.113.7", "+14155550199", 404, ""},
		{"203.0.113.7", "alice", 404, ""},
		{"203.0.113.7", "", 404, ""},
		// A stranger learns nothing, whatever it dials.
		{"198.51.100.9", "+14155550100", 403, ""},
		{"198.51.100.9", "+19995550000", 403, ""},
		{"127.0.0.1", "+14155550100", 403, ""},
	} {
		d := tb.Route(netip.MustParseAddr(tt.src), tt.dialled)
		if d.Status != tt.status || d.Flow != tt.flow {
			t.Errorf("%s dialling %q: %+v, want status %d flow %q", tt.src, tt.dialled, d, tt.status, tt.flow)
		}
		if d.Status == 403 && (d.Number != "" || d.Flow != "") {
			t.Errorf("a refusal to a stranger reveals %+v", d)
		}
	}
}

func FuzzRoute(f *testing.F) {
	f.Add("+14155550100")
	f.Add("00442071838750;x=y")
	f.Fuzz(func(t *testing.T, dialled string) {
		tb := table()
		if d := tb.Route(netip.MustParseAddr("198.51.100.9"), dialled); d.Status != 403 || d.Number != "" {
			t.Fatalf("a stranger got %+v", d)
		}
		d := tb.Route(netip.MustParseAddr("203.0.113.7"), dialled)
		if d.Status == 0 && d.Flow == "" {
			t.Fatalf("accepted without a flow: %+v", d)
		}
	})
}
