package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/live"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/vm"
)

// FormatVersion is the version of the saved plan file format. Format 2
// carries the typed live model.
const FormatVersion = 2

// Plan is what applying a repository would change. It holds everything
// apply needs — the new snapshot and every flow's compiled program — so a
// saved plan applies exactly what was reviewed.
type Plan struct {
	FormatVersion int       `json:"format_version"`
	CreatedAt     time.Time `json:"created_at"`
	Dir           string    `json:"dir"`
	GitCommit     string    `json:"git_commit,omitempty"`
	// StoreID and Base are the store and the live version the plan
	// compares with; apply refuses the plan in another store, or if
	// another version has become live since.
	StoreID    string          `json:"store_id"`
	Base       int64           `json:"base_version"`
	BaseHash   string          `json:"base_hash,omitempty"`
	Config     json.RawMessage `json:"config"`
	ConfigHash string          `json:"config_hash"`
	// Live is the typed live model of the new configuration (package
	// live), what the runtime reads; apply stores it with the version.
	Live    json.RawMessage `json:"live"`
	Flows   []FlowPlan      `json:"flows"`
	Changes []Change        `json:"changes"`
	// Removed lists the flows the plan removes; their drafts go too.
	Removed []string `json:"removed,omitempty"`
	// Provision and Release are the E.164 numbers the plan takes and
	// gives back through the number provider.
	Provision  []string `json:"provision,omitempty"`
	Release    []string `json:"release,omitempty"`
	CostBefore Cost     `json:"cost_before"`
	CostAfter  Cost     `json:"cost_after"`
	Currency   string   `json:"currency"`
	// Signature is the store's signature of everything above, set by
	// Save; apply refuses a saved plan whose signature does not match.
	Signature string `json:"signature,omitempty"`
}

// contents is what the signature covers: the plan without it.
func (p *Plan) contents() []byte {
	c := *p
	c.Signature = ""
	b, err := json.Marshal(&c)
	if err != nil {
		panic(err) // a plan is plain data
	}
	return b
}

// FlowPlan is one flow of the new configuration.
type FlowPlan struct {
	Name       string          `json:"name"`
	Definition json.RawMessage `json:"definition"`
	Program    []byte          `json:"program"`
	Hash       string          `json:"hash"`
	Changed    bool            `json:"changed"`
	// Prompts names what each prompt is made from, by prompt key (see
	// promptSources); apply prepares them.
	Prompts map[string]string `json:"prompts,omitempty"`
}

// HasChanges reports whether applying the plan changes anything.
func (p *Plan) HasChanges() bool { return len(p.Changes) > 0 }

// Make compares a checked repository with what is live in st.
func Make(ctx context.Context, st *store.Store, m *compiler.Model, dir, gitCommit string) (*Plan, error) {
	cur, err := st.Live(ctx)
	if err != nil {
		return nil, err
	}
	old := Empty()
	if cur.Version.ID != 0 {
		if old, err = ParseSnapshot(cur.Config); err != nil {
			return nil, err
		}
	}
	snap := NewSnapshot(m)
	model, err := NewLive(m)
	if err != nil {
		return nil, err
	}
	encoded, err := model.Encode()
	if err != nil {
		return nil, err
	}
	p := &Plan{
		FormatVersion: FormatVersion, CreatedAt: time.Now().UTC(), Dir: dir, GitCommit: gitCommit,
		StoreID: st.ID(), Base: cur.Version.ID, BaseHash: cur.Version.Hash, Config: snap.JSON(), ConfigHash: Hash(snap),
		Live: encoded, Changes: Compare(old, snap), Currency: snap.Organization["currency"],
	}
	if p.CostBefore, err = MonthlyCost(old); err != nil {
		return nil, err
	}
	if p.CostAfter, err = MonthlyCost(snap); err != nil {
		return nil, err
	}
	if p.Currency == "" {
		p.Currency = "USD"
	}
	p.Provision, p.Release = numberChanges(old, snap)
	for name := range old.Flows {
		if _, ok := snap.Flows[name]; !ok {
			p.Removed = append(p.Removed, name)
		}
	}
	sort.Strings(p.Removed)
	liveHashes, err := st.LiveFlowHashes(ctx)
	if err != nil {
		return nil, err
	}
	changedFlows := map[string]bool{}
	for _, c := range p.Changes {
		if c.Kind == "flow" {
			changedFlows[c.Name] = true
		}
	}
	names := make([]string, 0, len(m.Flows))
	for name := range m.Flows {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		prog, err := compiler.Lower(m.Flows[name])
		if err != nil {
			return nil, err
		}
		def, err := json.Marshal(snap.Flows[name])
		if err != nil {
			return nil, err
		}
		code := prog.Encode()
		sources, err := promptSources(dir, prog)
		if err != nil {
			return nil, fmt.Errorf("flow %s: %w", name, err)
		}
		hash := flowHash(def, withoutRanges(prog), sources)
		live, isLive := liveHashes[name]
		changed := !isLive || live != hash
		if changed && isLive && !changedFlows[name] {
			// The definition is the same, but the program is not: another
			// compiler version, or moved source lines. Apply it, so that
			// the live program is what this callflow makes.
			p.Changes = append(p.Changes, Change{Action: "change", Kind: "flow", Name: name,
				Attrs: []AttrChange{{Action: "change", Name: "program", Old: short(live), New: short(hash) + " (recompiled, or the audio of a prompt changed)"}}})
		}
		p.Flows = append(p.Flows, FlowPlan{Name: name, Definition: def, Program: code, Hash: hash, Changed: changed, Prompts: sources})
	}
	if p.Base != 0 && len(p.Changes) == 0 && !bytes.Equal(cur.Model, encoded) {
		// The configuration means the same, but the runtime's model of it
		// is not what this callflow makes: the version was applied by an
		// older callflow (with no model, or another default rate card).
		// Applying stores this one.
		was := "as another callflow wrote it"
		if cur.Model == nil {
			was = "none (applied by an older callflow)"
		}
		p.Changes = append(p.Changes, Change{Action: "change", Kind: "live",
			Attrs: []AttrChange{{Action: "change", Name: "typed model", Old: was, New: "as this callflow writes it"}}})
	}
	return p, nil
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

// NumberProvider provisions and releases numbers (S14, S15). The
// built-in one is numbers.Inventory; a carrier's API would be another.
type NumberProvider interface {
	Name() string
	Provision(ctx context.Context, e164 string) error
	Release(ctx context.Context, e164 string) error
}

// numberChanges lists the E.164 numbers new has and old has not, and the
// reverse, sorted.
func numberChanges(old, new *Snapshot) (provision, release []string) {
	set := func(s *Snapshot) map[string]bool {
		m := map[string]bool{}
		for _, n := range s.Numbers {
			m[n["e164"]] = true
		}
		return m
	}
	before, after := set(old), set(new)
	for e := range after {
		if !before[e] {
			provision = append(provision, e)
		}
	}
	for e := range before {
		if !after[e] {
			release = append(release, e)
		}
	}
	sort.Strings(provision)
	sort.Strings(release)
	return provision, release
}

// Options say how a plan is applied.
type Options struct {
	AppliedBy string
	// Numbers provisions and releases the plan's numbers. It may be nil
	// when the plan has none.
	Numbers NumberProvider
	// Draft stores the changed flows as drafts instead of making the plan
	// live (S17).
	Draft bool
	// Prompts prepares the prompts of the flows the plan changes; it may
	// be nil when they have none.
	Prompts Preparer
}

// Applied says what an apply did.
type Applied struct {
	Version store.Version    // the new live version; zero for a draft apply
	Drafts  map[string]int64 // flow → draft version, for a draft apply
}

// Apply makes the plan live (or stores its changed flows as drafts). It
// fails with store.ErrStale if the live version moved since the plan.
func Apply(ctx context.Context, st *store.Store, p *Plan, opts Options) (Applied, error) {
	if p.StoreID != st.ID() {
		return Applied{}, fmt.Errorf("the plan was made against another store (%s); make a plan against %s", p.StoreID, st)
	}
	if p.Signature != "" && !st.VerifyPlan(p.contents(), p.Signature) {
		return Applied{}, fmt.Errorf("the plan file was changed after it was made; make the plan again")
	}
	if opts.Draft {
		if err := p.DraftProblem(); err != nil {
			return Applied{}, err
		}
	}
	// Refuse a stale plan before the work of preparing its prompts and
	// taking its numbers; the store checks again, atomically, when it
	// applies.
	live, err := st.LiveVersion(ctx)
	if err != nil {
		return Applied{}, err
	}
	if live != p.Base {
		return Applied{}, fmt.Errorf("%w: it was planned against version %d, and version %d is live now. Make a new plan", store.ErrStale, p.Base, live)
	}
	if !opts.Draft && len(p.Provision)+len(p.Release) > 0 && opts.Numbers == nil {
		return Applied{}, fmt.Errorf("the plan provisions %d and releases %d numbers, and no number provider is configured", len(p.Provision), len(p.Release))
	}
	prompts, err := preparePrompts(ctx, p, opts.Prompts)
	if err != nil {
		return Applied{}, err
	}
	if opts.Draft {
		var flows []store.FlowInput
		for _, f := range p.Flows {
			if f.Changed {
				flows = append(flows, store.FlowInput{Flow: f.Name, Definition: f.Definition, Program: f.Program, Hash: f.Hash, Prompts: prompts[f.Name]})
			}
		}
		drafts, err := st.SaveDrafts(ctx, p.Base, flows, opts.AppliedBy, p.GitCommit)
		return Applied{Drafts: drafts}, err
	}
	c := store.Change{
		Base: p.Base, BaseHash: p.BaseHash, Config: p.Config, Live: p.Live, Hash: p.ConfigHash, AppliedBy: opts.AppliedBy, GitCommit: p.GitCommit,
		Kind: "apply", Message: summary(p.Changes),
	}
	for _, f := range p.Flows {
		c.Flows = append(c.Flows, store.FlowInput{Flow: f.Name, Definition: f.Definition, Program: f.Program, Hash: f.Hash, Prompts: prompts[f.Name]})
		if f.Changed {
			// A draft made before this change would undo it if published.
			c.ClearDrafts = append(c.ClearDrafts, f.Name)
		}
	}
	c.ClearDrafts = append(c.ClearDrafts, p.Removed...)
	if len(p.Provision)+len(p.Release) > 0 {
		c.Numbers = store.NumberChanges{Provider: opts.Numbers.Name(), Provision: p.Provision, Release: p.Release}
		// Take the new numbers first: if one cannot be had, nothing is
		// applied; if the store then fails, give them back.
		var taken []string
		for _, e164 := range p.Provision {
			if err := opts.Numbers.Provision(ctx, e164); err != nil {
				releaseAll(ctx, opts.Numbers, taken)
				return Applied{}, fmt.Errorf("provisioning %s: %w", e164, err)
			}
			taken = append(taken, e164)
		}
		v, err := st.Apply(ctx, c)
		if err != nil {
			// Give back what this apply took, unless another apply that
			// won the race holds it now.
			held, herr := st.ProvisionedNumbers(ctx)
			if herr == nil {
				var ours []string
				for _, e := range taken {
					if _, live := held[e]; !live {
						ours = append(ours, e)
					}
				}
				releaseAll(ctx, opts.Numbers, ours)
			}
			return Applied{}, err
		}
		// The old numbers are released once nothing live uses them.
		for _, e164 := range p.Release {
			if err := opts.Numbers.Release(ctx, e164); err != nil {
				return Applied{Version: v}, fmt.Errorf("version %d is live, but releasing %s failed: %w; release it with the provider", v.ID, e164, err)
			}
		}
		return Applied{Version: v}, nil
	}
	v, err := st.Apply(ctx, c)
	return Applied{Version: v}, err
}

func releaseAll(ctx context.Context, p NumberProvider, e164s []string) {
	for _, e := range e164s {
		_ = p.Release(ctx, e) // best effort: the apply already failed
	}
}

// DraftProblem says why the plan cannot be applied as drafts, or nil: a
// draft holds flows only.
func (p *Plan) DraftProblem() error {
	var others []string
	for _, c := range p.Changes {
		if c.Kind != "flow" {
			others = append(others, c.Address())
		}
	}
	if len(others) > 0 {
		return fmt.Errorf("a draft holds flows only, and this plan also changes %s; apply those first without --draft", strings.Join(others, ", "))
	}
	return nil
}

// flowHash identifies a flow's definition, program and prompts' sources
// together: the same definition compiled by another compiler version, or
// playing a new recording, is another version. The program is hashed
// without its source ranges (see withoutRanges).
func flowHash(def json.RawMessage, program []byte, prompts map[string]string) string {
	if len(prompts) == 0 {
		return Hash([]any{def, program})
	}
	return Hash([]any{def, program, prompts})
}

// withoutRanges encodes a program with its source ranges left out, for
// hashing: moving lines in a file (a formatting-only edit) changes no
// behaviour and makes no change to plan. The ranges stored are refreshed
// the next time the flow is applied for a change of its own.
func withoutRanges(p *vm.Program) []byte {
	c := *p
	c.States = append([]vm.StateInfo(nil), p.States...)
	for i := range c.States {
		c.States[i].Range = vm.Range{}
	}
	return c.Encode()
}

func summary(changes []Change) string {
	add, change, remove := Counts(changes)
	return fmt.Sprintf("%d added, %d changed, %d removed", add, change, remove)
}

// Save signs the plan with st's secret and writes it to a file.
func (p *Plan) Save(path string, st *store.Store) error {
	p.Signature = st.SignPlan(p.contents())
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw // Load's hash check reports it
	}
	return b.Bytes()
}

// ErrNotPlan is returned (wrapped) by Load for a file that is not a plan.
var ErrNotPlan = errors.New("not a callflow plan file")

// Load reads a saved plan and checks that it is whole.
func Load(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p := &Plan{}
	if err := json.Unmarshal(b, p); err != nil || p.FormatVersion == 0 {
		return nil, fmt.Errorf("%s: %w (save one with callflow plan -out FILE)", path, ErrNotPlan)
	}
	if p.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("%s: plan format %d; this callflow reads format %d. Make the plan again with this callflow", path, p.FormatVersion, FormatVersion)
	}
	// MarshalIndent indented the embedded JSON; store it compact again.
	p.Config = compact(p.Config)
	p.Live = compact(p.Live)
	if _, err := live.Decode(p.Live); err != nil {
		return nil, fmt.Errorf("%s: %w. Make the plan again", path, err)
	}
	for i := range p.Flows {
		p.Flows[i].Definition = compact(p.Flows[i].Definition)
	}
	snap, err := ParseSnapshot(p.Config)
	if err != nil || Hash(snap) != p.ConfigHash {
		return nil, fmt.Errorf("%s: the plan's configuration does not match its hash: the file was changed after it was made. Make the plan again", path)
	}
	for _, f := range p.Flows {
		prog, err := vm.Decode(f.Program)
		if err != nil {
			return nil, fmt.Errorf("%s: flow %s: %w", path, f.Name, err)
		}
		if flowHash(f.Definition, withoutRanges(prog), f.Prompts) != f.Hash {
			return nil, fmt.Errorf("%s: flow %s does not match its hash: the file was changed after it was made. Make the plan again", path, f.Name)
		}
	}
	return p, nil
}
