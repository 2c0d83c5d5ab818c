// Package serving wires the live configuration to the SIP server: it
// builds, from what the store holds, the telephony.Live that calls are
// answered with — the routing table, the flows' programs, their prompts
// prepared ahead of time — and, for each call, its meter and its record.
// It also repairs what a crash left: calls still open, credits still held.
package serving

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/live"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony"
	"github.com/callflow/callflow/telephony/agents"
	"github.com/callflow/callflow/telephony/prompt"
	"github.com/callflow/callflow/telephony/route"
	"github.com/callflow/callflow/telephony/session"
	"github.com/callflow/callflow/vm"
)

// Builder makes the server's Live from what the store holds: the routing
// table, the programs, the prepared prompts, and for each call its meter
// and its record.
type Builder struct {
	Store *store.Store
	Log   *slog.Logger
	// Recordings is the directory voicemail messages are saved in.
	Recordings string
	// Node names this server among the nodes sharing the store; its
	// calls' records carry it (see Recover).
	Node string
	// every is how often a running call is metered and its record
	// brought up to date: a minute (tests make it shorter).
	every time.Duration
	// recorded holds, by call ID, the seconds of voicemail or of a
	// bridged call's recording saved during calls in progress, and notes
	// why a recording was not kept, for their records.
	recorded sync.Map
	notes    sync.Map
}

// Build makes a Live of the version live in the store, from its typed
// live model (package live) and its flows' programs and prepared prompts.
// A version applied by an older callflow, which stored no typed model, is
// an error that says to apply it again.
func (b *Builder) Build(ctx context.Context) (*telephony.Live, error) {
	cur, err := b.Store.Live(ctx)
	if err != nil {
		return nil, err
	}
	if cur.Version.ID == 0 {
		return nil, fmt.Errorf("nothing is live in %s: apply a configuration first, or give serve its directory", b.Store)
	}
	m, err := billing.DecodeLive(cur.Version.ID, cur.Model)
	if err != nil {
		return nil, err
	}
	table := route.Table{Country: m.Organization.Country, Numbers: map[string]route.Number{}}
	for _, t := range m.Trunks {
		table.Trunks = append(table.Trunks, t.InboundFrom...)
	}
	enabled := make(map[string]bool, len(m.Flows))
	for _, f := range m.Flows {
		enabled[f.Name] = f.Enabled
	}
	types := map[string]string{}
	for _, n := range m.Numbers {
		table.Numbers[n.E164] = route.Number{Name: n.Name, Flow: n.Flow, Enabled: enabled[n.Flow]}
		types[n.E164] = n.Type
	}
	programs := map[string]*vm.Program{}
	audio := map[*vm.Const]prompt.Audio{}
	decoded := map[[sha256.Size]byte]prompt.Audio{} // each distinct prompt once
	for name, v := range cur.Flows {
		fv, err := b.Store.FlowVersion(ctx, name, v)
		if err != nil {
			return nil, err
		}
		if programs[name], err = vm.Decode(fv.Program); err != nil {
			return nil, fmt.Errorf("flow %s version %d: %w", name, v, err)
		}
		if err := b.loadPrompts(ctx, name, v, programs[name], audio, decoded); err != nil {
			return nil, err
		}
	}
	rates := billing.NewRateCard(m.Rates)
	ledger := billing.NewLedger(b.Store, m)
	recordings := billing.NewRecordings(b.Store, m)
	l := &telephony.Live{
		Version: cur.Version.ID, Table: table, Programs: programs,
		Prompt: func(c *vm.Const) (prompt.Audio, error) {
			a, ok := audio[c]
			if !ok {
				return prompt.Audio{}, fmt.Errorf("prompt %s %q was not prepared", c.Kind, c.Text)
			}
			return a, nil
		},
		Record: func(callID string) (session.Recorder, error) { return b.record(recordings, callID) },
		Agents: newDirectory(b.Store, b.Node, m),
		Domain: m.Organization.SIPDomain,
		RecordBridge: func(callID string) (agents.Recorder, error) {
			return b.recordBridge(recordings, callID)
		},
		Outbound: b.outboundOf(m, ledger),
	}
	if len(m.Trunks) > 0 {
		// Outgoing calls go through the first trunk, by name.
		t := m.Trunks[0]
		l.Trunk = &telephony.Trunk{Name: t.Name, Address: t.Address, Transport: t.Transport}
	}
	l.Begin = func(ctx context.Context, c telephony.CallInfo, stop func(error)) ([]vm.Hook, func(vm.Effect, error), error) {
		return b.begin(ctx, c, stop, l, ledger, rates.IncomingRate(types[c.Number]), cur.Flows[c.Flow])
	}
	return l, nil
}

// loadPrompts decodes the prompts of a flow version, prepared when it was
// applied, into audio by the program's constants (a constant is the
// program's own, so two flows that name "welcome.wav" in different
// directories each get their own). Audio used by several flows is decoded
// once, kept in decoded by the hash of its WAV.
func (b *Builder) loadPrompts(ctx context.Context, flow string, version int64, p *vm.Program, audio map[*vm.Const]prompt.Audio, decoded map[[sha256.Size]byte]prompt.Audio) error {
	stored, err := b.Store.FlowPrompts(ctx, flow, version)
	if err != nil {
		return err
	}
	for i := range p.Consts {
		c := &p.Consts[i]
		k, ok := live.PromptKey(c) // a prompt, or a queue's music
		if !ok {
			continue
		}
		wav, ok := stored[k]
		if !ok {
			return fmt.Errorf("flow %s version %d has no prepared audio for %s: it was applied by an older callflow, which prepared prompts when serving. Apply it again (callflow apply), or serve its directory (callflow serve DIR)", flow, version, k)
		}
		sum := sha256.Sum256(wav)
		a, ok := decoded[sum]
		if !ok {
			if a, err = prompt.DecodeWAV(bytes.NewReader(wav)); err != nil {
				return fmt.Errorf("flow %s version %d: prompt %s: %w", flow, version, k, err)
			}
			decoded[sum] = a
		}
		audio[c] = a
	}
	return nil
}
