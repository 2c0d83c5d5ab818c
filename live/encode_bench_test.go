package live_test

import (
	"fmt"
	"testing"

	"github.com/callflow/callflow/live"
)

// BenchmarkDecode decodes the typed model of an organisation of the size
// bench/apply generates (10,000 flows, each answering its own number), as
// the server does each time it loads a version.
func BenchmarkDecode(b *testing.B) {
	m := &live.Model{Organization: live.Organization{Currency: "USD"}, Recordings: live.Recordings{Plan: "free"}}
	for i := range 10_000 {
		name := fmt.Sprintf("f%05d", i)
		m.Numbers = append(m.Numbers, live.Number{Name: name, E164: fmt.Sprintf("+1415%07d", i), Type: "local", Country: "US", Flow: name})
		m.Flows = append(m.Flows, live.Flow{Name: name, Enabled: true, Numbers: []string{name}})
	}
	enc, err := m.Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := live.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}
