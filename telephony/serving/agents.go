package serving

import (
	"context"
	"errors"
	"time"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/live"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony/agents"
	"github.com/callflow/callflow/telephony/media"
)

// directory is who calls can be put through to: the version's groups,
// and the store's registrations, logins and agents' calls, which every
// node shares.
type directory struct {
	st     *store.Store
	node   string
	groups map[string][]string
}

func newDirectory(st *store.Store, node string, m *live.Model) *directory {
	d := &directory{st: st, node: node, groups: make(map[string][]string, len(m.Groups))}
	for _, g := range m.Groups {
		d.groups[g.Name] = g.Members
	}
	return d
}

func (d *directory) Members(group string) []string { return d.groups[group] }

func (d *directory) Phones(ctx context.Context, user string) ([]agents.Phone, error) {
	bs, err := d.st.Bindings(ctx, user, time.Now())
	if err != nil {
		return nil, err
	}
	out := make([]agents.Phone, len(bs))
	for i, b := range bs {
		out[i] = agents.Phone{Contact: b.Contact, Source: b.Source, Transport: b.Transport}
	}
	return out, nil
}

func (d *directory) Logins(ctx context.Context) (map[string]time.Time, error) {
	return d.st.Logins(ctx, time.Now())
}

func (d *directory) Busy(ctx context.Context) (map[string]bool, error) {
	calls, err := d.st.AgentCalls(ctx)
	if err != nil {
		return nil, err
	}
	busy := map[string]bool{}
	for _, c := range calls {
		if c.State == store.AgentConnected {
			busy[c.User] = true
		}
	}
	return busy, nil
}

func (d *directory) Ringing(ctx context.Context, callID, user string) error {
	return d.st.SetAgentCall(ctx, store.AgentCall{CallID: callID, User: user, State: store.AgentRinging, Node: d.node, Since: time.Now()})
}

func (d *directory) Release(ctx context.Context, callID, user string) error {
	return d.st.EndAgentCall(ctx, callID, user)
}

func (d *directory) Claim(ctx context.Context, callID, user string) (bool, error) {
	return d.st.ClaimAgent(ctx, callID, user, d.node)
}

// report is what a call's agents tell its record: who answered and
// when, and how long the caller queued. It is among the call's hooks,
// where the server finds it (agents.Report); as a hook it observes
// nothing.
type report struct {
	connected func(user string, at time.Time)
	queued    func(time.Duration)
}

func (r report) Connected(user string, at time.Time) { r.connected(user, at) }
func (r report) Queued(d time.Duration)              { r.queued(d) }

// errStorageFull is why a bridged call is not recorded when the plan
// has no room (S7).
var errStorageFull = errors.New("the recording storage plan is full")

// recordBridge opens the two-channel recording of a bridged call (S10):
// a WAV file in b.Recordings, the caller on the first channel and the
// agent on the second, written as they speak. When the storage plan has
// no room, the call goes on unrecorded: the administrator is notified
// and the record says why (S7).
func (b *Builder) recordBridge(recordings *billing.Recordings, callID string) (agents.Recorder, error) {
	ctx, cancel := context.WithTimeout(context.Background(), writeDeadline)
	defer cancel()
	room, err := recordings.Room(ctx)
	if err != nil {
		return nil, err
	}
	if !room {
		b.notes.Store(callID, "not recorded: the storage plan is full")
		return nil, errStorageFull
	}
	f, err := b.openRecording(recordings, callID, "call", 2)
	if err != nil {
		return nil, err
	}
	return &bridged{Recorder: media.NewRecorder(f.w), recordingFile: f}, nil
}

// bridged is a bridged call's recording being written to its file: the
// two legs, interleaved and aligned by the media.Recorder.
type bridged struct {
	*media.Recorder
	*recordingFile
}

func (r *bridged) Discard() {
	r.Recorder.Close()
	r.discard()
}

// Keep closes the recording and keeps it within the storage plan, as
// voicemail is kept; one that no longer fits says so in the record.
func (r *bridged) Keep() error {
	if err := r.Recorder.Close(); err != nil {
		r.discard()
		return err
	}
	saved, err := r.keep()
	if !saved && err == nil && r.w.Frames() > 0 {
		r.b.notes.Store(r.callID, "recording not kept: the storage plan filled up during the call")
	}
	return err
}
