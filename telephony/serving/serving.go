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
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/plan"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony"
	"github.com/callflow/callflow/telephony/prompt"
	"github.com/callflow/callflow/telephony/route"
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
	// recorded holds, by call ID, the seconds of voicemail saved during
	// calls in progress, for their records.
	recorded sync.Map
}

// Build makes a Live of the version live in the store.
func (b *Builder) Build(ctx context.Context) (*telephony.Live, error) {
	live, err := b.Store.Live(ctx)
	if err != nil {
		return nil, err
	}
	if live.Version.ID == 0 {
		return nil, fmt.Errorf("nothing is live in %s: apply a configuration first, or give serve its directory", b.Store)
	}
	snap, err := plan.ParseSnapshot(live.Config)
	if err != nil {
		return nil, err
	}
	table := route.Table{Country: snap.Organization["country"], Numbers: map[string]route.Number{}}
	for name, t := range snap.Trunks {
		for _, n := range plan.ListRefs(t["inbound_from"]) {
			prefix, err := compiler.ParseNetwork(n)
			if err != nil {
				return nil, fmt.Errorf("trunk %s: %v", name, err)
			}
			table.Trunks = append(table.Trunks, prefix)
		}
	}
	flowOf := map[string]string{}
	for name, f := range snap.Flows {
		for _, ref := range plan.ListRefs(f.Settings["numbers"]) {
			flowOf[strings.TrimPrefix(ref, "number.")] = name
		}
	}
	types := map[string]string{}
	for name, n := range snap.Numbers {
		flow := flowOf[name]
		table.Numbers[n["e164"]] = route.Number{Name: name, Flow: flow, Enabled: flow != "" && snap.Flows[flow].Settings["enabled"] == "true"}
		types[n["e164"]] = n["type"]
	}
	programs := map[string]*vm.Program{}
	audio := map[*vm.Const]prompt.Audio{}
	decoded := map[[sha256.Size]byte]prompt.Audio{} // each distinct prompt once
	for name, v := range live.Flows {
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
	rates, err := plan.RateCard(snap)
	if err != nil {
		return nil, err
	}
	ledger, _, err := plan.Ledger(ctx, b.Store)
	if err != nil {
		return nil, err
	}
	recordings := plan.Recordings(b.Store, snap)
	l := &telephony.Live{
		Version: live.Version.ID, Table: table, Programs: programs,
		Prompt: func(c *vm.Const) (prompt.Audio, error) {
			a, ok := audio[c]
			if !ok {
				return prompt.Audio{}, fmt.Errorf("prompt %s %q was not prepared", c.Kind, c.Text)
			}
			return a, nil
		},
		Save: func(callID string, a prompt.Audio) (bool, error) {
			if err := os.MkdirAll(b.Recordings, 0o755); err != nil {
				return false, err
			}
			path := filepath.Join(b.Recordings, safeName(callID)+".wav")
			f, err := os.Create(path)
			if err != nil {
				return false, err
			}
			if err := prompt.EncodeWAV(f, a); err != nil {
				f.Close()
				return false, err
			}
			f.Close()
			// Whole seconds, rounded up: a message of 0.4 s takes a second
			// of the plan, so that no message is free of the quota.
			seconds := int64((a.Duration() + time.Second - 1) / time.Second)
			saved, err := recordings.Save(context.Background(), store.Recording{ID: "rec-" + callID, CallID: callID, Kind: "voicemail", Path: path, Seconds: seconds})
			if !saved {
				os.Remove(path)
			} else {
				b.recorded.Store(callID, seconds)
			}
			return saved, err
		},
	}
	l.Begin = func(c telephony.CallInfo, stop func(error)) ([]vm.Hook, func(vm.Effect, error), error) {
		return b.begin(c, stop, l, ledger, rates.IncomingRate(types[c.Number]), live.Flows[c.Flow])
	}
	return l, nil
}

// begin opens a call's record and meters the call. The record comes
// first, so that every credit reserved for a call belongs to a record
// that says which node runs it (see Recover).
func (b *Builder) begin(c telephony.CallInfo, stop func(error), l *telephony.Live, ledger *billing.Ledger, rate billing.Micro, flowVersion int64) ([]vm.Hook, func(vm.Effect, error), error) {
	ctx := context.Background()
	now := time.Now()
	path := &telephony.PathHook{Program: l.Programs[c.Flow]}
	rec := store.Call{ID: c.ID, Direction: "incoming", From: c.From, To: c.Number, Flow: c.Flow, FlowVersion: flowVersion, StartedAt: now, LastSeenAt: now, Node: b.Node}
	if n, ok := l.Table.Numbers[c.Number]; ok {
		rec.NumberName = n.Name
	}
	if err := b.Store.SaveCall(ctx, rec); err != nil {
		return nil, nil, fmt.Errorf("opening the call's record: %w", err)
	}
	meter := &billing.Meter{Ledger: ledger, CallID: c.ID, Rate: rate}
	if err := meter.Start(ctx, now); err != nil {
		// Refused: the record says why, and the meter holds nothing.
		rec.EndedAt, rec.Ending = now, "refused-server-error"
		refusal := err
		if errors.Is(err, billing.ErrCreditsExhausted) {
			rec.Ending = "no-credits"
			refusal = &telephony.ErrRefused{Status: 402, Reason: "Payment Required"}
		}
		if err := b.Store.SaveCall(ctx, rec); err != nil {
			b.Log.Error("call record", "call", c.ID, "err", err)
		}
		return nil, nil, refusal
	}
	// Every minute the meter charges and the record is brought up to date,
	// from a timer rather than a goroutine of the call's own; the timer and
	// the call's end take turns with the meter, which is not safe for
	// concurrent use.
	every := b.every
	if every == 0 {
		every = time.Minute
	}
	var mu sync.Mutex
	ended, minutes := false, 0
	var timer *time.Timer
	var minute func()
	minute = func() {
		mu.Lock()
		defer mu.Unlock()
		if ended {
			return
		}
		t := time.Now()
		switch err := meter.Tick(ctx, t); {
		case errors.Is(err, billing.ErrCreditsExhausted):
			b.Log.Warn("credits exhausted: ending the call", "call", c.ID)
			stop(err)
		case err != nil:
			// The minute is charged at the next tick, or at hang-up.
			b.Log.Error("meter", "call", c.ID, "err", err)
		}
		rec.LastSeenAt, rec.Path = t, path.Path()
		if err := b.Store.SaveCall(ctx, rec); err != nil {
			b.Log.Error("call record", "call", c.ID, "err", err)
		}
		minutes++
		timer.Reset(time.Until(now.Add(time.Duration(minutes+1) * every)))
	}
	mu.Lock()
	timer = time.AfterFunc(every, minute)
	mu.Unlock()
	end := func(final vm.Effect, cause error) {
		mu.Lock()
		defer mu.Unlock()
		ended = true
		timer.Stop()
		t := time.Now()
		if err := meter.Stop(ctx, t); err != nil {
			b.Log.Error("meter", "call", c.ID, "err", err)
		}
		rec.Path, rec.EndedAt, rec.LastSeenAt = path.Path(), t, t
		rec.Ending = ending(final, cause)
		rec.Credits = int64(rate) * int64(meter.Minutes())
		if s, ok := b.recorded.LoadAndDelete(c.ID); ok {
			rec.RecordingS = s.(int64)
		}
		if err := b.Store.SaveCall(ctx, rec); err != nil {
			b.Log.Error("call record", "call", c.ID, "err", err)
		}
	}
	return []vm.Hook{meter, path}, end, nil
}

// ending is what a call record says about how the call ended: the
// telephony ending, or credits-exhausted when the meter stopped it.
func ending(final vm.Effect, cause error) string {
	if errors.Is(cause, billing.ErrCreditsExhausted) {
		return "credits-exhausted"
	}
	return telephony.Ending(final, cause)
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
		if c.Kind != vm.ConstSay && c.Kind != vm.ConstPlay {
			continue // queue music: nothing plays it until calls can queue
		}
		k, _ := plan.PromptKey(c)
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

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

// StaleAfter is how long an open call's record may go without news
// before any node takes its server for gone: a running call's record is
// brought up to date every minute.
const StaleAfter = 5 * time.Minute

// Recover repairs what a crash of node left behind, before node takes
// calls again: it closes, at their last known time, the node's calls
// still open (as server-stopped) and any call not seen for StaleAfter
// (a node that crashed and never came back), and gives back the credits
// reserved for calls that are not running — those of the calls it closed,
// and any whose call has ended. Calls other nodes are running keep theirs.
// It also does the work a crash left due (an auto-recharge, a
// notification). It returns how many calls it closed and how many
// reservations it gave back.
func Recover(ctx context.Context, st *store.Store, node string) (closed, released int, err error) {
	if closed, err = st.CloseUnfinished(ctx, node, time.Now().Add(-StaleAfter)); err != nil {
		return 0, 0, err
	}
	ledger, _, err := plan.Ledger(ctx, st)
	if err != nil {
		return closed, 0, err
	}
	// What fails stays due for a later charge.
	ledger.FollowUp(ctx)
	released, err = releaseEnded(ctx, st, ledger)
	return closed, released, err
}

// RepairStale closes the calls of servers that are gone (not seen for
// StaleAfter) and gives back what they held; a running server calls it
// now and then (with the billing job). It returns what Recover does.
func RepairStale(ctx context.Context, st *store.Store) (closed, released int, err error) {
	if closed, err = st.CloseStale(ctx, time.Now().Add(-StaleAfter)); err != nil {
		return 0, 0, err
	}
	ledger, _, err := plan.Ledger(ctx, st)
	if err != nil {
		return closed, 0, err
	}
	released, err = releaseEnded(ctx, st, ledger)
	return closed, released, err
}

// releaseEnded gives back the reservations of calls that are not open.
// Which calls are open is read after the reservations (see
// ReleaseReservations): a call's record is opened before its first
// reservation, so a reservation read earlier belongs to a call that was
// open by then, and is kept unless that call has ended.
func releaseEnded(ctx context.Context, st *store.Store, ledger *billing.Ledger) (int, error) {
	var open map[string]bool
	var openErr error
	released, err := ledger.ReleaseReservations(ctx, func(call string) bool {
		if open == nil && openErr == nil {
			open, openErr = st.OpenCalls(ctx)
		}
		return openErr != nil || open[call] // when unsure, keep it
	})
	if err == nil {
		err = openErr
	}
	return released, err
}
