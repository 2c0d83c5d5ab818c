package serving_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/internal/siptest"
	"github.com/callflow/callflow/internal/storetest"
	"github.com/callflow/callflow/live"
	"github.com/callflow/callflow/numbers"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony"
	"github.com/callflow/callflow/telephony/media"
	"github.com/callflow/callflow/telephony/prompt"
	"github.com/callflow/callflow/telephony/serving"
	"github.com/callflow/callflow/telephony/session"
	"github.com/callflow/callflow/vm"
)

// The organisation's numbers, one per flow.
const (
	numHello   = "+14155550100" // announce, then another announce
	numMenu    = "+14155550101" // ivr: keys to announce, transfer_user, transfer_group
	numBox     = "+14155550102" // voicemail with a prompt
	numQuick   = "+14155550103" // voicemail of at most 1 s
	numCut     = "+14155550104" // voicemail whose state times out after 2 s
	numLong    = "+14155550105" // a 30 s announcement
	numClosed  = "+14155550106" // a disabled flow
	numUnknown = "+14155550199" // not the organisation's
	caller     = "+14155559876"
)

// promptFrames is each prompt's length in 20 ms frames. They differ, so
// that the frames of a spurt tell which prompt a caller heard.
var promptFrames = map[string]int{
	"hello": 10, "bye": 5, "long": 1500, "menu": 50, "one": 5, "late": 6, "sorry": 7, "box": 10, "goodbye": 8,
}

// beepFrames is the tone before a message.
var beepFrames = len(session.Beep.Samples) / media.FrameSamples

// rate is what a minute of an incoming call to a local number costs.
var rate = billing.Credits(1, 0)

const organization = `
organization {
  name    = "Test"
  country = "US"
}

rates {
  incoming_per_minute = { local = 1 }
}

trunk "carrier" {
  address      = "127.0.0.1:5080"
  inbound_from = [%q]
}
`

const numbersHCL = `
number "hello" {
  e164 = "+14155550100"
  type = "local"
}
number "menu" {
  e164 = "+14155550101"
  type = "local"
}
number "box" {
  e164 = "+14155550102"
  type = "local"
}
number "quick" {
  e164 = "+14155550103"
  type = "local"
}
number "cut" {
  e164 = "+14155550104"
  type = "local"
}
number "long" {
  e164 = "+14155550105"
  type = "local"
}
number "closed" {
  e164 = "+14155550106"
  type = "local"
}

user "ann" {
}

group "sales" {
  members = [user.ann]
}
`

const flowsHCL = `
flow "hello" {
  numbers = [number.hello]
  start   = announce.hello
  announce "hello" {
    play = "../audio/hello.wav"
    next = announce.bye
  }
  announce "bye" {
    play = "../audio/bye.wav"
  }
}

flow "long" {
  numbers = [number.long]
  start   = announce.long
  announce "long" {
    play = "../audio/long.wav"
  }
}

flow "menu" {
  numbers = [number.menu]
  start   = ivr.menu
  ivr "menu" {
    play = "../audio/menu.wav"
    key "1" { next = announce.one }
    key "2" { next = transfer_user.ann }
    key "3" { next = transfer_group.sales }
    on_timeout = announce.late
  }
  announce "one" {
    play = "../audio/one.wav"
  }
  announce "late" {
    play = "../audio/late.wav"
  }
  transfer_user "ann" {
    user           = user.ann
    record         = true
    on_unavailable = announce.sorry
  }
  transfer_group "sales" {
    group          = group.sales
    on_unavailable = announce.sorry
  }
  announce "sorry" {
    play = "../audio/sorry.wav"
  }
}

flow "box" {
  numbers = [number.box]
  start   = voicemail.box
  voicemail "box" {
    play       = "../audio/box.wav"
    max_length = 5
    timeout    = 20
    on_timeout = announce.goodbye
  }
  announce "goodbye" {
    play = "../audio/goodbye.wav"
  }
}

flow "quick" {
  numbers = [number.quick]
  start   = voicemail.quick
  voicemail "quick" {
    max_length = 1
    timeout    = 10
    on_timeout = announce.goodbye
  }
  announce "goodbye" {
    play = "../audio/goodbye.wav"
  }
}

flow "cut" {
  numbers = [number.cut]
  start   = voicemail.cut
  voicemail "cut" {
    max_length = 5
    timeout    = 2
    on_timeout = announce.goodbye
  }
  announce "goodbye" {
    play = "../audio/goodbye.wav"
  }
}

flow "closed" {
  numbers = [number.closed]
  enabled = false
  start   = announce.hello
  announce "hello" {
    play = "../audio/hello.wav"
  }
}
`

const inventory = `# e164,type,region
+14155550100,local,San Francisco
+14155550101,local,San Francisco
+14155550102,local,San Francisco
+14155550103,local,San Francisco
+14155550104,local,San Francisco
+14155550105,local,San Francisco
+14155550106,local,San Francisco
`

// writeRepository writes the repository to a new directory, with a trunk
// that takes calls from network, and returns the directory.
func writeRepository(t *testing.T, network string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{
		"organization.hcl":    fmt.Appendf(nil, organization, network),
		"numbers.hcl":         []byte(numbersHCL),
		"flows/flows.hcl":     []byte(flowsHCL),
		numbers.InventoryFile: []byte(inventory),
	}
	for name, frames := range promptFrames {
		var b bytes.Buffer
		if err := prompt.EncodeWAV(&b, tone(frames)); err != nil {
			t.Fatal(err)
		}
		files["audio/"+name+".wav"] = b.Bytes()
	}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tone is a 500 Hz triangle wave of frames 20 ms frames.
func tone(frames int) prompt.Audio {
	a := prompt.Audio{Samples: make([]int16, frames*media.FrameSamples)}
	for i := range a.Samples {
		a.Samples[i] = int16(1000 * (abs(i%16-8) - 4))
	}
	return a
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// env is one organisation served: its store, its server and how to reach
// it.
type env struct {
	t          *testing.T
	st         *store.Store
	ledger     *billing.Ledger
	model      *live.Model // what was applied
	recordings string      // where voicemail is saved
	srv        *telephony.Server
	addr       netip.AddrPort
	bought     billing.Micro
	// ended receives each call's ID once its record is closed.
	ended chan string
}

// setup says how an env differs from the usual one.
type setup struct {
	network string        // the trunk's inbound network; loopback when ""
	credits billing.Micro // credits bought; 10 when 0
	dsn     string        // the store; a new SQLite file when ""
	opts    []telephony.Option
}

// newEnv applies the repository to a new store, buys credits and serves
// what the store holds.
func newEnv(t *testing.T, s setup) *env {
	t.Helper()
	ctx := context.Background()
	if s.network == "" {
		s.network = "127.0.0.0/8"
	}
	if s.credits == 0 {
		s.credits = billing.Credits(10, 0)
	}
	dir := writeRepository(t, s.network)
	if s.dsn == "" {
		s.dsn = filepath.Join(t.TempDir(), "callflow.db")
	}
	st := storetest.Open(t, s.dsn)

	storetest.ApplyDir(t, st, dir) // prepares the prompts and stores them with the flows
	model, _, err := billing.LiveModel(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	ledger := billing.NewLedger(st, model)
	if _, err := ledger.Buy(ctx, "test-purchase", s.credits, "test"); err != nil {
		t.Fatal(err)
	}

	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := &env{t: t, st: st, ledger: ledger, model: model, recordings: t.TempDir(), bought: s.credits, ended: make(chan string, 16)}
	b := &serving.Builder{Store: st, Log: log, Recordings: e.recordings}
	live, err := b.Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Watch each call's end, which closes its record, so that the test
	// reads the record once it is written rather than polling for it.
	begin := live.Begin
	live.Begin = func(ctx context.Context, c telephony.CallInfo, stop func(error)) ([]vm.Hook, func(vm.Effect, error), error) {
		hooks, end, err := begin(ctx, c, stop)
		if err != nil {
			return nil, nil, err
		}
		return hooks, func(final vm.Effect, cause error) { end(final, cause); e.ended <- c.ID }, nil
	}

	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = netip.MustParseAddrPort(conn.LocalAddr().String())
	if e.srv, err = telephony.NewServer(e.addr, 23000, 23999, log, s.opts...); err != nil {
		t.Fatal(err)
	}
	e.srv.Load(live)
	served := make(chan struct{})
	go func() { defer close(served); e.srv.ServeUDP(conn) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.srv.Shutdown(ctx)
		conn.Close()
		select {
		case <-served:
		case <-time.After(5 * time.Second):
			t.Error("the server did not stop serving")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
	return e
}

// syncBuffer is a log that goroutines write at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// dial calls number from the usual caller and wants it answered.
func (e *env) dial(ctx context.Context, number string) *siptest.Call {
	e.t.Helper()
	status, c := siptest.NewPhone(e.t, siptest.WithNumber(caller)).Dial(ctx, e.addr, number)
	if status != 200 {
		e.t.Fatalf("dialling %s: status %d, want 200", number, status)
	}
	return c
}

// record waits until a call's record is closed and returns it.
func (e *env) record(ctx context.Context) store.Call {
	e.t.Helper()
	select {
	case id := <-e.ended:
		calls, err := e.st.Calls(ctx, store.CallFilter{})
		if err != nil {
			e.t.Fatal(err)
		}
		for _, c := range calls {
			if c.ID == id {
				return c
			}
		}
		e.t.Fatalf("call %s ended, and the store has no record of it", id)
	case <-ctx.Done():
		e.t.Fatal("no call's record was closed")
	}
	return store.Call{}
}

// checkRecord checks a closed record of an answered call from caller.
func (e *env) checkRecord(c store.Call, number string, path []string, ending string) {
	e.t.Helper()
	if !slices.Equal(c.Path, path) {
		e.t.Errorf("path %q, want %q", c.Path, path)
	}
	if c.Ending != ending {
		e.t.Errorf("ending %q, want %q", c.Ending, ending)
	}
	if c.EndedAt.IsZero() || c.EndedAt.Before(c.StartedAt) {
		e.t.Errorf("started %s, ended %s: the record is not closed", c.StartedAt, c.EndedAt)
	}
	if c.Direction != "incoming" || c.From != caller || c.To != number || c.FlowVersion == 0 {
		e.t.Errorf("record %+v: want an incoming call from %s to %s of a live flow version", c, caller, number)
	}
	// A call shorter than a minute is charged its first minute.
	if c.Credits != int64(rate) {
		e.t.Errorf("the record says %d micro-credits, want %d (one minute)", c.Credits, rate)
	}
}

// checkLedger checks that answered calls of under a minute each were
// charged one minute and that no credit is still held for a call.
func (e *env) checkLedger(ctx context.Context, answered int) {
	e.t.Helper()
	available, reserved, err := e.ledger.Balance(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	if want := e.bought - billing.Micro(answered)*rate; available != want || reserved != 0 {
		e.t.Errorf("%s credits available, %s reserved; want %s and none", available, reserved, want)
	}
}

// checkRefused checks that the calls refused left nothing behind: no
// credit charged or held, and no record of a call that ran. (A record
// that says why a call was refused is closed, passed no state and
// charged nothing.)
func (e *env) checkRefused(ctx context.Context) {
	e.t.Helper()
	calls, err := e.st.Calls(ctx, store.CallFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range calls {
		if c.EndedAt.IsZero() || c.Ending == "" || len(c.Path) != 0 || c.Credits != 0 || c.RecordingS != 0 {
			e.t.Errorf("record %+v of a refused call: want it closed, saying why, with no state passed and nothing charged", c)
		}
	}
	e.checkLedger(ctx, 0)
}

// savedMessages lists the recordings kept whose audio is in the
// recordings directory: the voicemail saved by calls.
func (e *env) savedMessages(ctx context.Context) []store.Recording {
	e.t.Helper()
	all, err := e.st.Recordings(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []store.Recording
	for _, r := range all {
		if r.Path != "" && filepath.Dir(r.Path) == e.recordings {
			out = append(out, r)
		}
	}
	return out
}

// wavFiles lists the files in the recordings directory.
func (e *env) wavFiles() []string {
	e.t.Helper()
	entries, err := os.ReadDir(e.recordings)
	if err != nil {
		e.t.Fatal(err)
	}
	var names []string
	for _, f := range entries {
		names = append(names, f.Name())
	}
	return names
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
