package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/callflow/callflow/live"
	"github.com/callflow/callflow/store"
)

// Republish makes version v of flow live again, leaving everything else
// as it is: a new version of the configuration whose snapshot holds that
// definition of the flow. kind is "publish" (a draft) or "rollback".
func Republish(ctx context.Context, st *store.Store, flow string, fv store.FlowVersion, kind, by string, clearDraft bool) (store.Version, error) {
	live, err := st.Live(ctx)
	if err != nil {
		return store.Version{}, err
	}
	if live.Version.ID == 0 {
		return store.Version{}, fmt.Errorf("nothing has been applied yet: apply a configuration before publishing or rolling back a flow")
	}
	snap, err := ParseSnapshot(live.Config)
	if err != nil {
		return store.Version{}, err
	}
	var def Flow
	if err := json.Unmarshal(fv.Definition, &def); err != nil {
		return store.Version{}, fmt.Errorf("flow %s version %d is damaged: %w", flow, fv.Version, err)
	}
	if live.Flows[flow] == fv.Version {
		return store.Version{}, fmt.Errorf("flow %s version %d is already live", flow, fv.Version)
	}
	if err := fits(snap, flow, def); err != nil {
		return store.Version{}, fmt.Errorf("flow %s version %d cannot be made live as it is: %w. Apply a configuration that has what it needs instead", flow, fv.Version, err)
	}
	snap.Flows[flow] = def
	model, err := republishLive(live, flow, def)
	if err != nil {
		return store.Version{}, err
	}
	c := store.Change{
		Base: live.Version.ID, BaseHash: live.Version.Hash, Config: snap.JSON(), Live: model, Hash: Hash(snap), AppliedBy: by, GitCommit: commitOf(kind, fv),
		Kind: kind, Message: fmt.Sprintf("%s flow %s version %d", kind, flow, fv.Version),
	}
	names := make([]string, 0, len(live.Flows)+1)
	for name := range live.Flows {
		names = append(names, name)
	}
	if _, ok := live.Flows[flow]; !ok {
		names = append(names, flow)
	}
	sort.Strings(names)
	for _, name := range names {
		in := store.FlowInput{Flow: name, Use: live.Flows[name]}
		if name == flow {
			in.Use = fv.Version
		}
		c.Flows = append(c.Flows, in)
	}
	if clearDraft {
		c.ClearDrafts = []string{flow}
	}
	return st.Apply(ctx, c)
}

// republishLive returns the typed live model of the live version with
// flow's place in it (whether it is enabled, which numbers it answers) as
// def has it.
func republishLive(cur *store.Live, flow string, def Flow) ([]byte, error) {
	if cur.Model == nil {
		return nil, fmt.Errorf("version %d was applied by an older callflow, which stored no typed live model for the server. Apply the configuration again (callflow apply) before publishing or rolling back a flow", cur.Version.ID)
	}
	m, err := live.Decode(cur.Model)
	if err != nil {
		return nil, fmt.Errorf("version %d: %w", cur.Version.ID, err)
	}
	f := live.Flow{Name: flow, Enabled: def.Settings["enabled"] == "true", Numbers: []string{}}
	for _, ref := range ListRefs(def.Settings["numbers"]) {
		f.Numbers = append(f.Numbers, strings.TrimPrefix(ref, "number."))
	}
	slices.Sort(f.Numbers)
	i := slices.IndexFunc(m.Flows, func(x live.Flow) bool { return x.Name == flow })
	if i < 0 {
		m.Flows = append(m.Flows, f)
		slices.SortFunc(m.Flows, func(a, b live.Flow) int { return strings.Compare(a.Name, b.Name) })
	} else {
		m.Flows[i] = f
	}
	for i := range m.Numbers {
		n := &m.Numbers[i]
		switch {
		case slices.Contains(f.Numbers, n.Name):
			n.Flow = flow
		case n.Flow == flow:
			n.Flow = "" // the version republished no longer answers it
		}
	}
	// A custom caller ID follows the support number to its flow.
	m.RouteCustomCallerIDs()
	return m.Encode()
}

// commitOf is the Git commit a republished version records: a draft's own
// for a publish; none for a rollback, which no commit describes.
func commitOf(kind string, fv store.FlowVersion) string {
	if kind == "publish" {
		return fv.GitCommit
	}
	return ""
}

// LiveFlow returns the definition of flow that is live, and its version.
func LiveFlow(ctx context.Context, st *store.Store, flow string) (store.FlowVersion, error) {
	live, err := st.Live(ctx)
	if err != nil {
		return store.FlowVersion{}, err
	}
	v, ok := live.Flows[flow]
	if !ok {
		return store.FlowVersion{}, fmt.Errorf("flow %s is not live: %w", flow, store.ErrNotFound)
	}
	return st.FlowVersion(ctx, flow, v)
}

// ParseFlow reads a stored flow definition.
func ParseFlow(fv store.FlowVersion) (Flow, error) {
	var f Flow
	if err := json.Unmarshal(fv.Definition, &f); err != nil {
		return f, fmt.Errorf("flow %s version %d is damaged: %w", fv.Flow, fv.Version, err)
	}
	return f, nil
}

// fits checks that a flow definition can join the live configuration: the
// numbers, users and groups it names are live, and no other flow answers
// its numbers.
func fits(snap *Snapshot, flow string, def Flow) error {
	for _, ref := range ListRefs(def.Settings["numbers"]) {
		name := strings.TrimPrefix(ref, "number.")
		if _, ok := snap.Numbers[name]; !ok {
			return fmt.Errorf("it answers %s, which is not live", ref)
		}
		for other, f := range snap.Flows {
			if other != flow && slices.Contains(ListRefs(f.Settings["numbers"]), ref) {
				return fmt.Errorf("it answers %s, which flow %s answers now", ref, other)
			}
		}
	}
	for _, st := range def.States {
		if u, ok := strings.CutPrefix(st.Settings["user"], "user."); ok {
			if _, ok := snap.Users[u]; !ok {
				return fmt.Errorf("it rings user.%s, who is not live", u)
			}
		}
		if g, ok := strings.CutPrefix(st.Settings["group"], "group."); ok {
			if _, ok := snap.Groups[g]; !ok {
				return fmt.Errorf("it rings group.%s, which is not live", g)
			}
		}
	}
	return nil
}

// ListRefs splits a snapshot list, "[a, b]".
func ListRefs(s string) []string {
	s = strings.Trim(s, "[]")
	if s == "" {
		return nil
	}
	return strings.Split(s, ", ")
}
