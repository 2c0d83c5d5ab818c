// Package testscripts runs the callflow command end to end. Each
// testdata/*.txtar script drives the real binary, built once by TestMain,
// the way a user or a CI job would: it checks what the command prints and
// the exit status it returns.
//
// Every script starts in a fresh $WORK that holds a copy of
// examples/acme as $WORK/acme, with the binary first on $PATH. Run
// `go test ./testscripts -update` to rewrite the expected output of a
// failing `cmp` in place.
package testscripts

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/callflow/callflow/internal/audiotest"
	"github.com/callflow/callflow/internal/baresiptest"
	"github.com/callflow/callflow/store"
)

var update = flag.Bool("update", false, "rewrite testdata/*.txtar where a cmp against an archive file fails")

const cliPackage = "github.com/callflow/callflow/cmd/callflow"

var (
	binDir      string   // holds the callflow binary; set by TestMain
	buildInputs []string // the files the binary was built from
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "callflow-testscripts-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "testscripts: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	goCmd, err := goTool()
	if err == nil {
		err = buildCLI(goCmd, dir)
	}
	if err == nil {
		buildInputs, err = sourceFiles(goCmd)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "testscripts: cannot build the callflow binary, so no script can run:\n%v\n", err)
		return 1
	}
	binDir = dir
	return m.Run()
}

// goTool finds the go command. go test puts its own GOROOT/bin first on
// PATH, so the binary is built by the toolchain that runs the tests.
func goTool() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	p := filepath.Join(runtime.GOROOT(), "bin", exe("go"))
	if _, err := os.Stat(p); err != nil {
		return "", errors.New("the go command is neither on PATH nor in GOROOT/bin")
	}
	return p, nil
}

func buildCLI(goCmd, dir string) error {
	// The binary is built without -race even under go test -race: the
	// commands tested here run no goroutines, and a race-enabled binary
	// takes about a second to start, once per exec in every script.
	cmd := exec.Command(goCmd, "build", "-o", filepath.Join(dir, exe("callflow")), cliPackage)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return nil
}

// sourceFiles lists the files of this module that the binary is built
// from, with go.mod and go.sum.
func sourceFiles(goCmd string) ([]string, error) {
	cmd := exec.Command(goCmd, "list", "-deps", "-json=Dir,GoFiles,EmbedFiles,Module", cliPackage)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", strings.Join(cmd.Args, " "), err)
	}
	var files []string
	var goMod string
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var pkg struct {
			Dir                 string
			GoFiles, EmbedFiles []string
			Module              *struct {
				Main  bool
				GoMod string
			}
		}
		if err := dec.Decode(&pkg); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go list output: %v", err)
		}
		if pkg.Module == nil || !pkg.Module.Main {
			continue
		}
		if goMod == "" {
			goMod = pkg.Module.GoMod
		}
		for _, f := range append(pkg.GoFiles, pkg.EmbedFiles...) {
			files = append(files, filepath.Join(pkg.Dir, f))
		}
	}
	if goMod != "" {
		files = append(files, goMod, filepath.Join(filepath.Dir(goMod), "go.sum"))
	}
	return files, nil
}

func exe(name string) string {
	if runtime.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}

func TestScripts(t *testing.T) {
	// go test caches a pass against the files this process reads, but a
	// subprocess built the binary. Stat its sources here so that editing
	// them invalidates the cached result.
	for _, f := range buildInputs {
		os.Stat(f)
	}
	acme, err := filepath.Abs(filepath.Join("..", "examples", "acme"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       *update,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", binDir+string(os.PathListSeparator)+env.Getenv("PATH"))
			env.Setenv("CALLFLOW_BIN", binDir) // a script may run callflow with nothing else on PATH
			return os.CopyFS(filepath.Join(env.WorkDir, "acme"), os.DirFS(acme))
		},
		// [ci] holds when CI is set: a script skips what it needs outside
		// CI only, and fails without it in CI.
		Condition: func(cond string) (bool, error) {
			if cond == "ci" {
				return os.Getenv("CI") != "", nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":   cmdExitCode,
			"history":    cmdHistory,
			"waithttp":   cmdWaitHTTP,
			"until":      cmdUntil,
			"httpget":    cmdHTTPGet,
			"olderapply": cmdOlderApply,
			// For the scripts that drive real SIP peers (serve_sipp_*,
			// serve_baresip_*).
			"sippscenario": cmdSIPpScenario,
			"csvsum":       cmdCSVSum,
			"csvall":       cmdCSVAll,
			"udpquiet":     cmdUDPQuiet,
			"baresip":      cmdBaresip,
			"samesound":    cmdSameSound,
			"speech":       cmdSpeech,
		},
	})
}

// cmdExitCode implements `exitcode N program [args...]`: it runs program as
// exec does, keeping its output for the stdout and stderr commands that
// follow, and fails unless it exits with status N. `! exec` cannot tell
// the CLI's 1 (the input is wrong) from its 2 (the command line is wrong).
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "usage: exitcode N program [args...]"
	if neg {
		ts.Fatalf("unsupported: ! exitcode; give the expected status instead")
	}
	if len(args) < 2 {
		ts.Fatalf(usage)
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("%s: %v", usage, err)
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		got = exitErr.ExitCode()
	case err != nil:
		ts.Fatalf("%v", err)
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// cmdHistory implements `history DB`: it writes a call history into the
// store DB — what the server records as calls run — so that scripts can
// test the history commands: an answered call with its recording, a
// voicemail, an outgoing call, and a call a crash left running.
func cmdHistory(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: history DB")
	}
	ctx := context.Background()
	st, err := store.Open(ctx, ts.MkAbs(args[0]))
	ts.Check(err)
	defer st.Close()
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	calls := []store.Call{
		{ID: "call-1", Direction: "incoming", From: "+12125550100", To: "+14155550100", NumberName: "sales", Flow: "sales", FlowVersion: 1,
			Path: []string{"ivr.menu", "transfer_user.dana"}, Agent: "dana", StartedAt: t0, AnsweredAt: t0.Add(12 * time.Second),
			EndedAt: t0.Add(3*time.Minute + 2*time.Second), RecordingS: 170, Credits: 40000, Ending: "connected"},
		{ID: "call-2", Direction: "incoming", From: "+12125550101", To: "+18005550199", NumberName: "support", Flow: "support", FlowVersion: 2,
			Path: []string{"announce.welcome", "ivr.main", "voicemail.general"}, StartedAt: t0.Add(time.Hour),
			EndedAt: t0.Add(time.Hour + 41*time.Second), RecordingS: 25, Credits: 30000, Ending: "message"},
		{ID: "call-3", Direction: "outgoing", From: "alice", To: "+442071838750", NumberName: "support", Agent: "alice",
			StartedAt: t0.Add(2 * time.Hour), AnsweredAt: t0.Add(2*time.Hour + 5*time.Second), EndedAt: t0.Add(2*time.Hour + 65*time.Second),
			Credits: 30000, Ending: "connected"},
		{ID: "call-4", Direction: "incoming", From: "+12125550102", To: "+14155550100", NumberName: "sales", Flow: "sales", FlowVersion: 1,
			Path: []string{"ivr.menu"}, StartedAt: t0.Add(3 * time.Hour), LastSeenAt: t0.Add(3*time.Hour + 20*time.Second)},
	}
	for _, c := range calls {
		ts.Check(st.SaveCall(ctx, c))
	}
	audio := ts.MkAbs("voicemail-call-2.wav")
	ts.Check(os.WriteFile(audio, []byte("RIFF\x24\x00\x00\x00WAVEfmt "), 0o644))
	ts.Check(st.AddRecording(ctx, store.Recording{ID: "rec-2", CallID: "call-2", Kind: "voicemail", Path: audio, Seconds: 25, CreatedAt: t0.Add(time.Hour)}, 1<<40))
}

// cmdOlderApply implements `olderapply DB`: it makes the live version of
// the store DB live again as a new version the way a callflow from before
// the typed live model applied one, without a model, so that scripts can
// test what an upgrade meets.
func cmdOlderApply(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: olderapply DB")
	}
	ctx := context.Background()
	st, err := store.Open(ctx, ts.MkAbs(args[0]))
	ts.Check(err)
	defer st.Close()
	cur, err := st.Live(ctx)
	ts.Check(err)
	if cur.Version.ID == 0 {
		ts.Fatalf("olderapply: nothing is live in %s", args[0])
	}
	c := store.Change{Base: cur.Version.ID, BaseHash: cur.Version.Hash, Config: cur.Config, Hash: cur.Version.Hash,
		AppliedBy: "an older callflow", Kind: "apply", Message: "0 added, 0 changed, 0 removed"}
	for flow, v := range cur.Flows {
		c.Flows = append(c.Flows, store.FlowInput{Flow: flow, Use: v})
	}
	_, err = st.Apply(ctx, c)
	ts.Check(err)
}

// cmdWaitHTTP implements `waithttp URL [STATUS]`: it waits, up to 60 s,
// until URL answers STATUS (200 by default) — a server started in the
// background is ready, or one that was told to stop says so.
func cmdWaitHTTP(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: waithttp URL [STATUS]")
	}
	want := http.StatusOK
	if len(args) == 2 {
		var err error
		if want, err = strconv.Atoi(args[1]); err != nil {
			ts.Fatalf("waithttp: status %q: %v", args[1], err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(args[0])
		got := 0
		if err == nil {
			resp.Body.Close()
			if got = resp.StatusCode; got == want {
				return
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not answer %d within 60 s: status %d, %v", args[0], want, got, err)
		}
		time.Sleep(50 * time.Millisecond) // polling a server that is starting
	}
}

// cmdUntil implements `until [-count=N] REGEXP program [args...]`: it runs program
// again and again, as exec does, until its standard output matches
// REGEXP (N times, with -count), for at most 60 s. It waits for a state that another process
// (a server in the background) reaches; stdout holds the last run's output.
func cmdUntil(ts *testscript.TestScript, neg bool, args []string) {
	count := 0 // any number of matches
	if len(args) > 0 && strings.HasPrefix(args[0], "-count=") {
		n, err := strconv.Atoi(strings.TrimPrefix(args[0], "-count="))
		if err != nil || n < 1 {
			ts.Fatalf("until: %s: want -count=N, N at least 1", args[0])
		}
		count, args = n, args[1:]
	}
	if neg || len(args) < 2 {
		ts.Fatalf("usage: until [-count=N] REGEXP program [args...]")
	}
	// Multi-line, as stdout's patterns are: ^ and $ match at every line.
	re, err := regexp.Compile("(?m)" + args[0])
	if err != nil {
		ts.Fatalf("until: %v", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := ts.Exec(args[1], args[2:]...)
		if err == nil {
			n := len(re.FindAllStringIndex(ts.ReadFile("stdout"), -1))
			if (count == 0 && n > 0) || (count > 0 && n == count) {
				return
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not print %q (count %d) within 60 s (last error: %v)", args[1], args[0], count, err)
		}
		time.Sleep(100 * time.Millisecond) // polling another process
	}
}

// cmdHTTPGet implements `httpget URL`: it fetches URL and prints the body
// on stdout, for the stdout command; it fails unless the status is 200.
func cmdHTTPGet(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: httpget URL")
	}
	resp, err := http.Get(args[0])
	if err != nil {
		ts.Fatalf("httpget: %v", err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(ts.Stdout(), resp.Body); err != nil {
		ts.Fatalf("httpget: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		ts.Fatalf("httpget %s: status %d", args[0], resp.StatusCode)
	}
}

// sippDir holds the SIPp scenarios the scripts share.
const sippDir = "testdata/sipp"

// cmdSIPpScenario implements `sippscenario FILE...`: it copies each SIPp
// scenario named from testdata/sipp into $WORK, for `exec sipp -sf FILE`.
// The scenarios are files of their own so that they can be read, and run
// by hand, apart from the scripts.
func cmdSIPpScenario(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: sippscenario FILE...")
	}
	for _, name := range args {
		data, err := os.ReadFile(filepath.Join(sippDir, filepath.FromSlash(name)))
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(filepath.Base(name)), data, 0o644))
	}
}

// cmdCSVSum implements `csvsum COLUMN VAR`: it adds up the decimal column
// COLUMN (named by the header row) of the CSV the last command printed,
// and sets VAR to the total in millionths: the unit in which the JSON
// reports give credits (`calls list --format csv` writes 0.03, `credits
// usage --format json` 30000). It fails on a value that is not a decimal
// of at most six places, so that a change of format is seen.
func cmdCSVSum(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: csvsum COLUMN VAR")
	}
	header, rows := readCSV(ts)
	col := slices.Index(header, args[0])
	if col < 0 {
		ts.Fatalf("csvsum: no column %q in %q", args[0], header)
	}
	var total int64
	for _, row := range rows {
		whole, frac, _ := strings.Cut(row[col], ".")
		w, err1 := strconv.ParseInt(whole, 10, 64)
		f, err2 := strconv.ParseInt((frac + "000000")[:6], 10, 64)
		if err1 != nil || err2 != nil || len(frac) > 6 || strings.HasPrefix(whole, "-") {
			ts.Fatalf("csvsum: %s %q is not a decimal of at most six places", args[0], row[col])
		}
		total += w*1_000_000 + f
	}
	ts.Setenv(args[1], strconv.FormatInt(total, 10))
}

// cmdCSVAll implements `csvall COLUMN REGEXP`: it fails unless the
// column COLUMN of every row of the CSV the last command printed matches
// REGEXP: that every record is one of the kinds a script expects, where
// stdout could only show that some are.
func cmdCSVAll(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: csvall COLUMN REGEXP")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	header, rows := readCSV(ts)
	col := slices.Index(header, args[0])
	if col < 0 {
		ts.Fatalf("csvall: no column %q in %q", args[0], header)
	}
	for i, row := range rows {
		if !re.MatchString(row[col]) {
			ts.Fatalf("csvall: row %d: %s %q does not match %q", i+1, args[0], row[col], args[1])
		}
	}
}

// readCSV reads the CSV the last command printed: its header row, and
// the rows after it.
func readCSV(ts *testscript.TestScript) (header []string, rows [][]string) {
	all, err := csv.NewReader(strings.NewReader(ts.ReadFile("stdout"))).ReadAll()
	ts.Check(err)
	if len(all) == 0 {
		ts.Fatalf("stdout holds no CSV")
	}
	return all[0], all[1:]
}

// cmdUDPQuiet implements `udpquiet ADDR DURATION`: it listens on the UDP
// address ADDR for DURATION and fails if any datagram arrives. Run on the
// media port of a caller that has hung up (and exited), it shows that the
// server sends that caller no more RTP. Quiet can only be shown over a
// time; DURATION is fifty packet times or more.
func cmdUDPQuiet(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: udpquiet ADDR DURATION")
	}
	d, err := time.ParseDuration(args[1])
	ts.Check(err)
	conn, err := net.ListenPacket("udp", args[0])
	ts.Check(err)
	defer conn.Close()
	ts.Check(conn.SetReadDeadline(time.Now().Add(d)))
	buf := make([]byte, 2048)
	n, from, err := conn.ReadFrom(buf)
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return
	}
	ts.Check(err)
	ts.Fatalf("udpquiet: %d bytes from %s on %s within %s", n, from, args[0], d)
}

// phones are the baresip phones the scripts started, by script and name.
var phones = struct {
	sync.Mutex
	m map[*testscript.TestScript]map[string]*baresiptest.Phone
}{m: map[*testscript.TestScript]map[string]*baresiptest.Phone{}}

// cmdBaresip implements `baresip NAME SUBCOMMAND [args...]`, a phone
// (Debian's baresip, see internal/baresiptest) that a script drives:
//
//	baresip NAME start -server HOST:PORT -sip PORT -ctrl PORT -rtp LO-HI [-transport tcp] [-rtp-timeout S]
//	baresip NAME dial URI
//	baresip NAME hold | resume | hangup | accept
//	baresip NAME key DIGIT       send a key by RFC 4733
//	baresip NAME wait EVENT      wait, up to 60 s, for the next EVENT (CALL_ESTABLISHED…)
//	baresip NAME stays DURATION  fail if the call ends (CALL_CLOSED) within DURATION, at most 60 s
//	baresip NAME heard FILE      write what it heard in its last call (a WAV file) to FILE
//	baresip NAME events          print the events so far, one a line: TYPE PARAM
//	baresip NAME messages        print the SIP messages so far, one a line: TRANSPORT FROM -> TO START-LINE
//	baresip NAME connections     print each pair of addresses the messages went between, once: TRANSPORT A <-> B
//	baresip NAME output          print what baresip printed: its log and the whole SIP trace
//
// The phone stops when the script ends. Outside CI a script without
// baresip should skip first: [!exec:baresip] [!ci] skip.
func cmdBaresip(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: baresip NAME SUBCOMMAND [args...]")
	}
	name, sub, args := args[0], args[1], args[2:]
	phones.Lock()
	p := phones.m[ts][name]
	phones.Unlock()
	if sub == "start" {
		if p != nil {
			ts.Fatalf("baresip %s: already started", name)
		}
		phoneStart(ts, name, args)
		return
	}
	if p == nil {
		ts.Fatalf("baresip %s: not started", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	command := map[string]string{"dial": "dial", "hold": "hold", "resume": "resume", "hangup": "hangup", "key": "sndcode", "accept": "accept"}
	switch {
	case command[sub] != "":
		params := ""
		if sub == "dial" || sub == "key" {
			if len(args) != 1 {
				ts.Fatalf("usage: baresip NAME %s ARG", sub)
			}
			params = args[0]
		}
		ts.Check(p.Do(ctx, command[sub], params))
	case sub == "wait" && len(args) == 1:
		e, err := p.Wait(ctx, args[0])
		ts.Check(err)
		ts.Logf("%s", e)
	case sub == "stays" && len(args) == 1:
		// A call that must not end: the wait for its end has to time out.
		d, err := time.ParseDuration(args[0])
		ts.Check(err)
		up, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		e, err := p.Wait(up, "CALL_CLOSED")
		switch {
		case err == nil:
			ts.Fatalf("baresip %s: the call ended within %s: %s", name, d, e)
		case up.Err() == nil: // not the time-out: the phone went away
			ts.Fatalf("baresip %s: %v", name, err)
		}
	case sub == "heard" && len(args) == 1:
		// Copy what the phone heard in its last call to a file of the script's.
		f, err := p.Heard()
		ts.Check(err)
		data, err := os.ReadFile(f)
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), data, 0o644))
	case sub == "events":
		for _, e := range p.Events() {
			fmt.Fprintln(ts.Stdout(), e)
		}
	case sub == "connections":
		seen := map[string]bool{}
		for _, m := range p.Messages() {
			ends := []string{m.From, m.To}
			slices.Sort(ends)
			if c := m.Transport + " " + ends[0] + " <-> " + ends[1]; !seen[c] {
				seen[c] = true
				fmt.Fprintln(ts.Stdout(), c)
			}
		}
	case sub == "output":
		fmt.Fprint(ts.Stdout(), p.Output())
	case sub == "messages":
		for _, m := range p.Messages() {
			fmt.Fprintln(ts.Stdout(), m)
		}
	default:
		ts.Fatalf("baresip %s: unknown subcommand %q or wrong arguments %q", name, sub, args)
	}
}

func phoneStart(ts *testscript.TestScript, name string, args []string) {
	fs := flag.NewFlagSet("baresip start", flag.ContinueOnError)
	var o baresiptest.Options
	var rtp string
	fs.StringVar(&o.Server, "server", "", "host:port of the server")
	fs.IntVar(&o.SIPPort, "sip", 0, "SIP port")
	fs.IntVar(&o.CtrlPort, "ctrl", 0, "ctrl_tcp port")
	fs.StringVar(&rtp, "rtp", "", "RTP ports, LO-HI")
	fs.StringVar(&o.Transport, "transport", "udp", "udp or tcp")
	fs.IntVar(&o.RTPTimeout, "rtp-timeout", 0, "seconds without RTP after which baresip hangs up")
	fs.StringVar(&o.User, "user", "", "register as this user (an agent's phone)")
	fs.StringVar(&o.Password, "password", "", "the user's password")
	fs.StringVar(&o.Domain, "domain", "", "the user's SIP domain (127.0.0.1 by default)")
	fs.StringVar(&o.AnswerMode, "answer", "", "auto, or manual (answer with: baresip NAME accept)")
	fs.StringVar(&o.AudioSource, "audio", "", "the WAV file (8 kHz mono) it sends")
	fs.StringVar(&o.Codecs, "codecs", "", "its audio codecs: PCMA (default), PCMU, or PCMU,PCMA")
	fs.SetOutput(ts.Stderr())
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 || o.Server == "" || o.SIPPort == 0 || o.CtrlPort == 0 {
		ts.Fatalf("usage: baresip NAME start -server HOST:PORT -sip PORT -ctrl PORT -rtp LO-HI [-transport tcp] [-rtp-timeout S] [-user NAME -password PW [-domain D] [-answer auto]] [-audio FILE] [-codecs C]")
	}
	if o.AudioSource != "" {
		o.AudioSource = ts.MkAbs(o.AudioSource)
	}
	lo, hi, _ := strings.Cut(rtp, "-")
	var err1, err2 error
	o.RTPPorts[0], err1 = strconv.Atoi(lo)
	o.RTPPorts[1], err2 = strconv.Atoi(hi)
	if err1 != nil || err2 != nil {
		ts.Fatalf("baresip start: -rtp %q: want LO-HI", rtp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir := ts.MkAbs("baresip-" + name)
	ts.Check(os.MkdirAll(dir, 0o755))
	p, err := baresiptest.Start(ctx, dir, o)
	ts.Check(err)
	phones.Lock()
	if phones.m[ts] == nil {
		phones.m[ts] = map[string]*baresiptest.Phone{}
	}
	phones.m[ts][name] = p
	phones.Unlock()
	ts.Defer(func() {
		p.Close()
		// For a script that fails: what the phone saw.
		ts.Logf("baresip %s: events %v\nmessages:\n%s", name, p.Events(), joinLines(p.Messages()))
		phones.Lock()
		delete(phones.m[ts], name)
		if len(phones.m[ts]) == 0 {
			delete(phones.m, ts)
		}
		phones.Unlock()
	})
}

func joinLines[T fmt.Stringer](items []T) string {
	var b strings.Builder
	for _, it := range items {
		fmt.Fprintln(&b, it)
	}
	return b.String()
}

// cmdSameSound implements `samesound [-channel N] [-min DB] SENT HEARD`:
// it fails unless HEARD (a WAV file: what a phone heard, a call's
// recording) carries the audio of SENT (the WAV file a party sent),
// every whole second of it within -min dB (20) of signal-to-noise once
// aligned (package audiotest). -channel picks a channel of HEARD, from 1.
func cmdSameSound(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("samesound", flag.ContinueOnError)
	channel := fs.Int("channel", 1, "the channel of HEARD, from 1")
	minDB := fs.Float64("min", 20, "the lowest SNR of any second, in dB")
	seconds := fs.Int("seconds", 3, "the fewest whole seconds HEARD must hold of SENT")
	fs.SetOutput(ts.Stderr())
	if err := fs.Parse(args); err != nil || fs.NArg() != 2 {
		ts.Fatalf("usage: samesound [-channel N] [-min DB] [-seconds N] SENT HEARD")
	}
	sent, _, err := audiotest.ReadWAV(ts.MkAbs(fs.Arg(0)))
	ts.Check(err)
	heard, rate, err := audiotest.ReadWAV(ts.MkAbs(fs.Arg(1)))
	ts.Check(err)
	if *channel < 1 || *channel > len(heard) {
		ts.Fatalf("samesound: %s has %d channels", fs.Arg(1), len(heard))
	}
	r, err := audiotest.Compare(sent[0], heard[*channel-1], rate)
	ts.Check(err)
	ts.Logf("samesound %s in %s channel %d: %v", fs.Arg(0), fs.Arg(1), *channel, r)
	ok := r.Worst() >= *minDB && len(r.SNR) >= *seconds
	if ok == neg {
		ts.Fatalf("samesound: %s channel %d against %s: %v (want every second ≥ %.0f dB, at least %d seconds); by second: %.0f", fs.Arg(1), *channel, fs.Arg(0), r, *minDB, *seconds, r.SNR)
	}
}

// cmdSpeech implements `speech FILE SECONDS SEED`: it writes a WAV file
// (8 kHz, mono) of test speech that never repeats (audiotest.Speech), for
// a phone to send; seeds tell parties apart.
func cmdSpeech(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: speech FILE SECONDS SEED")
	}
	secs, err1 := strconv.Atoi(args[1])
	seed, err2 := strconv.ParseUint(args[2], 10, 64)
	if err1 != nil || err2 != nil {
		ts.Fatalf("speech: SECONDS and SEED are whole numbers")
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), audiotest.WAV(audiotest.Speech(secs*8000, seed), 8000), 0o644))
}
