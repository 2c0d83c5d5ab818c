package plan_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/internal/tooltest"
	"github.com/callflow/callflow/lang"
	"github.com/callflow/callflow/numbers"
	"github.com/callflow/callflow/plan"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony/prompt"
)

const base = `
number "main" {
  e164 = "+14155550100"
  type = "local"
}

user "ann" {
}

flow "f" {
  numbers = [number.main]
  start   = ivr.menu

  ivr "menu" {
    say = "Press 1."
    key "1" { next = transfer_user.ann }
  }

  transfer_user "ann" {
    user = user.ann
  }

  announce "bye" {
    say = "Bye."
  }
}
`

func snapshot(t *testing.T, src string) (*plan.Snapshot, *compiler.Model) {
	t.Helper()
	cfg, diags := lang.NewParser().LoadSources([]lang.NamedSource{{Name: "main.hcl", Src: []byte(src)}})
	m, more := compiler.Check(cfg, compiler.Options{})
	if diags = append(diags, more...); diags.HasErrors() {
		t.Fatal(diags)
	}
	return plan.NewSnapshot(m), m
}

func TestMeaningOnly(t *testing.T) {
	a, _ := snapshot(t, base)
	same := []string{
		// Layout and comments.
		strings.ReplaceAll(strings.ReplaceAll(base, "  ", "\t"), "Press 1.\"", "Press 1.\" # the menu"),
		// Defaults written out.
		strings.Replace(base, "user = user.ann", "user = user.ann\n    ring_timeout = 30\n    record = false", 1),
		// Blocks in another order.
		base[strings.Index(base, "user \"ann\""):] + base[:strings.Index(base, "user \"ann\"")],
	}
	for i, src := range same {
		b, _ := snapshot(t, src)
		if changes := plan.Compare(a, b); len(changes) != 0 {
			t.Errorf("variant %d means the same but changes: %+v", i, changes)
		}
		if plan.Hash(a) != plan.Hash(b) {
			t.Errorf("variant %d means the same but hashes differently", i)
		}
	}
}

// A change of the SIP domain is a change of the organisation: phones
// must register again under the new one.
func TestCompareSIPDomain(t *testing.T) {
	a, _ := snapshot(t, base)
	b, _ := snapshot(t, base+"organization {\n  sip_domain = \"pbx.example.com\"\n}\n")
	changes := plan.Compare(a, b)
	found := false
	for _, c := range changes {
		if strings.Contains(fmt.Sprintf("%+v", c), "sip_domain") && strings.Contains(fmt.Sprintf("%+v", c), "pbx.example.com") {
			found = true
		}
	}
	if !found {
		t.Errorf("setting sip_domain shows no change naming it: %+v", changes)
	}
}

func TestCompareFlows(t *testing.T) {
	a, _ := snapshot(t, base)
	edited := strings.Replace(base, `key "1" { next = transfer_user.ann }`, `key "1" { next = announce.bye }`, 1)
	edited = strings.Replace(edited, "user = user.ann\n", "user = user.ann\n    ring_timeout = 20\n", 1)
	edited = strings.Replace(edited, `  announce "bye" {`, "  voicemail \"box\" {\n  }\n\n  announce \"bye\" {", 1)
	b, _ := snapshot(t, edited)
	changes := plan.Compare(a, b)
	if len(changes) != 1 || changes[0].Address() != "flow.f" || changes[0].Action != "change" {
		t.Fatalf("changes %+v, want flow.f changed", changes)
	}
	var got []string
	for _, s := range changes[0].States {
		line := s.Action + " " + s.State
		for _, a := range s.Attrs {
			line += " " + a.Name + ":" + a.Old + "→" + a.New
		}
		for _, c := range s.Connections {
			line += " " + c.Action + " " + c.Name + ":" + c.Old + "→" + c.New
		}
		got = append(got, line)
	}
	want := []string{
		"change ivr.menu rewire key 1:transfer_user.ann→announce.bye",
		"change transfer_user.ann ring_timeout:30→20",
		"add voicemail.box max_length:→120 timeout:→180",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("state changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Removing the flow, and an empty store.
	// The organisation's and credits' defaults, recordings (the free
	// plan), the number, the user, the flow.
	if c := plan.Compare(b, plan.Empty()); len(c) != 6 || c[5].Address() != "flow.f" || c[5].Action != "remove" {
		t.Errorf("removing everything: %+v", c)
	}
}

func TestMonthlyCost(t *testing.T) {
	src := base + `
number "free" {
  e164 = "+18005550199"
  type = "toll_free"
}

recordings {
  plan = "200k"
}
`
	s, _ := snapshot(t, src)
	c, err := plan.MonthlyCost(s)
	if err != nil {
		t.Fatal(err)
	}
	card, err := plan.RateCard(s)
	if err != nil {
		t.Fatal(err)
	}
	want := card.NumberFee("US", "local") + card.NumberFee("US", "toll_free") + billing.Credits(50, 0)
	if c.Total != want || len(c.Items) != 3 || card.NumberFee("US", "toll_free") != billing.Credits(2, 0) {
		t.Errorf("cost %+v, want total %s from the default card", c, want)
	}
	// A rates block overrides the default entry by entry.
	o, _ := snapshot(t, src+`
rates {
  number_monthly      = { "US/toll_free" = 4.5 }
  outgoing_per_minute = { GB = 0.05 }
}
`)
	card, err = plan.RateCard(o)
	if err != nil {
		t.Fatal(err)
	}
	if card.NumberFee("US", "toll_free") != billing.Credits(4, 50) || card.NumberFee("US", "local") != billing.Credits(1, 0) {
		t.Errorf("override: toll-free %s, local %s", card.NumberFee("US", "toll_free"), card.NumberFee("US", "local"))
	}
	if r, _ := card.OutgoingRate("GB", "local"); r != billing.Credits(0, 5) {
		t.Errorf("outgoing GB %s", r)
	}
	if r, _ := card.OutgoingRate("GB", "mobile"); r != billing.Credits(0, 8) {
		t.Errorf("outgoing GB mobile keeps the default card's GB/mobile rate: %s", r)
	}
	if r, _ := card.OutgoingRate("FR", "local"); r != billing.Credits(0, 10) {
		t.Errorf("outgoing FR takes the * rate: %s", r)
	}
	if r, _ := card.OutgoingRate("FR", "mobile"); r != billing.Credits(0, 15) {
		t.Errorf("outgoing FR mobile takes the */mobile rate: %s", r)
	}
	if _, err := card.OutgoingRate("CN", "mobile"); !errors.Is(err, billing.ErrChina) {
		t.Errorf("calls to China must be refused: %v", err)
	}
	if card.IncomingRate("toll_free") <= card.IncomingRate("local") {
		t.Error("toll-free calls cost more than local ones")
	}
	if changes := plan.Compare(s, o); len(changes) != 1 || changes[0].Address() != "rates" {
		t.Errorf("a rates block is a change: %+v", changes)
	}
}

func TestMakeApplyLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, m := snapshot(t, base)
	p, err := plan.Make(ctx, st, m, ".", "")
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasChanges() || p.Base != 0 || len(p.Flows) != 1 || !p.Flows[0].Changed {
		t.Fatalf("first plan: %+v", p)
	}
	path := filepath.Join(dir, "p.plan")
	if err := p.Save(path, st); err != nil {
		t.Fatal(err)
	}
	loaded, err := plan.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Apply(ctx, st, loaded, plan.Options{Prompts: prep(t), AppliedBy: "t"}); err == nil || !strings.Contains(err.Error(), "no number provider") {
		t.Fatalf("a plan that takes a number needs a provider: %v", err)
	}
	invPath := filepath.Join(dir, "inventory.csv")
	os.WriteFile(invPath, []byte("+14155550100,local\n"), 0o644)
	inv, err := numbers.LoadInventory(invPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Apply(ctx, st, loaded, plan.Options{Prompts: prep(t), AppliedBy: "t", Numbers: inv}); err != nil {
		t.Fatal(err)
	}
	if held, _ := st.ProvisionedNumbers(ctx); held["+14155550100"].Provider != "trunk-inventory" {
		t.Errorf("provisioned numbers after apply: %+v", held)
	}
	again, err := plan.Make(ctx, st, m, ".", "")
	if err != nil || again.HasChanges() || again.Flows[0].Changed {
		t.Fatalf("plan after apply: %+v %v", again, err)
	}
	if _, err := plan.Apply(ctx, st, loaded, plan.Options{Prompts: prep(t)}); !errors.Is(err, store.ErrStale) {
		t.Errorf("applying a stale plan: %v", err)
	}

	// Damaged plan files.
	for name, content := range map[string]string{
		"not json":  "hello",
		"no format": `{"dir": "."}`,
		"future":    `{"format_version": 99}`,
	} {
		bad := filepath.Join(dir, "bad.plan")
		os.WriteFile(bad, []byte(content), 0o644)
		if _, err := plan.Load(bad); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

func TestApplyGuards(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func(name string) *store.Store {
		st, err := store.Open(ctx, filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	st, other := open("a.db"), open("b.db")
	invPath := filepath.Join(dir, "inventory.csv")
	os.WriteFile(invPath, []byte("+14155550100,local\n"), 0o644)
	inv, err := numbers.LoadInventory(invPath)
	if err != nil {
		t.Fatal(err)
	}
	_, m := snapshot(t, base)
	p, err := plan.Make(ctx, st, m, ".", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Apply(ctx, other, p, plan.Options{Prompts: prep(t), Numbers: inv}); err == nil || !strings.Contains(err.Error(), "another store") {
		t.Errorf("a plan applied to another store: %v", err)
	}
	if _, err := plan.Apply(ctx, st, p, plan.Options{Prompts: prep(t), Draft: true}); err == nil || !strings.Contains(err.Error(), "a draft holds flows only") {
		t.Errorf("a draft of a plan that adds a number: %v", err)
	}
	if _, err := plan.Apply(ctx, st, p, plan.Options{Prompts: prep(t), Numbers: inv}); err != nil {
		t.Fatal(err)
	}

	// A draft, then a normal apply of another change to the same flow:
	// the draft is gone, so publishing cannot undo the apply.
	_, m2 := snapshot(t, strings.Replace(base, `say = "Bye."`, `say = "Goodbye."`, 1))
	p2, _ := plan.Make(ctx, st, m2, ".", "")
	if _, err := plan.Apply(ctx, st, p2, plan.Options{Prompts: prep(t), Draft: true}); err != nil {
		t.Fatal(err)
	}
	_, m3 := snapshot(t, strings.Replace(base, `say = "Bye."`, `say = "See you."`, 1))
	p3, _ := plan.Make(ctx, st, m3, ".", "")
	if _, err := plan.Apply(ctx, st, p3, plan.Options{Prompts: prep(t)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Draft(ctx, "f"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an apply of the flow must discard its older draft: %v", err)
	}

	// Rolling back to the live version, or to one that rings someone who
	// is not live, is refused.
	live, _ := st.Live(ctx)
	fv, _ := st.FlowVersion(ctx, "f", live.Flows["f"])
	if _, err := plan.Republish(ctx, st, "f", fv, "rollback", "t", false); err == nil || !strings.Contains(err.Error(), "already live") {
		t.Errorf("rollback to the live version: %v", err)
	}
	_, m4 := snapshot(t, strings.Replace(strings.Replace(base, `user "ann" {`, `user "bo" {`, 1), "user = user.ann", "user = user.bo", 1))
	p4, _ := plan.Make(ctx, st, m4, ".", "")
	if _, err := plan.Apply(ctx, st, p4, plan.Options{Prompts: prep(t)}); err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Republish(ctx, st, "f", fv, "rollback", "t", false); err == nil || !strings.Contains(err.Error(), "user.ann, who is not live") {
		t.Errorf("rollback to a version that rings a removed user: %v", err)
	}
}

// A saved plan edited by hand — even where no content hash reaches, such
// as the version it was made against — is refused.
func TestSavedPlanIsSigned(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, m := snapshot(t, base)
	p, err := plan.Make(ctx, st, m, ".", "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "p.plan")
	if err := p.Save(path, st); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(b), `"base_version": 0`, `"base_version": 7`, 1)), 0o644)
	edited, err := plan.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Apply(ctx, st, edited, plan.Options{Prompts: prep(t)}); err == nil || !strings.Contains(err.Error(), "changed after it was made") {
		t.Errorf("an edited plan was not refused: %v", err)
	}
	os.WriteFile(path, b, 0o644)
	whole, err := plan.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Apply(ctx, st, whole, plan.Options{Prompts: prep(t)}); err == nil || strings.Contains(err.Error(), "changed after") {
		t.Errorf("the unedited plan must pass the signature check (and then need a number provider): %v", err)
	}
}

// Replacing a prompt's audio is a change, though no text changed; and a
// flow whose stored program is not what this compiler makes is
// recompiled.
func TestAudioAndProgramChanges(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	os.MkdirAll(filepath.Join(repo, "audio"), 0o755)
	wav := func(n int) []byte {
		b := []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data")
		return append(b, make([]byte, 4+n)...)
	}
	os.WriteFile(filepath.Join(repo, "audio", "hi.wav"), wav(10), 0o644)
	os.WriteFile(filepath.Join(repo, "main.hcl"), []byte(strings.Replace(base, `say = "Bye."`, `play = "audio/hi.wav"`, 1)), 0o644)
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
	if p := mk(); p.HasChanges() {
		t.Fatalf("no change expected: %+v", p.Changes)
	}
	os.WriteFile(filepath.Join(repo, "audio", "hi.wav"), wav(20), 0o644)
	p := mk()
	if len(p.Changes) != 1 || len(p.Changes[0].States) != 1 || p.Changes[0].States[0].Attrs[0].Name != "play.sha256" {
		t.Fatalf("new audio: %+v", p.Changes)
	}
	if _, err := plan.Apply(ctx, st, p, plan.Options{Prompts: prep(t)}); err != nil {
		t.Fatal(err)
	}
	// A stored program that this compiler would not make: an older
	// callflow's. The plan recompiles it.
	live, _ := st.Live(ctx)
	fv, _ := st.FlowVersion(ctx, "f", live.Flows["f"])
	if _, err := st.Apply(ctx, store.Change{Base: live.Version.ID, Config: live.Config, Hash: live.Version.Hash, Kind: "apply",
		Flows: []store.FlowInput{{Flow: "f", Definition: fv.Definition, Program: fv.Program, Hash: "from-an-older-compiler"}}}); err != nil {
		t.Fatal(err)
	}
	p = mk()
	if len(p.Changes) != 1 || p.Changes[0].Attrs[0].Name != "program" || !strings.Contains(p.Changes[0].Attrs[0].New, "recompiled") {
		t.Fatalf("recompiled flow: %+v", p.Changes)
	}
}

// prep is the runtime's prompt preparer, caching in the test's directory.
// It speaks with espeak-ng and converts with sox, which make test installs.
func prep(t *testing.T) plan.Preparer {
	t.Helper()
	tooltest.RequireSpeech(t)
	return &prompt.Cache{Dir: t.TempDir()}
}
