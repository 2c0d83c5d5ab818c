// Command register measures the registrar under load: SIPp registers with
// digest authentication (REGISTER, 401, REGISTER with credentials, 200)
// at increasing rates against callflow's registrar over a SQLite store,
// and, in the same run, registers without authentication against SIPp
// answering every REGISTER with 200 (uas_register.xml), the do-nothing
// baseline. For each rate it prints the registrations that succeeded
// and failed on each side; the sustained rate is the highest with 0
// failures. Everything runs on 127.0.0.1, for -seconds per rate.
//
//	go run ./bench/register -rates 200,400,800 -seconds 5
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"

	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony/registrar"
)

type directory struct{}

func (directory) Known(user string) bool { return user == "alice" }
func (directory) Domain() string         { return "127.0.0.1" }

func main() {
	rates := flag.String("rates", "200,400,800", "registrations per second to try, in order")
	seconds := flag.Int("seconds", 5, "how long each rate runs")
	flag.Parse()
	_, self, _, _ := runtime.Caller(0)
	dir := filepath.Dir(self)
	tmp, err := os.MkdirTemp("", "bench-register")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(tmp, "callflow.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	if err := st.SetCredential(ctx, registrar.NewCredential("alice", "127.0.0.1", "bench-password-1")); err != nil {
		log.Fatal(err)
	}
	reg := registrar.New(st, directory{}, registrar.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		registrar.WithBanPolicy(registrar.BanPolicy{})) // one source registers thousands of times
	ua, _ := sipgo.NewUA()
	srv, _ := sipgo.NewServer(ua)
	srv.OnRegister(reg.Handle)
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.ServeUDP(conn)
	defer conn.Close()
	ours := conn.LocalAddr().String()

	// The baseline responder, on a port of its own.
	respPort := freePort()
	uas := exec.Command("sipp", "-sf", filepath.Join(dir, "uas_register.xml"), "-i", "127.0.0.1", "-p", strconv.Itoa(respPort), "-bg", "-buff_size", "4194304")
	uas.Dir = tmp
	out, _ := uas.CombinedOutput() // -bg exits 99 once the child runs
	m := regexp.MustCompile(`PID=\[(\d+)\]`).FindSubmatch(out)
	if m == nil {
		log.Fatalf("sipp responder did not start: %s", out)
	}
	pid, _ := strconv.Atoi(string(m[1]))
	if p, err := os.FindProcess(pid); err == nil {
		defer p.Kill() //nolint:errcheck // the responder we started, by its pid
	}

	fmt.Printf("%-6s %-28s %-28s\n", "rate", "registrar (digest): ok/failed", "sipp 200 responder: ok/failed")
	for _, f := range strings.Split(*rates, ",") {
		rate, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			log.Fatal(err)
		}
		okR, failR, dR := runUAC(tmp, filepath.Join(dir, "uac_register.xml"), ours, rate, *seconds)
		okB, failB, dB := runUAC(tmp, filepath.Join(dir, "uac_plain.xml"), "127.0.0.1:"+strconv.Itoa(respPort), rate, *seconds)
		fmt.Printf("%-6d %6d/%-6d in %-12s %6d/%-6d in %-12s\n", rate, okR, failR, dR.Round(time.Millisecond), okB, failB, dB.Round(time.Millisecond))
	}
}

var (
	successRE = regexp.MustCompile(`Successful call\s+\|\s+\d+\s+\|\s+(\d+)`)
	failRE    = regexp.MustCompile(`Failed call\s+\|\s+\d+\s+\|\s+(\d+)`)
)

func runUAC(dir, scenario, target string, rate, seconds int) (ok, failed int, took time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds+30)*time.Second)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "sipp", "-sf", scenario, "-s", "alice", "-i", "127.0.0.1", "-p", strconv.Itoa(freePort()), "-r", strconv.Itoa(rate),
		"-m", strconv.Itoa(rate*seconds), "-l", strconv.Itoa(rate*5), "-timeout", strconv.Itoa(seconds+20)+"s", "-buff_size", "4194304", target)
	cmd.Dir = dir
	out, _ := cmd.CombinedOutput()
	took = time.Since(start)
	m1, m2 := successRE.FindSubmatch(out), failRE.FindSubmatch(out)
	if m1 == nil || m2 == nil {
		log.Fatalf("sipp's output has no totals:\n%s", out)
	}
	ok, _ = strconv.Atoi(string(m1[1]))
	failed, _ = strconv.Atoi(string(m2[1]))
	return ok, failed, took
}

// freePort returns a UDP port free on 127.0.0.1 a moment ago, for SIPp.
func freePort() int {
	probe, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer probe.Close()
	return probe.LocalAddr().(*net.UDPAddr).Port
}
