package plan_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/live"
	"github.com/callflow/callflow/numbers"
	"github.com/callflow/callflow/plan"
	"github.com/callflow/callflow/store"
)

const typed = `
organization {
  name           = "Acme"
  country        = "US"
  currency       = "EUR"
  support_number = number.free
  sip_domain     = "PBX.Acme.example"
}

credits {
  low_balance = 5
  auto_recharge {
    threshold = 10
    amount    = 50
  }
}

recordings {
  plan         = "50k"
  delete_after = "3mo"
}

rates {
  incoming_per_minute = { toll_free = 0.5 }
}

trunk "carrier" {
  address      = "sip.carrier.example:5060"
  inbound_from = ["203.0.113.9/24", "198.51.100.7"]
}

number "free" {
  e164   = "+18005550199"
  type   = "toll_free"
  region = "California"
}

user "bob" {
  display_name   = "Bob"
  allow_outgoing = true
  caller_id      = number.main
}

group "sales" {
  members = [user.bob, user.ann]
}
`

func TestNewLive(t *testing.T) {
	_, m := snapshot(t, base+typed)
	got, err := plan.NewLive(m)
	if err != nil {
		t.Fatal(err)
	}
	def, err := plan.NewLive(mustModel(t, base))
	if err != nil {
		t.Fatal(err)
	}
	if got.Organization != (live.Organization{Name: "Acme", Country: "US", Currency: "EUR", SupportNumber: "+18005550199", SIPDomain: "pbx.acme.example"}) {
		t.Errorf("organization %+v", got.Organization)
	}
	if want := (live.Credits{LowBalance: 5_000_000, AutoRecharge: live.AutoRecharge{Enabled: true, Threshold: 10_000_000, Amount: 50_000_000}}); got.Credits != want {
		t.Errorf("credits %+v, want %+v", got.Credits, want)
	}
	if got.Recordings != (live.Recordings{Plan: "50k", DeleteAfter: "3mo"}) {
		t.Errorf("recordings %+v", got.Recordings)
	}
	// The defaults are written out: an empty configuration has a currency,
	// a low balance and a plan, and the default rate card.
	if def.Organization.Currency != "USD" || def.Credits.LowBalance != 10_000_000 || def.Recordings.Plan != "free" || len(def.Rates.NumberMonthly) == 0 {
		t.Errorf("defaults not written out: %+v %+v %+v %d number rates", def.Organization, def.Credits, def.Recordings, len(def.Rates.NumberMonthly))
	}
	// The rates block is laid over the default card, entry by entry.
	if got.Rates.IncomingPerMinute["toll_free"] != 500_000 {
		t.Errorf("toll_free incoming rate %d, want the override", got.Rates.IncomingPerMinute["toll_free"])
	}
	if got.Rates.IncomingPerMinute["local"] != def.Rates.IncomingPerMinute["local"] || !reflect.DeepEqual(got.Rates.NumberMonthly, def.Rates.NumberMonthly) {
		t.Errorf("entries not overridden should be the default card's")
	}
	wantTrunk := live.Trunk{Name: "carrier", Address: "sip.carrier.example:5060", Transport: "udp",
		InboundFrom: []netip.Prefix{netip.MustParsePrefix("198.51.100.7/32"), netip.MustParsePrefix("203.0.113.0/24")}}
	if len(got.Trunks) != 1 || !reflect.DeepEqual(got.Trunks[0], wantTrunk) {
		t.Errorf("trunks %+v, want %+v", got.Trunks, wantTrunk)
	}
	wantNumbers := []live.Number{
		{Name: "free", E164: "+18005550199", Type: "toll_free", Country: "US", Region: "California"},
		{Name: "main", E164: "+14155550100", Type: "local", Country: "US", Flow: "f"},
	}
	if !reflect.DeepEqual(got.Numbers, wantNumbers) {
		t.Errorf("numbers %+v, want %+v", got.Numbers, wantNumbers)
	}
	if len(got.Users) != 2 || got.Users[1] != (live.User{Name: "bob", DisplayName: "Bob", AllowOutgoing: true, CallerID: "+14155550100"}) {
		t.Errorf("users %+v", got.Users)
	}
	if len(got.Groups) != 1 || !reflect.DeepEqual(got.Groups[0].Members, []string{"bob", "ann"}) {
		t.Errorf("groups %+v, want the members in the order written", got.Groups)
	}
	if len(got.Flows) != 1 || !reflect.DeepEqual(got.Flows[0], live.Flow{Name: "f", Enabled: true, Numbers: []string{"main"}}) {
		t.Errorf("flows %+v", got.Flows)
	}
	// What the runtime prices with, without plan.
	fees := billing.MonthlyFees(got)
	card := billing.NewRateCard(got.Rates)
	if len(fees) != 3 || fees[0].Fee != card.NumberFee("US", "toll_free") || fees[2].Key != "storage:50k" || fees[2].Fee != billing.StoragePlans["50k"].Fee {
		t.Errorf("monthly fees %+v", fees)
	}
	if l := billing.NewLedger(nil, got); !l.AutoRecharge.Enabled || l.LowBalance != 5_000_000 {
		t.Errorf("ledger %+v", l)
	}
}

func mustModel(t *testing.T, src string) *compiler.Model {
	t.Helper()
	_, m := snapshot(t, src)
	return m
}

// Apply stores the typed model with the version; a version applied by an
// older callflow, without one, is a change that applying again fixes; a
// rollback carries the flow's place into the model.
func TestApplyStoresLive(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	os.MkdirAll(repo, 0o755)
	src := base
	os.WriteFile(filepath.Join(repo, "main.hcl"), []byte(src), 0o644)
	st, err := store.Open(ctx, filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	inv := filepath.Join(dir, "inventory.csv")
	os.WriteFile(inv, []byte("+14155550100,local\n"), 0o644)
	numbersInv, _ := numbers.LoadInventory(inv)
	mk := func() *plan.Plan {
		m, _, diags := compiler.CheckDir(repo)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		p, err := plan.Make(ctx, st, m, repo, "")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := plan.Apply(ctx, st, mk(), plan.Options{Prompts: prep(t), Numbers: numbersInv}); err != nil {
		t.Fatal(err)
	}
	m, v, err := billing.LiveModel(ctx, st)
	if err != nil || v != 1 {
		t.Fatalf("live model of version %d: %v", v, err)
	}
	if n, ok := m.Number("main"); !ok || n.Flow != "f" || n.E164 != "+14155550100" {
		t.Errorf("stored model's number main: %+v", n)
	}

	// A version as an older callflow applied it: no typed model.
	olderApply := func() {
		t.Helper()
		cur, _ := st.Live(ctx)
		c := store.Change{Base: cur.Version.ID, BaseHash: cur.Version.Hash, Config: cur.Config, Hash: cur.Version.Hash, Kind: "apply"}
		for name, fv := range cur.Flows {
			c.Flows = append(c.Flows, store.FlowInput{Flow: name, Use: fv})
		}
		if _, err := st.Apply(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	olderApply()
	if _, _, err := billing.LiveModel(ctx, st); err == nil || !strings.Contains(err.Error(), "callflow apply") {
		t.Errorf("a version without a model: %v; want the advice to apply again", err)
	}
	p := mk()
	if len(p.Changes) != 1 || p.Changes[0].Address() != "live" || !strings.Contains(p.Changes[0].Attrs[0].Old, "older callflow") {
		t.Fatalf("plan against a version without a model: %+v", p.Changes)
	}
	if _, err := plan.Apply(ctx, st, p, plan.Options{Prompts: prep(t)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := billing.LiveModel(ctx, st); err != nil {
		t.Fatalf("after applying again: %v", err)
	}
	if p := mk(); p.HasChanges() {
		t.Errorf("nothing left to change: %+v", p.Changes)
	}

	// Disable the flow and apply; rolling back to its first version
	// enables it again in the typed model.
	os.WriteFile(filepath.Join(repo, "main.hcl"), []byte(strings.Replace(src, "start   = ivr.menu", "start   = ivr.menu\n  enabled = false", 1)), 0o644)
	if _, err := plan.Apply(ctx, st, mk(), plan.Options{Prompts: prep(t)}); err != nil {
		t.Fatal(err)
	}
	if m, _, _ := billing.LiveModel(ctx, st); m == nil || m.Flows[0].Enabled {
		t.Fatalf("disabled flow: %+v", m)
	}
	fv, err := st.FlowVersion(ctx, "f", 1)
	if err != nil {
		t.Fatal(err)
	}
	// A rollback makes its version's model from the live one: it cannot
	// on a version without one.
	olderApply()
	if _, err := plan.Republish(ctx, st, "f", fv, "rollback", "tester", false); err == nil || !strings.Contains(err.Error(), "Apply the configuration again") {
		t.Fatalf("rollback on a version without a model: %v", err)
	}
	if _, err := plan.Apply(ctx, st, mk(), plan.Options{Prompts: prep(t)}); err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Republish(ctx, st, "f", fv, "rollback", "tester", false); err != nil {
		t.Fatal(err)
	}
	if m, _, err := billing.LiveModel(ctx, st); err != nil || !m.Flows[0].Enabled || m.Numbers[0].Flow != "f" {
		t.Errorf("after the rollback: %+v, %v; want flow f enabled, answering main", m, err)
	}
}
