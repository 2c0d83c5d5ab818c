package serving

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/internal/wav"
	"github.com/callflow/callflow/live"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony/agents"
	"github.com/callflow/callflow/telephony/media"
	"github.com/callflow/callflow/telephony/prompt"
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
	if err := os.MkdirAll(b.Recordings, 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(b.Recordings, "."+safeName(callID)+"-*.wav")
	if err != nil {
		return nil, err
	}
	w, err := wav.NewWriter(f, prompt.Rate, 2)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &bridged{Recorder: media.NewRecorder(w), b: b, recordings: recordings, callID: callID,
		path: filepath.Join(b.Recordings, safeName(callID)+".wav"), f: f, w: w}, nil
}

// bridged is a bridged call's recording being written to its file.
type bridged struct {
	*media.Recorder
	b          *Builder
	recordings *billing.Recordings
	callID     string
	path       string
	f          *os.File
	w          *wav.Writer
}

func (r *bridged) Discard() {
	r.Recorder.Close()
	r.w.Close()
	r.f.Close()
	os.Remove(r.f.Name())
}

// Keep closes the recording and keeps it within the storage plan, in
// whole seconds rounded up, as voicemail is kept.
func (r *bridged) Keep() error {
	err := r.Recorder.Close()
	if werr := r.w.Close(); err == nil {
		err = werr
	}
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(r.f.Name())
		return err
	}
	seconds := (r.w.Frames() + prompt.Rate - 1) / prompt.Rate
	if seconds == 0 {
		os.Remove(r.f.Name())
		return nil
	}
	if err := os.Rename(r.f.Name(), r.path); err != nil {
		os.Remove(r.f.Name())
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeDeadline)
	defer cancel()
	saved, err := r.recordings.Save(ctx, store.Recording{ID: "rec-" + r.callID, CallID: r.callID, Kind: "call", Path: r.path, Seconds: seconds})
	if !saved {
		os.Remove(r.path)
		r.b.notes.Store(r.callID, "recording not kept: the storage plan filled up during the call")
	} else {
		r.b.recorded.Store(r.callID, seconds)
	}
	return err
}
