// Command validate measures `callflow validate` on a generated repository
// of 10,000 flows (about 100,000 states) against the bare HCL parse of the
// same files, in one run, and reports each one's peak memory.
//
//	go run ./bench/validate [-flows 10000] [-runs 5] [-dir DIR]
//
// Timings alternate between the two so that both see the same machine;
// the median of -runs is reported. Peak memory is each phase's maximum
// resident set size, measured by running it alone in a child process.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/internal/benchgen"
	"github.com/callflow/callflow/lang"
)

func main() {
	flows := flag.Int("flows", benchgen.Large.Flows, "flows in the generated repository")
	runs := flag.Int("runs", 5, "timed runs of each phase")
	dir := flag.String("dir", "", "use (or generate into) this directory instead of a temporary one")
	phase := flag.String("phase", "", "internal: run one phase once (parse or validate) and exit")
	flag.Parse()

	if *phase != "" {
		if err := runPhase(*phase, *dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if err := run(*flows, *runs, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(flows, runs int, dir string) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "callflow-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	shape := benchgen.Large
	shape.Flows = flows
	fmt.Fprintf(os.Stderr, "generating %d flows in %s…\n", flows, dir)
	states, err := benchgen.Write(dir, shape)
	if err != nil {
		return err
	}

	// Peak memory first: on Linux a child's peak RSS starts from its
	// parent's at exec, so the children must start while this process is
	// still small.
	parseRSS, err := peakRSS("parse", dir)
	if err != nil {
		return err
	}
	validateRSS, err := peakRSS("validate", dir)
	if err != nil {
		return err
	}
	var parse, validate []time.Duration
	for i := 0; i < runs; i++ {
		fmt.Fprintf(os.Stderr, "run %d/%d…\n", i+1, runs)
		d, err := timed(func() error { return bareParse(dir) })
		if err != nil {
			return err
		}
		parse = append(parse, d)
		d, err = timed(func() error { return fullValidate(dir) })
		if err != nil {
			return err
		}
		validate = append(validate, d)
	}
	p, v := median(parse), median(validate)
	ratio := float64(v) / float64(p)
	fmt.Printf("repository: %d flows, %d states\n", flows, states)
	fmt.Printf("%-22s %12s %14s\n", "phase", "median", "peak RSS")
	fmt.Printf("%-22s %12s %11d MiB\n", "bare HCL parse", p.Round(time.Millisecond), parseRSS>>20)
	fmt.Printf("%-22s %12s %11d MiB\n", "callflow validate", v.Round(time.Millisecond), validateRSS>>20)
	verdict := "met"
	if ratio > 1.5 {
		verdict = "MISSED"
	}
	fmt.Printf("validate / parse = %.2f× (target ≤ 1.50×: %s)\n", ratio, verdict)
	return nil
}

// bareParse reads and parses every configuration file, and nothing more.
func bareParse(dir string) error {
	names, err := lang.ConfigFiles(dir)
	if err != nil {
		return err
	}
	p := hclparse.NewParser()
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		if _, diags := p.ParseHCL(src, name); diags.HasErrors() {
			return diags
		}
	}
	return nil
}

// fullValidate is exactly what `callflow validate` does.
func fullValidate(dir string) error {
	_, _, diags := compiler.CheckDir(dir)
	if len(diags) > 0 {
		return fmt.Errorf("generated repository is not clean: %v", diags)
	}
	return nil
}

func runPhase(phase, dir string) error {
	switch phase {
	case "parse":
		return bareParse(dir)
	case "validate":
		return fullValidate(dir)
	}
	return fmt.Errorf("unknown phase %q", phase)
}

func timed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

// peakRSS runs one phase in a child process and returns its maximum
// resident set size in bytes.
func peakRSS(phase, dir string) (int64, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(self, "-phase", phase, "-dir", dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%s phase: %w", phase, err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, fmt.Errorf("no resource usage on this platform")
	}
	return ru.Maxrss * 1024, nil // Linux reports kilobytes
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
