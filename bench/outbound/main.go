// Command outbound measures the setup rate of outgoing calls through
// callflow: SIPp places calls as a user's phone does (INVITE, 407, INVITE
// with credentials; answered; hung up after -hold) through `callflow
// serve`, which authenticates each, applies the policy, reserves the first
// minute and places it on the trunk, where `sipp -sn uas` is the carrier;
// and, in the same run, SIPp calls that same carrier directly (`sipp -sn
// uac`), the do-nothing baseline. For each rate it prints the calls that
// succeeded and failed on each side and how long 'seconds' of calls took;
// the sustained rate is the highest with 0 failures that keeps up.
// Everything runs on loopback: the server on 127.0.0.1, the carrier on
// 127.0.0.2.
//
//	go run ./bench/outbound -rates 20,50,100 -seconds 5
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

const repo = `organization {
  country = "US"
}

rates {
  outgoing_per_minute = { "*" = 0.01 }
}

trunk "carrier" {
  address      = "127.0.0.2:%d"
  inbound_from = ["127.0.0.2/32"]
  transport    = "udp"
}

number "main" {
  e164 = "+14155550100"
  type = "local"
}

user "alice" {
  allow_outgoing = true
  caller_id      = number.main
}

flow "main" {
  numbers = [number.main]
  start   = announce.hello
  announce "hello" {
    play = "hello.wav"
  }
}
`

func main() {
	rates := flag.String("rates", "20,50,100", "calls per second to try, in order")
	seconds := flag.Int("seconds", 5, "how long each rate runs")
	hold := flag.Int("hold", 500, "milliseconds each call stays up")
	flag.Parse()
	_, self, _, _ := runtime.Caller(0)
	dir := filepath.Dir(self)
	tmp, err := os.MkdirTemp("", "bench-outbound")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	bin := filepath.Join(tmp, "callflow")
	build := exec.Command("go", "build", "-o", bin, "./cmd/callflow")
	build.Dir = filepath.Join(dir, "..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		log.Fatalf("go build: %v\n%s", err, out)
	}
	carrierPort := freePort("127.0.0.2")
	org := filepath.Join(tmp, "repo")
	must(os.MkdirAll(org, 0o755))
	must(os.WriteFile(filepath.Join(org, "main.hcl"), fmt.Appendf(nil, repo, carrierPort), 0o644))
	must(os.WriteFile(filepath.Join(org, "inventory.csv"), []byte("+14155550100,local,\n"), 0o644))
	must(os.WriteFile(filepath.Join(org, "hello.wav"), silence(), 0o644))
	db := filepath.Join(tmp, "callflow.db")
	run := func(stdin string, args ...string) {
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = tmp, append(os.Environ(), "CALLFLOW_DB="+db)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			log.Fatalf("callflow %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("", "apply", "--auto-approve", org)
	run("", "credits", "buy", "100000", "--yes")
	run("bench-password-1\n", "users", "set-password", "alice", "--domain", "127.0.0.1")

	// The carrier: SIPp's stock UAS answers every INVITE.
	carrier := background(tmp, "sipp", "-sn", "uas", "-i", "127.0.0.2", "-p", strconv.Itoa(carrierPort), "-buff_size", "4194304", "-bg")
	defer carrier()

	sipPort, httpPort := freePort("127.0.0.1"), freePort("127.0.0.1")
	serve := exec.Command(bin, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", sipPort), "--http", fmt.Sprintf("127.0.0.1:%d", httpPort),
		"--rtp-ports", "20000-29999", "--grace", "5s")
	serve.Dir, serve.Env = tmp, append(os.Environ(), "CALLFLOW_DB="+db)
	logs, _ := os.Create(filepath.Join(tmp, "serve.log"))
	serve.Stdout, serve.Stderr = logs, logs
	must(serve.Start())
	defer func() {
		serve.Process.Signal(os.Interrupt)
		serve.Wait()
		if os.Getenv("BENCH_DEBUG") != "" {
			b, _ := os.ReadFile(logs.Name())
			log.Printf("serve's log:\n%s", b)
		}
	}()
	waitReady(fmt.Sprintf("http://127.0.0.1:%d/readyz", httpPort))

	total := 0
	fmt.Printf("%-6s %-34s %-34s\n", "rate", "through callflow: ok/failed, took", "carrier directly: ok/failed, took")
	for _, f := range strings.Split(*rates, ",") {
		rate, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			log.Fatal(err)
		}
		okS, failS, dS := runUAC(tmp, []string{"-sf", filepath.Join(dir, "uac_auth.xml")}, fmt.Sprintf("127.0.0.1:%d", sipPort), rate, *seconds, *hold)
		okD, failD, dD := runUAC(tmp, []string{"-sn", "uac"}, fmt.Sprintf("127.0.0.2:%d", carrierPort), rate, *seconds, *hold)
		fmt.Printf("%-6d %7d/%-6d in %-16s %7d/%-6d in %-16s\n", rate, okS, failS, dS.Round(time.Millisecond), okD, failD, dD.Round(time.Millisecond))
		total += okS
	}
	// Every call SIPp counts as a success was answered by the carrier
	// through the server: the history agrees.
	list := exec.Command(bin, "calls", "list", "--type", "outgoing", "--format", "csv")
	list.Dir, list.Env = tmp, append(os.Environ(), "CALLFLOW_DB="+db)
	out, err := list.Output()
	if err != nil {
		log.Fatalf("calls list: %v", err)
	}
	connected := strings.Count(string(out), ",connected,")
	fmt.Printf("history: %d outgoing calls connected, of %d SIPp saw answered\n", connected, total)
}

var (
	successRE = regexp.MustCompile(`Successful call\s+\|\s+\d+\s+\|\s+(\d+)`)
	failRE    = regexp.MustCompile(`Failed call\s+\|\s+\d+\s+\|\s+(\d+)`)
)

// runUAC places rate calls a second for seconds with SIPp, and returns
// its totals and how long it took.
func runUAC(dir string, scenario []string, target string, rate, seconds, hold int) (ok, failed int, took time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds+60)*time.Second)
	defer cancel()
	args := append(scenario, "-s", "+442071234567", "-i", "127.0.0.1", "-p", strconv.Itoa(freePort("127.0.0.1")), "-r", strconv.Itoa(rate),
		"-m", strconv.Itoa(rate*seconds), "-l", strconv.Itoa(rate*5), "-d", strconv.Itoa(hold), "-timeout", strconv.Itoa(seconds+40)+"s",
		"-buff_size", "4194304", "-nostdin", target)
	if os.Getenv("BENCH_DEBUG") != "" {
		args = append(args[:len(args)-1], "-trace_msg", target)
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, "sipp", args...)
	cmd.Dir = dir
	out, _ := cmd.CombinedOutput()
	took = time.Since(start)
	m1, m2 := successRE.FindSubmatch(out), failRE.FindSubmatch(out)
	if m1 == nil || m2 == nil {
		log.Fatalf("sipp's output has no totals:\n%s", out)
	}
	ok, _ = strconv.Atoi(string(m1[1]))
	failed, _ = strconv.Atoi(string(m2[1]))
	if failed > 0 && os.Getenv("BENCH_DEBUG") != "" {
		log.Printf("sipp %s:\n%s", strings.Join(args, " "), out)
		msgs, _ := filepath.Glob(filepath.Join(dir, "*_messages.log"))
		for _, m := range msgs {
			b, _ := os.ReadFile(m)
			log.Printf("%s:\n%s", m, b)
		}
	}
	return ok, failed, took
}

// background starts a SIPp with -bg and returns how to stop it.
func background(dir string, name string, args ...string) func() {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, _ := cmd.CombinedOutput() // -bg exits 99 once the child runs
	m := regexp.MustCompile(`PID=\[(\d+)\]`).FindSubmatch(out)
	if m == nil {
		log.Fatalf("%s did not start: %s", name, out)
	}
	pid, _ := strconv.Atoi(string(m[1]))
	return func() {
		if p, err := os.FindProcess(pid); err == nil {
			p.Kill() //nolint:errcheck // the process we started, by its pid
		}
	}
}

func waitReady(url string) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond) // polling a process that is starting
	}
	log.Fatalf("serve did not get ready at %s", url)
}

// freePort returns a UDP port free on ip a moment ago.
func freePort(ip string) int {
	probe, err := net.ListenPacket("udp", ip+":0")
	if err != nil {
		log.Fatal(err)
	}
	defer probe.Close()
	return probe.LocalAddr().(*net.UDPAddr).Port
}

// silence is a WAV file of a second of silence, 8 kHz mono.
func silence() []byte {
	const n = 8000
	b := []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data")
	size := 2 * n
	b = append(b, byte(size), byte(size>>8), byte(size>>16), byte(size>>24))
	b = append(b, make([]byte, size)...)
	total := len(b) - 8
	b[4], b[5], b[6], b[7] = byte(total), byte(total>>8), byte(total>>16), byte(total>>24)
	return b
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
