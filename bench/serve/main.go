// Command serve measures callflow serve under a SIPp load, beside SIPp's
// own do-nothing responder (sipp -sn uas) in the same run:
//
//	go run ./bench/serve [-rates 1000,2000,2400,2800,3200,3600,4000,5000,6000,7000,8000] [-calls-per-rate 10] [-concurrent 1000] [-only serve|uas]
//
// For each rate in turn it places calls-per-rate × rate calls of half a
// second to the acme support line (the welcome prompt plays over RTP,
// the call is metered and recorded), then the same to `sipp -sn uas`. A
// rate is sustained when its run had 0 failed calls and kept up: SIPp
// caps the calls in progress at 4 s worth, so a responder that answers
// slowly stretches the run, and a run that took more than 10% longer than
// calls ÷ rate did not sustain its rate. It reports the highest sustained
// rate of each and their ratio. Then it holds -concurrent calls up at
// once and reads, from serve's /metrics, the goroutines and heap per
// concurrent call above the idle server's (measured once the server has
// settled after the load; the
// busy heap includes garbage not yet collected, so it is an upper bound).
//
// It needs sipp (Debian's sip-tester) and espeak-ng.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	servePort = 15170
	uasPort   = 15171
	httpAddr  = "127.0.0.1:18170"
)

var only string // -only

func main() {
	rates := flag.String("rates", "1000,2000,2400,2800,3200,3600,4000,5000,6000,7000,8000", "call rates to try, in calls per second, in increasing order")
	perRate := flag.Int("calls-per-rate", 10, "seconds of calls at each rate (calls = rate × this)")
	concurrent := flag.Int("concurrent", 1000, "calls held up at once for the memory and goroutine figures")
	flag.StringVar(&only, "only", "", `load only "serve" or only "uas" (to find one's ceiling without the other's run before it)`)
	flag.Parse()
	var rs []int
	for _, f := range strings.Split(*rates, ",") {
		r, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || r <= 0 {
			fmt.Fprintf(os.Stderr, "bench: -rates: %q is not a positive number\n", f)
			os.Exit(2)
		}
		rs = append(rs, r)
	}
	if err := run(rs, *perRate, *concurrent); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(rates []int, perRate, concurrent int) error {
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
	bin := filepath.Join(dir, "callflow")
	step("building callflow")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/callflow").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "callflow.db")
	env := append(os.Environ(), "CALLFLOW_DB="+db)
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	serve := exec.Command(bin, "serve", "examples/acme", "--listen", fmt.Sprintf("127.0.0.1:%d", servePort),
		"--http", httpAddr, "--rtp-ports", "30000-39999", "--grace", "5s")
	serve.Env, serve.Stdout, serve.Stderr = env, logf, logf
	if err := serve.Start(); err != nil {
		return err
	}
	defer func() {
		serve.Process.Signal(os.Interrupt)
		serve.Wait()
	}()
	if err := waitReady(); err != nil {
		return err
	}
	idle, err := metrics() // before any call: the idle server
	if err != nil {
		return err
	}
	buy := exec.Command(bin, "credits", "buy", "100000", "--yes")
	buy.Env = env
	if out, err := buy.CombinedOutput(); err != nil {
		return fmt.Errorf("credits buy: %v\n%s", err, out)
	}

	uas := exec.Command("sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", strconv.Itoa(uasPort), "-nostdin")
	if err := uas.Start(); err != nil {
		return fmt.Errorf("sipp -sn uas: %v", err)
	}
	defer func() { uas.Process.Kill(); uas.Wait() }()

	best := map[string]int{}
	for _, target := range []struct {
		name string
		port int
		mp   int
	}{{"callflow serve", servePort, 43500}, {"sipp -sn uas", uasPort, 43600}} {
		if only != "" && !strings.Contains(target.name, only) {
			continue
		}
		for _, r := range rates {
			step(fmt.Sprintf("%s: %d calls at %d calls/s", target.name, r*perRate, r))
			start := time.Now()
			failed, err := load(target.port, target.mp, r, r*perRate)
			if err != nil {
				return err
			}
			took := time.Since(start)
			fmt.Fprintf(os.Stderr, "  %d failed calls; %.0f calls/s achieved\n", failed, float64(r*perRate)/took.Seconds())
			if failed > 0 || took > time.Duration(float64(perRate)*1.1*float64(time.Second))+time.Second {
				break // the second is SIPp's last calls and exit
			}
			best[target.name] = r
		}
		if target.port == servePort {
			// A rate serve could not keep up with leaves calls running:
			// let them end, so that they take no CPU from the responder's
			// runs.
			step("waiting for serve to finish its calls")
			if _, err := settle(idle); err != nil {
				return err
			}
		}
	}
	fmt.Printf("sustained rate with 0 failed calls (half-second calls, rates %v):\n", rates)
	fmt.Printf("  callflow serve  %4d calls/s\n", best["callflow serve"])
	fmt.Printf("  sipp -sn uas    %4d calls/s\n", best["sipp -sn uas"])
	if best["sipp -sn uas"] > 0 {
		fmt.Printf("  ratio           %.2f (target ≥ 0.50)\n", float64(best["callflow serve"])/float64(best["sipp -sn uas"]))
	}

	if concurrent <= 0 {
		return nil
	}
	// sipgo keeps each finished transaction for RFC 3261's timers (32 s
	// for an INVITE's), so the heap stays high for a while after a load.
	// Wait for it to come back before the idle reading the hold phase is
	// measured against.
	step("waiting for the server to settle after the load")
	if idle, err = settle(idle); err != nil {
		return err
	}
	step(fmt.Sprintf("holding %d calls up at once", concurrent))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hold := exec.CommandContext(ctx, "sipp", "-sn", "uac", fmt.Sprintf("127.0.0.1:%d", servePort), "-s", "+18005550199",
		"-r", "200", "-m", strconv.Itoa(concurrent), "-l", strconv.Itoa(concurrent), "-d", "600000",
		"-mp", "43700", "-timeout", "900", "-nostdin")
	if err := hold.Start(); err != nil {
		return err
	}
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
		time.Sleep(500 * time.Millisecond) // polling the server's gauge
	}
	n := float64(concurrent)
	fmt.Printf("at %d concurrent calls with media (their prompts playing):\n", concurrent)
	fmt.Printf("  goroutines per call  %.1f (%v idle, %v busy)\n",
		(busy["go_goroutines"]-idle["go_goroutines"])/n, idle["go_goroutines"], busy["go_goroutines"])
	fmt.Printf("  heap per call        %.1f KiB (%.1f MiB idle, %.1f MiB busy)\n",
		(busy["go_memstats_heap_inuse_bytes"]-idle["go_memstats_heap_inuse_bytes"])/n/1024,
		idle["go_memstats_heap_inuse_bytes"]/(1<<20), busy["go_memstats_heap_inuse_bytes"]/(1<<20))
	cancel()
	hold.Wait()
	return nil
}

// settle waits until no call is up and the heap is back near where it
// was before any call (within half again, or 8 MiB), and returns the
// server's metrics then.
func settle(before map[string]float64) (map[string]float64, error) {
	limit := before["go_memstats_heap_inuse_bytes"]*1.5 + 8<<20
	deadline := time.Now().Add(120 * time.Second)
	for {
		m, err := metrics()
		if err != nil {
			return nil, err
		}
		if m["callflow_calls_active"] == 0 && m["go_memstats_heap_inuse_bytes"] <= limit {
			return m, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the server did not settle in 120 s after the load: %v calls up, heap %.0f MiB (idle was %.0f MiB)",
				m["callflow_calls_active"], m["go_memstats_heap_inuse_bytes"]/(1<<20), before["go_memstats_heap_inuse_bytes"]/(1<<20))
		}
		time.Sleep(time.Second) // polling the server's gauges
	}
}

// load places calls calls at rate per second to port and returns how many
// failed, as SIPp counts them.
func load(port, mediaPort, rate, calls int) (int, error) {
	cmd := exec.Command("sipp", "-sn", "uac", fmt.Sprintf("127.0.0.1:%d", port), "-s", "+18005550199",
		"-r", strconv.Itoa(rate), "-m", strconv.Itoa(calls), "-l", strconv.Itoa(rate*4), "-d", "500",
		"-mp", strconv.Itoa(mediaPort), "-timeout", "300", "-nostdin")
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return 0, err
	}
	failed, ok := counter(string(out), "Failed call")
	if !ok {
		return 0, fmt.Errorf("sipp printed no statistics:\n%s", out)
	}
	return failed, nil
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

func waitReady() error {
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
		time.Sleep(100 * time.Millisecond) // polling a starting server
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

func step(s string) { fmt.Fprintf(os.Stderr, "%s: %s…\n", time.Now().Format("15:04:05"), s) }
