package telephony_test

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callflow/callflow/internal/audiotest"
	"github.com/callflow/callflow/internal/baresiptest"
	"github.com/callflow/callflow/internal/siptest"
	"github.com/callflow/callflow/telephony"
	"github.com/callflow/callflow/telephony/agents"
	"github.com/callflow/callflow/vm"
)

// agentsRepo transfers calls to people: +14155550110 to Dana, with a
// queue on +14155550111; +14155550112 to the desk group in parallel and
// +14155550113 in login order. Each ending announces itself by its name.
var agentsRepo = `
user "dana" {
  display_name = "Dana"
}
user "eli" {
  display_name = "Eli"
}
user "fay" {
  display_name = "Fay"
}
group "desk" {
  members = [user.dana, user.eli, user.fay]
}
number "dana" {
  e164 = "+14155550110"
  type = "local"
}
number "queued" {
  e164 = "+14155550111"
  type = "local"
}
number "parallel" {
  e164 = "+14155550112"
  type = "local"
}
number "sequential" {
  e164 = "+14155550113"
  type = "local"
}
flow "dana" {
  numbers = [number.dana]
  start   = transfer_user.dana
  transfer_user "dana" {
    user           = user.dana
    ring_timeout   = 5
    on_timeout     = announce.timeout
    on_unavailable = announce.unavailable
    on_busy        = announce.busy
  }
` + endings + `
flow "queued" {
  numbers = [number.queued]
  start   = transfer_user.dana
  transfer_user "dana" {
    user         = user.dana
    ring_timeout = 5
    queue {
      max_waiting = 1
      say         = "queue"
      music       = "https://127.0.0.1/hold.wav"
      repeat      = 3
    }
    on_timeout     = announce.timeout
    on_unavailable = announce.unavailable
    on_busy        = announce.busy
  }
` + endings + `
flow "parallel" {
  numbers = [number.parallel]
  start   = transfer_group.desk
  transfer_group "desk" {
    group          = group.desk
    ring           = "parallel"
    ring_timeout   = 5
    on_timeout     = announce.timeout
    on_unavailable = announce.unavailable
    on_all_busy    = announce.busy
  }
` + endings + `
flow "sequential" {
  numbers = [number.sequential]
  start   = transfer_group.desk
  transfer_group "desk" {
    group          = group.desk
    ring           = "sequential"
    ring_timeout   = 5
    on_timeout     = announce.timeout
    on_unavailable = announce.unavailable
    on_all_busy    = announce.busy
  }
` + endings + `
`

// endings are the announcements each transfer of agentsRepo ends in, by
// its result, which name themselves.
const endings = `
  announce "timeout" {
    say = "timeout"
  }
  announce "unavailable" {
    say = "unavailable"
  }
  announce "busy" {
    say = "busy"
  }
}
`

// people is a Directory kept in memory: the phones a test started, as if
// they had registered, and who is on a call. The store's own is tested
// end to end in package serving and by the testscripts.
type people struct {
	mu      sync.Mutex
	groups  map[string][]string
	phones  map[string][]agents.Phone
	logins  map[string]time.Time
	calls   map[string]string // user → call connected to them
	ringing map[string]int    // user → rings so far
}

func newPeople() *people {
	return &people{
		groups: map[string][]string{"desk": {"dana", "eli", "fay"}},
		phones: map[string][]agents.Phone{}, logins: map[string]time.Time{},
		calls: map[string]string{}, ringing: map[string]int{},
	}
}

func (p *people) add(user string, phone *baresiptest.Phone, transport string, loginAt time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	contact := fmt.Sprintf("sip:%s@%s", user, phone.SIPAddr())
	if transport == "tcp" {
		contact += ";transport=tcp"
	}
	p.phones[user] = append(p.phones[user], agents.Phone{Contact: contact, Source: phone.SIPAddr(), Transport: transport})
	p.logins[user] = loginAt
}

func (p *people) Members(group string) []string { return p.groups[group] }

func (p *people) Phones(_ context.Context, user string) ([]agents.Phone, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.phones[user]), nil
}

func (p *people) Logins(context.Context) (map[string]time.Time, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.logins), nil
}

func (p *people) Busy(context.Context) (map[string]bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	busy := map[string]bool{}
	for u := range p.calls {
		busy[u] = true
	}
	return busy, nil
}

func (p *people) Ringing(_ context.Context, _, user string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ringing[user]++
	return nil
}

func (p *people) Release(_ context.Context, callID, user string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.calls[user] == callID {
		delete(p.calls, user)
	}
	return nil
}

func (p *people) Claim(_ context.Context, callID, user string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.calls[user]; ok && c != callID {
		return false, nil
	}
	p.calls[user] = callID
	return true, nil
}

func (p *people) connected(user string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.calls[user]
	return ok
}

// startAgents runs a server of agentsRepo whose transfers ring dir's
// people.
func startAgents(t *testing.T, dir *people) (*telephony.Server, netip.AddrPort, *ends) {
	t.Helper()
	e := &ends{ch: make(chan callEnd, 16)}
	addr, srv, _ := startServerSrc(t, agentsRepo, func(l *telephony.Live) {
		l.Agents, l.Domain = dir, "127.0.0.1"
		l.Begin = func(_ context.Context, c telephony.CallInfo, _ func(error)) ([]vm.Hook, func(vm.Effect, error), error) {
			h := &telephony.PathHook{Program: l.Programs[c.Flow]}
			return []vm.Hook{h}, func(final vm.Effect, cause error) {
				e.ch <- callEnd{path: h.Path(), ending: telephony.Ending(final, cause)}
			}, nil
		}
	}, nil, "127.0.0.0/8")
	return srv, addr, e
}

// ends hears how each call callEnd: the states it passed and its ending.
type ends struct{ ch chan callEnd }

type callEnd struct {
	path   []string
	ending string
}

func (e *ends) next(ctx context.Context, t *testing.T) callEnd {
	t.Helper()
	select {
	case x := <-e.ch:
		return x
	case <-ctx.Done():
		t.Fatal("no call callEnd")
		return callEnd{}
	}
}

// agent starts a baresip phone for user that answers by itself (auto) or
// on command.
func agent(t *testing.T, server netip.AddrPort, user, answer string) *baresiptest.Phone {
	t.Helper()
	return baresiptest.New(t, baresiptest.Options{Server: server.String(), User: user, Domain: "127.0.0.1", Regint: -1, AnswerMode: answer})
}

func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestTransferToUserAnsweredBridgesBothWays(t *testing.T) {
	// The agent's phone (PCMA) and the caller (PCMU) each send speech of
	// their own; each must hear the other's whole, through the bridge's
	// transcoding.
	dir := newPeople()
	srv, server, ends := startAgents(t, dir)
	agentVoice := audiotest.Speech(30*8000, 1)
	callerVoice := audiotest.Speech(30*8000, 2)
	source := filepath.Join(t.TempDir(), "agent.wav")
	if err := os.WriteFile(source, audiotest.WAV(agentVoice, 8000), 0o644); err != nil {
		t.Fatal(err)
	}
	dana := baresiptest.New(t, baresiptest.Options{Server: server.String(), User: "dana", Domain: "127.0.0.1", Regint: -1, AnswerMode: "auto", AudioSource: source})
	dir.add("dana", dana, "udp", time.Now())

	ctx := within(t, 30*time.Second)
	caller := siptest.NewPhone(t)
	status, call := caller.Dial(ctx, server, "+14155550110")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	if _, err := dana.Wait(ctx, "CALL_ESTABLISHED"); err != nil {
		t.Fatalf("the agent's phone did not answer: %v\n%v", err, dana.Events())
	}
	waitFor(t, ctx, func() bool { return dir.connected("dana") }, "the agent who answered to be busy with the call")
	answeredAt := len(call.Audio())
	speaking := make(chan error, 1)
	go func() { speaking <- call.SpeakSamples(ctx, callerVoice[:6*8000]) }()
	if err := <-speaking; err != nil {
		t.Fatal(err)
	}
	if err := call.HangUp(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := dana.Wait(ctx, "CALL_CLOSED"); err != nil {
		t.Fatalf("the caller hung up but the agent's phone was not: %v", err)
	}
	if e := ends.next(ctx, t); e.ending != "connected" || !slices.Equal(e.path, []string{"transfer_user.dana"}) {
		t.Errorf("the call ended %s after %v, want connected after transfer_user.dana", e.ending, e.path)
	}
	waitFor(t, ctx, func() bool { return !dir.connected("dana") }, "the agent to be free again")
	var metrics strings.Builder
	if err := srv.Metrics.WritePrometheus(&metrics); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(metrics.String(), `callflow_transfers_total{kind="user",result="answered"} 1`) {
		t.Errorf("/metrics does not count the answered transfer:\n%s", metrics.String())
	}

	// What the caller heard from the answer on is the agent's voice.
	heard := call.Audio()[answeredAt:]
	r, err := audiotest.Compare(agentVoice, heard, 8000)
	if err != nil {
		t.Fatal(err)
	}
	if r.Worst() < 20 || len(r.SNR) < 3 {
		t.Errorf("the agent's voice at the caller: %v %.0f", r, r.SNR)
	}
	// What the agent's phone heard is the caller's voice.
	heardFile, err := dana.Heard()
	if err != nil {
		t.Fatal(err)
	}
	chans, _, err := audiotest.ReadWAV(heardFile)
	if err != nil {
		t.Fatal(err)
	}
	r, err = audiotest.Compare(callerVoice, chans[0], 8000)
	if err != nil {
		t.Fatal(err)
	}
	if r.Worst() < 20 || len(r.SNR) < 3 {
		t.Errorf("the caller's voice at the agent: %v %.0f", r, r.SNR)
	}
}

func waitFor(t *testing.T, ctx context.Context, ok func() bool, what string) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

func TestTransferToUserResults(t *testing.T) {
	// What the phones do decides where the flow goes: each ending
	// announces itself, and the server counts the path in the record
	// (here: which announce state ran, from the Live's path hook).
	cases := []struct {
		name  string
		setup func(t *testing.T, dir *people, server netip.AddrPort) *baresiptest.Phone
		state string
	}{
		{"unavailable: no phone registered", func(*testing.T, *people, netip.AddrPort) *baresiptest.Phone { return nil }, "announce.unavailable"},
		{"busy: on another call", func(t *testing.T, dir *people, server netip.AddrPort) *baresiptest.Phone {
			p := agent(t, server, "dana", "auto")
			dir.add("dana", p, "udp", time.Now())
			dir.Claim(context.Background(), "another-call", "dana")
			return p
		}, "announce.busy"},
		{"timeout: rings, nobody answers", func(t *testing.T, dir *people, server netip.AddrPort) *baresiptest.Phone {
			p := agent(t, server, "dana", "manual")
			dir.add("dana", p, "udp", time.Now())
			return p
		}, "announce.timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := newPeople()
			_, server, ends := startAgents(t, dir)
			phone := c.setup(t, dir, server)
			ctx := within(t, 30*time.Second)
			caller := siptest.NewPhone(t)
			status, call := caller.Dial(ctx, server, "+14155550110")
			if status != 200 {
				t.Fatalf("status %d", status)
			}
			if err := call.WaitBye(ctx); err != nil {
				t.Fatalf("the call did not end: %v", err)
			}
			if e := ends.next(ctx, t); !slices.Equal(e.path, []string{"transfer_user.dana", c.state}) || e.ending != "flow-end" {
				t.Errorf("path %v, ending %s; want transfer_user.dana → %s, flow-end", e.path, e.ending, c.state)
			}
			if phone != nil && c.state == "announce.timeout" {
				// The phone rang, and stopped ringing when the time was up.
				if _, err := phone.Wait(ctx, "CALL_INCOMING"); err != nil {
					t.Errorf("the agent's phone never rang: %v", err)
				}
				if _, err := phone.Wait(ctx, "CALL_CLOSED"); err != nil {
					t.Errorf("the agent's phone kept ringing after the time-out: %v", err)
				}
			}
		})
	}
}

func TestAgentHangsUpFirstAndHolds(t *testing.T) {
	dir := newPeople()
	_, server, ends := startAgents(t, dir)
	dana := agent(t, server, "dana", "auto")
	dir.add("dana", dana, "udp", time.Now())
	ctx := within(t, 30*time.Second)
	status, call := siptest.NewPhone(t).Dial(ctx, server, "+14155550110")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	if _, err := dana.Wait(ctx, "CALL_ESTABLISHED"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, func() bool { return dir.connected("dana") }, "the agent to be connected")

	// The agent holds: the caller hears hold music, continuing the
	// stream; then the agent resumes.
	waitFor(t, ctx, func() bool { return heardAgent(call) }, "the caller to hear the agent")
	if err := dana.Do(ctx, "hold", ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, func() bool { return heardMusic(call) }, "the caller to hear hold music")
	if err := dana.Do(ctx, "resume", ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, func() bool { return heardAgent(call) }, "the caller to hear the agent again")
	if err := checkStream(call.Packets()); err != nil {
		t.Errorf("the caller's stream across ringback, the agent, hold music and back: %v", err)
	}
	if err := dana.Do(ctx, "hangup", ""); err != nil {
		t.Fatal(err)
	}
	if err := call.WaitBye(ctx); err != nil {
		t.Fatalf("the agent hung up, but the caller was not: %v", err)
	}
	if e := ends.next(ctx, t); e.ending != "connected" {
		t.Errorf("ending %s, want connected", e.ending)
	}
	waitFor(t, ctx, func() bool { return !dir.connected("dana") }, "the agent to be free again")
}

// heardMusic reports whether the last half second the caller heard was
// the hold music rather than the agent: the music peaks at 2,500, the
// agent's phone sends a triangle wave that peaks at 8,000.
func heardMusic(call *siptest.Call) bool {
	return peak(call, 4000) > 1000 && peak(call, 4000) < 3000
}

// heardAgent reports whether the last half second was the agent's tone.
func heardAgent(call *siptest.Call) bool { return peak(call, 4000) > 6000 }

// peak is the loudest of the last n samples the caller heard.
func peak(call *siptest.Call, n int) int {
	a := call.Audio()
	if len(a) < n {
		return 0
	}
	m := 0
	for _, v := range a[len(a)-n:] {
		m = max(m, abs(int(v)))
	}
	return m
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// checkStream checks that packets are one stream: sequence numbers go up
// by one, timestamps never go back.
func checkStream(ps []siptest.Packet) error {
	for i := 1; i < len(ps); i++ {
		if ps[i].Sequence != ps[i-1].Sequence+1 {
			return fmt.Errorf("packet %d: sequence %d after %d", i, ps[i].Sequence, ps[i-1].Sequence)
		}
		if int32(ps[i].Timestamp-ps[i-1].Timestamp) <= 0 {
			return fmt.Errorf("packet %d: timestamp %d after %d", i, ps[i].Timestamp, ps[i-1].Timestamp)
		}
	}
	return nil
}

func TestTransferToGroup(t *testing.T) {
	t.Run("parallel: the first to answer takes the call, the others stop ringing", func(t *testing.T) {
		dir := newPeople()
		_, server, ends := startAgents(t, dir)
		dana := agent(t, server, "dana", "manual")
		eli := agent(t, server, "eli", "auto")
		dir.add("dana", dana, "udp", time.Now())
		dir.add("eli", eli, "tcp", time.Now())
		ctx := within(t, 30*time.Second)
		status, call := siptest.NewPhone(t).Dial(ctx, server, "+14155550112")
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		if _, err := dana.Wait(ctx, "CALL_INCOMING"); err != nil {
			t.Fatalf("dana's phone did not ring: %v", err)
		}
		if _, err := eli.Wait(ctx, "CALL_ESTABLISHED"); err != nil {
			t.Fatalf("eli's phone did not answer: %v", err)
		}
		if _, err := dana.Wait(ctx, "CALL_CLOSED"); err != nil {
			t.Fatalf("dana's phone kept ringing after eli answered: %v", err)
		}
		waitFor(t, ctx, func() bool { return dir.connected("eli") }, "eli to be connected")
		if err := call.HangUp(ctx); err != nil {
			t.Fatal(err)
		}
		if e := ends.next(ctx, t); e.ending != "connected" {
			t.Errorf("ending %s, want connected", e.ending)
		}
	})
	t.Run("sequential: login order, the logged-out and the busy skipped", func(t *testing.T) {
		dir := newPeople()
		_, server, ends := startAgents(t, dir)
		t0 := time.Now()
		fay := agent(t, server, "fay", "manual") // first in: rings, does not answer
		eli := agent(t, server, "eli", "auto")
		dir.add("fay", fay, "udp", t0)
		dir.add("eli", eli, "udp", t0.Add(time.Second))
		// dana is not logged in.
		ctx := within(t, 30*time.Second)
		status, call := siptest.NewPhone(t).Dial(ctx, server, "+14155550113")
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		if _, err := fay.Wait(ctx, "CALL_INCOMING"); err != nil {
			t.Fatalf("fay, first logged in, was not rung first: %v", err)
		}
		if got := eli.Events(); len(got) > 0 && slices.ContainsFunc(got, func(e baresiptest.Event) bool { return e.Type == "CALL_INCOMING" }) {
			t.Fatal("eli was rung while fay's turn was not over")
		}
		if _, err := fay.Wait(ctx, "CALL_CLOSED"); err != nil {
			t.Fatalf("fay's ring did not end: %v", err)
		}
		if _, err := eli.Wait(ctx, "CALL_ESTABLISHED"); err != nil {
			t.Fatalf("eli, next in login order, did not get the call: %v", err)
		}
		call.HangUp(ctx)
		if e := ends.next(ctx, t); e.ending != "connected" {
			t.Errorf("ending %s, want connected", e.ending)
		}
	})
	t.Run("all busy and unavailable", func(t *testing.T) {
		dir := newPeople()
		_, server, ends := startAgents(t, dir)
		ctx := within(t, 30*time.Second)
		status, call := siptest.NewPhone(t).Dial(ctx, server, "+14155550112")
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		call.WaitBye(ctx)
		if e := ends.next(ctx, t); !slices.Equal(e.path, []string{"transfer_group.desk", "announce.unavailable"}) {
			t.Errorf("nobody logged in: path %v, want → announce.unavailable", e.path)
		}
		eli := agent(t, server, "eli", "auto")
		dir.add("eli", eli, "udp", time.Now())
		dir.Claim(ctx, "another", "eli")
		status, call = siptest.NewPhone(t).Dial(ctx, server, "+14155550112")
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		call.WaitBye(ctx)
		if e := ends.next(ctx, t); !slices.Equal(e.path, []string{"transfer_group.desk", "announce.busy"}) {
			t.Errorf("every logged-in member busy: path %v, want → announce.busy", e.path)
		}
	})
}

func TestUserWithTwoPhones(t *testing.T) {
	dir := newPeople()
	_, server, ends := startAgents(t, dir)
	desk := agent(t, server, "dana", "manual")
	mobile := agent(t, server, "dana", "auto")
	dir.add("dana", desk, "udp", time.Now())
	dir.add("dana", mobile, "udp", time.Now())
	// A third phone is switched off behind its registration: nothing
	// answers its INVITE, not even 100 Trying, so it cannot be cancelled
	// (RFC 3261 §9.1) and its transaction runs to Timer B (32 s). The
	// call must not wait for it.
	dead, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	dir.mu.Lock()
	dir.phones["dana"] = append(dir.phones["dana"], agents.Phone{Contact: "sip:dana@" + dead.LocalAddr().String(), Source: dead.LocalAddr().String(), Transport: "udp"})
	dir.mu.Unlock()
	ctx := within(t, 20*time.Second)
	start := time.Now()
	status, call := siptest.NewPhone(t).Dial(ctx, server, "+14155550110")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	if _, err := desk.Wait(ctx, "CALL_INCOMING"); err != nil {
		t.Fatalf("the desk phone did not ring: %v", err)
	}
	if _, err := mobile.Wait(ctx, "CALL_ESTABLISHED"); err != nil {
		t.Fatalf("the mobile did not answer: %v", err)
	}
	if _, err := desk.Wait(ctx, "CALL_CLOSED"); err != nil {
		t.Fatalf("the desk phone kept ringing after the mobile answered: %v", err)
	}
	// The caller hears the agent at once.
	waitFor(t, ctx, func() bool { return heardAgent(call) }, "the caller to hear the agent")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the bridge took %v: it waited for the phone that never answered", d)
	}
	call.HangUp(ctx)
	if e := ends.next(ctx, t); e.ending != "connected" {
		t.Errorf("ending %s, want connected", e.ending)
	}
}

func TestQueue(t *testing.T) {
	t.Run("the user turns free: the first caller rings them", func(t *testing.T) {
		dir := newPeople()
		_, server, ends := startAgents(t, dir)
		dana := agent(t, server, "dana", "auto")
		dir.add("dana", dana, "udp", time.Now())
		ctx := within(t, 30*time.Second)
		status, first := siptest.NewPhone(t).Dial(ctx, server, "+14155550110")
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		waitFor(t, ctx, func() bool { return dir.connected("dana") }, "dana to take the first call")
		status, second := siptest.NewPhone(t).Dial(ctx, server, "+14155550111")
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		// The second caller waits: the announcement, then the music.
		if err := second.WaitSpurt(ctx, 0, 10); err != nil {
			t.Fatalf("the queued caller did not hear the announcement: %v", err)
		}
		if err := first.HangUp(ctx); err != nil {
			t.Fatal(err)
		}
		if e := ends.next(ctx, t); e.ending != "connected" {
			t.Fatalf("first call: %s", e.ending)
		}
		// Dana is free: the waiting caller rings her, and she answers.
		waitFor(t, ctx, func() bool { return countEvents(dana, "CALL_ESTABLISHED") == 2 }, "dana to answer the queued caller")
		second.HangUp(ctx)
		if e := ends.next(ctx, t); e.ending != "connected" || !slices.Equal(e.path, []string{"transfer_user.dana"}) {
			t.Errorf("queued call: %s after %v, want connected after transfer_user.dana", e.ending, e.path)
		}
	})
	t.Run("the music runs out; a full queue", func(t *testing.T) {
		dir := newPeople()
		_, server, ends := startAgents(t, dir)
		dana := agent(t, server, "dana", "auto")
		dir.add("dana", dana, "udp", time.Now())
		dir.Claim(context.Background(), "another-call", "dana") // and stays on it
		ctx := within(t, 30*time.Second)
		start := time.Now()
		status, waiting := siptest.NewPhone(t).Dial(ctx, server, "+14155550111")
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		if err := waiting.WaitSpurt(ctx, 0, 10); err != nil {
			t.Fatal(err)
		}
		// At most one waits: the next caller finds the queue full.
		status, full := siptest.NewPhone(t).Dial(ctx, server, "+14155550111")
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		full.WaitBye(ctx)
		if e := ends.next(ctx, t); !slices.Equal(e.path, []string{"transfer_user.dana", "announce.busy"}) {
			t.Errorf("full queue: path %v, want → announce.busy", e.path)
		}
		waiting.WaitBye(ctx)
		e := ends.next(ctx, t)
		if !slices.Equal(e.path, []string{"transfer_user.dana", "announce.busy"}) {
			t.Errorf("queue timed out: path %v, want → announce.busy", e.path)
		}
		// The announcement and three plays of a second of music.
		if d := time.Since(start); d < 3*time.Second {
			t.Errorf("the caller left the queue after %v, before the music ran out (≥ 3.2 s)", d)
		}
		if n := countEvents(dana, "CALL_INCOMING"); n != 0 {
			t.Errorf("dana, busy all along, was rung %d times", n)
		}
	})
}

func countEvents(p *baresiptest.Phone, typ string) int {
	n := 0
	for _, e := range p.Events() {
		if e.Type == typ {
			n++
		}
	}
	return n
}
