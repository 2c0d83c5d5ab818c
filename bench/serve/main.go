// Command serve measures callflow serve under a SIPp load, beside SIPp's
// own do-nothing responder (sipp -sn uas) in the same run:
//
//	go run ./bench/serve [-rates 1000,1600,2000,2400,2800,3200,3600,4000,5000,6000,7000,8000]
//	    [-calls-per-rate 10] [-repeat 3] [-only serve|uas]
//	    [-mem-seconds 30] [-mem-rate R] [-concurrent 1000]
//	    [-pprof DIR] [-bin PATH] [-serve-env KEY=VALUE,...] [-timeout 60m]
//
// Everything runs on loopback (127.0.0.1) and ends within -timeout (each
// SIPp run within 300 s, each wait for the server within 180 s).
//
// Rates. At each rate in turn it places calls-per-rate × rate calls of
// half a second to the acme support line (the call is answered, metered
// and recorded, and RTP leaves every 20 ms for its whole life), then the
// same to `sipp -sn uas`, then it goes to the next rate: serve and the
// responder alternate, so that both see the same machine. A rate is
// sustained when its run had 0 failed calls and kept up: SIPp caps the
// calls in progress at 4 s worth, so a responder that answers slowly
// stretches the run, and a run that took more than 10% longer than
// calls ÷ rate (plus a second for SIPp's last calls and exit) did not
// sustain its rate. A pass stops loading either one at its first rate not
// sustained. Before the first pass, 3 s of calls at the first rate warm
// each one up, uncounted. After each serve run it waits (up to 60 s) for
// serve's last calls to end, and for serve to go quiet (under 3% of a
// core over a second, at least 3 s), so that it takes no CPU from the
// responder's run; each SIPp caller has a SIP port of its own, away from
// serve's late retransmissions. The whole pass is made -repeat times (3);
// the report gives, for each rate, the median over the passes of the
// calls a second achieved, the failed calls and the CPU per call, and how
// many passes sustained it; then each one's highest sustained rate in
// every pass, their medians, and the ratio of the medians next to the
// ratio within each pass. Serve's peak RSS in each run includes what the
// runs before it left.
//
// CPU per call. Before and after each run it reads utime+stime of the
// serve process, and of the `sipp -sn uas` process, from /proc/PID/stat,
// and divides the difference by the calls SIPp completed; serve's second
// reading is taken once its last call has ended and it has gone quiet.
// The SIPp caller's own CPU (its rusage) is reported too. The ratio of
// CPU per call, at the highest rate both sustained in every pass, is
// moved less by the machine's noise than the ceilings are.
//
// Memory after a load. Once the passes are done and the server has
// settled, it loads serve for -mem-seconds (30) at -mem-rate (by default
// serve's median sustained rate), sampling serve's VmRSS every 100 ms and
// its heap in use (/metrics) every second, and reports their peaks and
// VmHWM (the process's peak since it started); then the heap in use and
// RSS right after the load, 10, 30 and 60 s later, and once settled (back
// within half again plus 32 MiB, of the heap before the load). With -pprof
// DIR it starts serve with --pprof and saves heap profiles there
// (`go tool pprof -sample_index=inuse_space`): heap-after (as of the last
// GC before the load ended; heap-after.txt adds the runtime's MemStats),
// heap-after-gc (what is live once the last call has ended; this forces a
// GC, so the readings after it show the live heap, not what a server left
// alone holds) and heap-settled. -repeat 0 skips the passes, to measure
// memory alone.
//
// Per call. Then it holds -concurrent calls up at once and reads, from
// serve's /metrics, the goroutines and heap per concurrent call above the
// idle server's (measured once the server has settled after the load;
// the busy heap includes garbage not yet collected, so it is an upper
// bound).
//
// -bin runs a callflow binary built elsewhere (to measure a change to
// the server), and -serve-env sets serve's environment (GOGC=100,
// GOMEMLIMIT=768MiB) to measure the garbage collector's settings.
//
// It needs sipp (Debian's sip-tester) and espeak-ng.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	servePort = 15170
	uasPort   = 15171
	httpAddr  = "127.0.0.1:18170"
	loopback  = "127.0.0.1"
	clkTck    = 100 // USER_HZ: /proc's clock ticks a second on Linux
	// sippBuffer is the SIPp sockets' buffer size: with SIPp's own
	// (64 KiB, 128 KiB by the kernel's count) the responder drops
	// datagrams in a burst and fails calls from 2,000 calls a second.
	// The kernel caps it at net.core.rmem_max.
	sippBuffer = "4194304"
)

type options struct {
	rates      []int
	perRate    int
	repeat     int
	concurrent int
	only       string
	memSeconds int
	memRate    int
	pprofDir   string
	bin        string
	serveEnv   []string
}

func main() {
	var o options
	rates := flag.String("rates", "1000,1600,2000,2400,2800,3200,3600,4000,5000,6000,7000,8000", "call rates to try, in calls per second, in increasing order")
	flag.IntVar(&o.perRate, "calls-per-rate", 10, "seconds of calls at each rate (calls = rate × this)")
	flag.IntVar(&o.repeat, "repeat", 3, "passes over the rates; the report gives their median (0: none, only the memory and per-call figures)")
	flag.IntVar(&o.concurrent, "concurrent", 1000, "calls held up at once for the memory and goroutine figures; 0 for none")
	flag.StringVar(&o.only, "only", "", `load only "serve" or only "uas" (to find one's ceiling without the other's runs)`)
	flag.IntVar(&o.memSeconds, "mem-seconds", 30, "seconds of load at serve's sustained rate for the memory-after-load figures; 0 for none")
	flag.IntVar(&o.memRate, "mem-rate", 0, "calls a second of the memory load (default: serve's median sustained rate)")
	flag.StringVar(&o.pprofDir, "pprof", "", "save serve's heap profiles after the memory load in this directory")
	flag.StringVar(&o.bin, "bin", "", "run this callflow binary instead of building ./cmd/callflow")
	env := flag.String("serve-env", "", "comma-separated KEY=VALUE settings for serve's environment, such as GOGC=100,GOMEMLIMIT=512MiB")
	timeout := flag.Duration("timeout", 60*time.Minute, "give up after this long")
	flag.Parse()
	for _, f := range strings.Split(*rates, ",") {
		r, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || r <= 0 {
			fmt.Fprintf(os.Stderr, "bench: -rates: %q is not a positive number\n", f)
			os.Exit(2)
		}
		o.rates = append(o.rates, r)
	}
	if !sort.IntsAreSorted(o.rates) || o.perRate <= 0 || o.repeat < 0 {
		fmt.Fprintln(os.Stderr, "bench: -rates must increase, -calls-per-rate be positive and -repeat not negative")
		os.Exit(2)
	}
	if o.only != "" && o.only != "serve" && o.only != "uas" {
		fmt.Fprintln(os.Stderr, `bench: -only: "serve" or "uas"`)
		os.Exit(2)
	}
	if *env != "" {
		for _, kv := range strings.Split(*env, ",") {
			if !strings.Contains(kv, "=") {
				fmt.Fprintf(os.Stderr, "bench: -serve-env: %q is not KEY=VALUE\n", kv)
				os.Exit(2)
			}
			o.serveEnv = append(o.serveEnv, strings.TrimSpace(kv))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// A target is what the SIPp callers load.
type target struct {
	name string
	key  string // for -only
	port int
	sp   int // the callers' own SIP port
	mp   int // the callers' media port
	pid  int
}

// A result is one run at one rate.
type result struct {
	failed, ok int
	achieved   float64 // calls a second
	sustained  bool
	cpu        float64 // seconds of the target's CPU
	callerCPU  float64 // seconds of the SIPp caller's CPU
	peakRSS    float64 // serve only: bytes, sampled during the run
	leftUp     int     // serve only: calls still up 60 s after the run
}

func (r result) cpuPerCall() float64       { return perCall(r.cpu, r.ok) }
func (r result) callerCPUPerCall() float64 { return perCall(r.callerCPU, r.ok) }

func perCall(cpu float64, calls int) float64 {
	if calls == 0 {
		return 0
	}
	return cpu / float64(calls)
}

func run(ctx context.Context, o options) error {
	for _, tool := range []string{"sipp", "espeak-ng"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed: apt-get install sip-tester espeak-ng", tool)
		}
	}
	dir, err := os.MkdirTemp("", "callflow-bench-serve-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := o.bin
	if bin == "" {
		bin = filepath.Join(dir, "callflow")
		step("building callflow")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/callflow").CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	db := filepath.Join(dir, "callflow.db")
	env := append(os.Environ(), "CALLFLOW_DB="+db)
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	args := []string{"serve", "examples/acme", "--listen", fmt.Sprintf("%s:%d", loopback, servePort),
		"--http", httpAddr, "--rtp-ports", "30000-39999", "--grace", "5s"}
	if o.pprofDir != "" {
		args = append(args, "--pprof")
		if err := os.MkdirAll(o.pprofDir, 0o755); err != nil {
			return err
		}
	}
	serve := exec.Command(bin, args...)
	serve.Env, serve.Stdout, serve.Stderr = append(env, o.serveEnv...), logf, logf
	if err := serve.Start(); err != nil {
		return err
	}
	defer func() {
		serve.Process.Signal(os.Interrupt)
		serve.Wait()
	}()
	if err := waitReady(ctx); err != nil {
		return err
	}
	idle, err := metrics() // before any call: the idle server
	if err != nil {
		return err
	}
	buy := exec.CommandContext(ctx, bin, "credits", "buy", "100000", "--yes")
	buy.Env = env
	if out, err := buy.CombinedOutput(); err != nil {
		return fmt.Errorf("credits buy: %v\n%s", err, out)
	}

	uas := exec.Command("sipp", "-sn", "uas", "-i", loopback, "-p", strconv.Itoa(uasPort), "-buff_size", sippBuffer, "-nostdin")
	if err := uas.Start(); err != nil {
		return fmt.Errorf("sipp -sn uas: %v", err)
	}
	defer func() { uas.Process.Kill(); uas.Wait() }()

	targets := []*target{
		{name: "callflow serve", key: "serve", port: servePort, sp: 15172, mp: 43500, pid: serve.Process.Pid},
		{name: "sipp -sn uas", key: "uas", port: uasPort, sp: 15173, mp: 43600, pid: uas.Process.Pid},
	}
	if o.only != "" {
		for _, t := range targets {
			if t.key == o.only {
				targets = []*target{t}
				break
			}
		}
	}
	// results[target][rate] holds one result per pass that reached it.
	results := map[string]map[int][]result{}
	ceilings := map[string][]int{} // per pass
	for _, t := range targets {
		results[t.key] = map[int][]result{}
	}
	if o.repeat > 0 {
		// A first load finds a cold server (an empty heap the collector
		// runs often on, a fresh database): warm both up, uncounted.
		for _, t := range targets {
			step(fmt.Sprintf("warming up %s: %d calls at %d calls/s, not counted", t.name, o.rates[0]*3, o.rates[0]))
			if _, err := loadRun(ctx, t, o.rates[0], o.rates[0]*3, 3); err != nil {
				return err
			}
		}
	}
	for pass := 1; pass <= o.repeat; pass++ {
		alive := map[string]bool{}
		best := map[string]int{}
		for _, t := range targets {
			alive[t.key] = true
		}
		for _, r := range o.rates {
			for _, t := range targets {
				if !alive[t.key] {
					continue
				}
				step(fmt.Sprintf("pass %d/%d, %s: %d calls at %d calls/s", pass, o.repeat, t.name, r*o.perRate, r))
				res, err := loadRun(ctx, t, r, r*o.perRate, o.perRate)
				if err != nil {
					return err
				}
				fmt.Fprintf(os.Stderr, "  %d failed calls; %.0f calls/s achieved; CPU %.1f µs a call (caller %.1f µs)", res.failed, res.achieved,
					res.cpuPerCall()*1e6, res.callerCPUPerCall()*1e6)
				if t.key == "serve" {
					fmt.Fprintf(os.Stderr, "; peak RSS %.0f MiB", res.peakRSS/(1<<20))
				}
				fmt.Fprintln(os.Stderr)
				results[t.key][r] = append(results[t.key][r], res)
				if !res.sustained {
					alive[t.key] = false
					continue
				}
				best[t.key] = r
			}
		}
		for _, t := range targets {
			ceilings[t.key] = append(ceilings[t.key], best[t.key])
		}
	}
	if o.repeat > 0 {
		report(o, targets, results, ceilings)
	}

	if o.memSeconds > 0 && (o.only == "" || o.only == "serve") {
		rate := o.memRate
		if rate == 0 {
			rate = median(ceilings["serve"])
		}
		if rate == 0 {
			rate = o.rates[0]
		}
		if err := memoryAfterLoad(ctx, o, targets[0], idle, rate); err != nil {
			return err
		}
	}
	if o.concurrent <= 0 || (o.only != "" && o.only != "serve") {
		return nil
	}
	return holdCalls(ctx, o.concurrent, idle)
}

// loadRun places calls calls at rate to t and measures the run.
func loadRun(ctx context.Context, t *target, rate, calls, seconds int) (result, error) {
	var res result
	cpu0, err := cpuTime(t.pid)
	if err != nil {
		return res, err
	}
	var peak rssSampler
	if t.key == "serve" {
		peak.start(t.pid)
	}
	start := time.Now()
	out, callerCPU, err := sipp(ctx, t.port, t.sp, t.mp, rate, calls, rate*4, 500)
	took := time.Since(start)
	if err != nil {
		peak.stop()
		return res, err
	}
	if t.key == "serve" {
		// A rate serve could not keep up with leaves calls running: let
		// them end, so that its CPU is all counted and none is taken
		// from the responder's next run.
		if res.leftUp, err = waitCalls(ctx, 60*time.Second); err != nil {
			peak.stop()
			return res, err
		}
		res.peakRSS = peak.stop()
		// Then let it finish what the load left (a collection under way,
		// its sweep), so that the responder's run has the cores to itself.
		if err := waitQuiet(ctx, t.pid); err != nil {
			return res, err
		}
	}
	cpu1, err := cpuTime(t.pid)
	if err != nil {
		return res, err
	}
	var ok bool
	if res.failed, ok = counter(out, "Failed call"); !ok {
		return res, fmt.Errorf("sipp printed no statistics:\n%s", out)
	}
	res.ok, _ = counter(out, "Successful call")
	res.achieved = float64(calls) / took.Seconds()
	// The second is SIPp's last calls and exit.
	res.sustained = res.failed == 0 && took <= time.Duration(float64(seconds)*1.1*float64(time.Second))+time.Second
	res.cpu, res.callerCPU = cpu1-cpu0, callerCPU
	return res, nil
}

// sipp runs a SIPp caller (-sn uac) against port and returns its output
// and the CPU it used.
func sipp(ctx context.Context, port, sipPort, mediaPort, rate, calls, limit, durationMs int) (string, float64, error) {
	cmd := exec.CommandContext(ctx, "sipp", "-sn", "uac", fmt.Sprintf("%s:%d", loopback, port), "-i", loopback, "-p", strconv.Itoa(sipPort), "-buff_size", sippBuffer, "-s", "+18005550199",
		"-r", strconv.Itoa(rate), "-m", strconv.Itoa(calls), "-l", strconv.Itoa(limit), "-d", strconv.Itoa(durationMs),
		"-mp", strconv.Itoa(mediaPort), "-timeout", "300", "-nostdin")
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return "", 0, err
	}
	if ctx.Err() != nil {
		return "", 0, ctx.Err()
	}
	var cpu float64
	if cmd.ProcessState != nil {
		cpu = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	}
	return string(out), cpu, nil
}

func report(o options, targets []*target, results map[string]map[int][]result, ceilings map[string][]int) {
	fmt.Printf("half-second calls, %d s at each rate, %d passes alternating serve and the responder; medians of the passes\n", o.perRate, o.repeat)
	fmt.Printf("(calls/s achieved, failed calls, sustained in how many passes, CPU per call of the responder and of the SIPp caller):\n")
	for _, t := range targets {
		fmt.Printf("  %s\n", t.name)
		for _, r := range o.rates {
			rs := results[t.key][r]
			if len(rs) == 0 {
				continue
			}
			var ach, cpu, caller []float64
			var failed []int
			n := 0
			for _, x := range rs {
				ach, failed = append(ach, x.achieved), append(failed, x.failed)
				cpu, caller = append(cpu, x.cpuPerCall()*1e6), append(caller, x.callerCPUPerCall()*1e6)
				if x.sustained {
					n++
				}
			}
			line := fmt.Sprintf("    %5d/s: %5.0f achieved, %5d failed, sustained %d/%d, CPU %5.0f µs/call (caller %3.0f µs)",
				r, medianF(ach), median(failed), n, len(rs), medianF(cpu), medianF(caller))
			if t.key == "serve" {
				var rss []float64
				for _, x := range rs {
					rss = append(rss, x.peakRSS/(1<<20))
				}
				line += fmt.Sprintf(", peak RSS %.0f MiB", medianF(rss))
				left := 0
				for _, x := range rs {
					left += x.leftUp
				}
				if left > 0 {
					line += fmt.Sprintf("; %d calls still up 60 s after, in all", left)
				}
			}
			fmt.Println(line)
		}
	}
	fmt.Printf("highest sustained rate with 0 failed calls, in each pass, and the median:\n")
	for _, t := range targets {
		fmt.Printf("  %-15s %v → %d calls/s\n", t.name, ceilings[t.key], median(ceilings[t.key]))
	}
	if len(targets) < 2 {
		return
	}
	s, u := ceilings["serve"], ceilings["uas"]
	if median(u) > 0 {
		var per []string
		for i := range s {
			if u[i] > 0 {
				per = append(per, fmt.Sprintf("%.2f", float64(s[i])/float64(u[i])))
			}
		}
		fmt.Printf("  ratio           %.2f of the medians (target ≥ 0.50); in each pass %s\n",
			float64(median(s))/float64(median(u)), strings.Join(per, ", "))
	}
	// CPU per call at the highest rate both sustained in every pass.
	for i := len(o.rates) - 1; i >= 0; i-- {
		r := o.rates[i]
		sr, ur := results["serve"][r], results["uas"][r]
		if len(sr) != o.repeat || len(ur) != o.repeat || !all(sr) || !all(ur) {
			continue
		}
		var sc, uc, ratio []float64
		for j := range sr {
			sc, uc = append(sc, sr[j].cpuPerCall()*1e6), append(uc, ur[j].cpuPerCall()*1e6)
			ratio = append(ratio, ur[j].cpuPerCall()/sr[j].cpuPerCall())
		}
		fmt.Printf("CPU per call at %d calls/s (the highest rate both sustained in every pass): serve %.0f µs, responder %.0f µs;\n", r, medianF(sc), medianF(uc))
		fmt.Printf("  responder ÷ serve %.2f (median; %s in the passes)\n", medianF(ratio), floats(ratio))
		break
	}
}

func all(rs []result) bool {
	for _, r := range rs {
		if !r.sustained {
			return false
		}
	}
	return true
}

// memoryAfterLoad loads serve for o.memSeconds at rate and reports its
// memory during, right after and after the load.
func memoryAfterLoad(ctx context.Context, o options, t *target, idle map[string]float64, rate int) error {
	step("waiting for the server to settle after the passes")
	settled, err := settle(ctx, idle, 180*time.Second)
	if err != nil {
		return err
	}
	calls := rate * o.memSeconds
	step(fmt.Sprintf("memory: %d calls at %d calls/s", calls, rate))
	cpu0, err := cpuTime(t.pid)
	if err != nil {
		return err
	}
	var peak rssSampler
	peak.start(t.pid)
	// The heap in use, from /metrics, once a second during the load.
	heapPeak, heapDone := 0.0, make(chan struct{})
	var heapWG sync.WaitGroup
	heapWG.Add(1)
	go func() {
		defer heapWG.Done()
		for {
			if m, err := metrics(); err == nil && m["go_memstats_heap_inuse_bytes"] > heapPeak {
				heapPeak = m["go_memstats_heap_inuse_bytes"]
			}
			select {
			case <-time.After(time.Second):
			case <-heapDone:
				return
			}
		}
	}()
	start := time.Now()
	out, _, err := sipp(ctx, t.port, t.sp, t.mp, rate, calls, rate*4, 500)
	close(heapDone)
	heapWG.Wait()
	if err != nil {
		peak.stop()
		return err
	}
	end := time.Now()
	after, err := metrics()
	if err != nil {
		peak.stop()
		return err
	}
	rssAfter, _ := procStatus(t.pid, "VmRSS")
	anonAfter, _ := procStatus(t.pid, "RssAnon")
	if o.pprofDir != "" {
		if err := saveProfile(ctx, "heap", filepath.Join(o.pprofDir, "heap-after.pb.gz")); err != nil {
			peak.stop()
			return err
		}
		// The text form ends with the runtime's MemStats (NextGC, HeapIdle…).
		if err := saveProfile(ctx, "heap?debug=1", filepath.Join(o.pprofDir, "heap-after.txt")); err != nil {
			peak.stop()
			return err
		}
	}
	failed, _ := counter(out, "Failed call")
	ok, _ := counter(out, "Successful call")
	leftUp, err := waitCalls(ctx, 60*time.Second)
	if err != nil {
		peak.stop()
		return err
	}
	peakRSS := peak.stop()
	cpu1, err := cpuTime(t.pid)
	if err != nil {
		return err
	}
	hwm, _ := procStatus(t.pid, "VmHWM")
	if o.pprofDir != "" {
		if err := saveProfile(ctx, "heap?gc=1", filepath.Join(o.pprofDir, "heap-after-gc.pb.gz")); err != nil {
			return err
		}
	}
	fmt.Printf("memory after a load of %d half-second calls at %d calls/s (%d failed; %.0f calls/s achieved; CPU %.0f µs a call), serve:\n",
		calls, rate, failed, float64(calls)/end.Sub(start).Seconds(), perCall(cpu1-cpu0, ok)*1e6)
	if leftUp > 0 {
		fmt.Printf("  %d calls still up 60 s after the load\n", leftUp)
	}
	fmt.Printf("  during the load   peak RSS %4.0f MiB (VmHWM since start %.0f MiB), peak heap in use %.1f MiB (read once a second)\n",
		peakRSS/(1<<20), hwm/(1<<20), heapPeak/(1<<20))
	fmt.Printf("  right after       heap in use %6.1f MiB, RSS %4.0f MiB (%.0f MiB anonymous), %v goroutines\n",
		after["go_memstats_heap_inuse_bytes"]/(1<<20), rssAfter/(1<<20), anonAfter/(1<<20), after["go_goroutines"])
	limit := settled["go_memstats_heap_inuse_bytes"]*1.5 + 32<<20
	for _, at := range []time.Duration{10 * time.Second, 30 * time.Second, 60 * time.Second} {
		if err := sleep(ctx, time.Until(end.Add(at))); err != nil {
			return err
		}
		m, err := metrics()
		if err != nil {
			return err
		}
		rss, _ := procStatus(t.pid, "VmRSS")
		fmt.Printf("  %2.0f s after        heap in use %6.1f MiB, RSS %4.0f MiB\n",
			at.Seconds(), m["go_memstats_heap_inuse_bytes"]/(1<<20), rss/(1<<20))
	}
	m, err := settle(ctx, settled, 180*time.Second)
	if err != nil {
		return err
	}
	rss, _ := procStatus(t.pid, "VmRSS")
	fmt.Printf("  settled %3.0f s after heap in use %6.1f MiB, RSS %4.0f MiB (heap before the load %.1f MiB; settled: within %.0f MiB)\n",
		time.Since(end).Seconds(), m["go_memstats_heap_inuse_bytes"]/(1<<20), rss/(1<<20),
		settled["go_memstats_heap_inuse_bytes"]/(1<<20), limit/(1<<20))
	if o.pprofDir != "" {
		if err := saveProfile(ctx, "heap", filepath.Join(o.pprofDir, "heap-settled.pb.gz")); err != nil {
			return err
		}
		fmt.Printf("  heap profiles in %s: heap-after (as of the last GC; .txt with MemStats), heap-after-gc, heap-settled\n", o.pprofDir)
	}
	return nil
}

// holdCalls holds concurrent calls up at once and reports goroutines and
// heap per call.
func holdCalls(ctx context.Context, concurrent int, idle map[string]float64) error {
	// sipgo keeps each finished transaction for RFC 3261's timers (32 s
	// for an INVITE's), so the heap stays high for a while after a load.
	// Wait for it to come back before the idle reading the hold phase is
	// measured against.
	step("waiting for the server to settle after the load")
	idle, err := settle(ctx, idle, 180*time.Second)
	if err != nil {
		return err
	}
	step(fmt.Sprintf("holding %d calls up at once", concurrent))
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hold := exec.CommandContext(hctx, "sipp", "-sn", "uac", fmt.Sprintf("%s:%d", loopback, servePort), "-i", loopback, "-s", "+18005550199",
		"-r", "200", "-m", strconv.Itoa(concurrent), "-l", strconv.Itoa(concurrent), "-d", "600000",
		"-p", "15174", "-buff_size", sippBuffer, "-mp", "43700", "-timeout", "900", "-nostdin")
	if err := hold.Start(); err != nil {
		return err
	}
	defer hold.Wait()
	var busy map[string]float64
	for deadline := time.Now().Add(120 * time.Second); ; {
		if busy, err = metrics(); err != nil {
			return err
		}
		if int(busy["callflow_calls_active"]) >= concurrent {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %v of %d calls were up after 120 s", busy["callflow_calls_active"], concurrent)
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil { // polling the server's gauge
			return err
		}
	}
	n := float64(concurrent)
	fmt.Printf("at %d concurrent calls with media (RTP every 20 ms each):\n", concurrent)
	fmt.Printf("  goroutines per call  %.1f (%v idle, %v busy)\n",
		(busy["go_goroutines"]-idle["go_goroutines"])/n, idle["go_goroutines"], busy["go_goroutines"])
	fmt.Printf("  heap per call        %.1f KiB (%.1f MiB idle, %.1f MiB busy)\n",
		(busy["go_memstats_heap_inuse_bytes"]-idle["go_memstats_heap_inuse_bytes"])/n/1024,
		idle["go_memstats_heap_inuse_bytes"]/(1<<20), busy["go_memstats_heap_inuse_bytes"]/(1<<20))
	cancel()
	return nil
}

// settle waits until no call is up and the heap is back near where it
// was before (within half again plus 32 MiB), and returns the server's
// metrics then.
func settle(ctx context.Context, before map[string]float64, within time.Duration) (map[string]float64, error) {
	limit := before["go_memstats_heap_inuse_bytes"]*1.5 + 32<<20
	deadline := time.Now().Add(within)
	for {
		m, err := metrics()
		if err != nil {
			return nil, err
		}
		if m["callflow_calls_active"] == 0 && m["go_memstats_heap_inuse_bytes"] <= limit {
			return m, nil
		}
		if time.Now().After(deadline) {
			// Go on: the figures that follow say what was left.
			fmt.Fprintf(os.Stderr, "  warning: the server did not settle in %v after the load: %v calls up, heap %.0f MiB (idle was %.0f MiB)\n",
				within, m["callflow_calls_active"], m["go_memstats_heap_inuse_bytes"]/(1<<20), before["go_memstats_heap_inuse_bytes"]/(1<<20))
			return m, nil
		}
		if err := sleep(ctx, time.Second); err != nil { // polling the server's gauges
			return nil, err
		}
	}
}

// waitCalls waits until serve has no call up, for at most within, and
// returns how many calls were still up then. A call whose caller gave up
// (SIPp counts it failed) may go on until its flow ends.
func waitCalls(ctx context.Context, within time.Duration) (int, error) {
	deadline := time.Now().Add(within)
	for {
		m, err := metrics()
		if err != nil {
			return 0, err
		}
		up := int(m["callflow_calls_active"])
		if up == 0 {
			return 0, nil
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "  warning: serve still had %d calls up %v after the load\n", up, within)
			return up, nil
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil { // polling the server's gauge
			return 0, err
		}
	}
}

// waitQuiet waits, at least 3 s and at most 60 s, until the process pid
// used less than 3% of a core over the last second.
func waitQuiet(ctx context.Context, pid int) error {
	start := time.Now()
	prev, err := cpuTime(pid)
	if err != nil {
		return err
	}
	for {
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
		now, err := cpuTime(pid)
		if err != nil {
			return err
		}
		if (now-prev < 0.03 && time.Since(start) >= 3*time.Second) || time.Since(start) > 60*time.Second {
			return nil
		}
		prev = now
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// cpuTime reads a process's utime+stime, in seconds, from /proc/PID/stat.
func cpuTime(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count fields
	// from the last ')', which is followed by field 3 (the state).
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseUint(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q, stime %q", pid, f[11], f[12])
	}
	return float64(utime+stime) / clkTck, nil
}

// procStatus reads a kB field of /proc/PID/status (VmRSS, VmHWM), in bytes.
func procStatus(pid int, field string) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, v, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/status: %s %q", pid, field, v)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, field)
}

// An rssSampler tracks a process's highest VmRSS, sampled every 100 ms.
type rssSampler struct {
	done chan struct{}
	wg   sync.WaitGroup
	peak float64
}

func (s *rssSampler) start(pid int) {
	s.done = make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := procStatus(pid, "VmRSS"); err == nil && v > s.peak {
				s.peak = v
			}
			select {
			case <-t.C:
			case <-s.done:
				return
			}
		}
	}()
}

// stop ends the sampling and returns the peak (0 if it never started).
func (s *rssSampler) stop() float64 {
	if s.done == nil {
		return 0
	}
	close(s.done)
	s.wg.Wait()
	s.done = nil
	return s.peak
}

// counter reads the cumulative value of a row of SIPp's final statistics.
func counter(out, name string) (int, bool) {
	v, found := 0, false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(strings.TrimSpace(line), name) {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) < 3 {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSpace(f[2])); err == nil {
			v, found = n, true
		}
	}
	return v, found
}

func waitReady(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("serve was not ready in 60 s: %v", err)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil { // polling a starting server
			return err
		}
	}
}

// metrics reads serve's /metrics, unlabelled samples only.
func metrics() (map[string]float64, error) {
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 || strings.HasPrefix(f[0], "#") || strings.Contains(f[0], "{") {
			continue
		}
		if v, err := strconv.ParseFloat(f[1], 64); err == nil {
			out[f[0]] = v
		}
	}
	return out, sc.Err()
}

// saveProfile saves one of serve's /debug/pprof/ profiles to path.
func saveProfile(ctx context.Context, name, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+httpAddr+"/debug/pprof/"+name, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/debug/pprof/%s: %s", name, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func median(xs []int) int {
	if len(xs) == 0 {
		return 0
	}
	s := append([]int(nil), xs...)
	sort.Ints(s)
	return s[len(s)/2]
}

func medianF(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

func floats(xs []float64) string {
	var s []string
	for _, x := range xs {
		s = append(s, fmt.Sprintf("%.2f", x))
	}
	return strings.Join(s, ", ")
}

func step(s string) { fmt.Fprintf(os.Stderr, "%s: %s…\n", time.Now().Format("15:04:05"), s) }
