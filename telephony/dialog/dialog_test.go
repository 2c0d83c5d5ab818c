package dialog

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseSessionExpires(t *testing.T) {
	for in, want := range map[string]struct {
		n         int
		refresher string
		ok        bool
	}{
		"1800":                    {1800, "", true},
		"90;refresher=uac":        {90, "uac", true},
		" 600 ; refresher = UAS ": {600, "uas", true},
		"600;foo=bar":             {600, "", true},
		"600;refresher=nobody":    {0, "", false},
		"-5":                      {0, "", false},
		"0":                       {0, "", false},
		"lots":                    {0, "", false},
		"":                        {0, "", false},
	} {
		n, r, ok := parseSessionExpires(in)
		if n != want.n || r != want.refresher || ok != want.ok {
			t.Errorf("%q: %d %q %v, want %d %q %v", in, n, r, ok, want.n, want.refresher, want.ok)
		}
	}
}

// FuzzParseSessionExpires: any header value parses to a positive
// interval and a known refresher, or fails; it never panics.
func FuzzParseSessionExpires(f *testing.F) {
	f.Add("1800;refresher=uac")
	f.Add("90;;refresher=")
	f.Fuzz(func(t *testing.T, v string) {
		n, r, ok := parseSessionExpires(v)
		if !ok {
			return
		}
		if n <= 0 || (r != "" && r != "uac" && r != "uas") {
			t.Fatalf("%q: %d %q", v, n, r)
		}
		if _, err := strconv.Atoi(strings.TrimSpace(strings.Split(v, ";")[0])); err != nil {
			t.Fatalf("%q parsed without a number", v)
		}
	})
}
