// Package benchgen writes large, valid callflow repositories for
// benchmarks: the validate benchmark, and later the plan and apply
// benchmarks, all measure the same generated repository.
package benchgen

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
)

// Shape says how big a repository to write.
type Shape struct {
	Flows         int // each flow has its own number
	StatesPerFlow int // at least 5
	FlowsPerFile  int
	Users         int
	Groups        int
}

// Large is the benchmark repository the issues name: 10,000 flows of ten
// states, about 100,000 states.
var Large = Shape{Flows: 10_000, StatesPerFlow: 10, FlowsPerFile: 100, Users: 500, Groups: 50}

// Write writes a repository of the given shape under dir, which must
// exist, and returns the number of states written.
func Write(dir string, s Shape) (states int, err error) {
	if s.StatesPerFlow < 5 {
		return 0, fmt.Errorf("benchgen: at least 5 states per flow, got %d", s.StatesPerFlow)
	}
	if err := writeFile(filepath.Join(dir, "people.hcl"), func(w *bufio.Writer) {
		fmt.Fprintf(w, "organization {\n  name    = \"Benchmark Inc\"\n  country = \"US\"\n}\n\n")
		for u := 0; u < s.Users; u++ {
			fmt.Fprintf(w, "user \"u%d\" {\n  display_name = \"User %d\"\n}\n\n", u, u)
		}
		for g := 0; g < s.Groups; g++ {
			fmt.Fprintf(w, "group \"g%d\" {\n  description = \"Group %d\"\n  members     = [user.u%d, user.u%d]\n}\n\n", g, g, (2*g)%s.Users, (2*g+1)%s.Users)
		}
	}); err != nil {
		return 0, err
	}
	// The trunk inventory carries every number, so that apply can
	// provision them.
	if err := writeFile(filepath.Join(dir, "inventory.csv"), func(w *bufio.Writer) {
		for f := 0; f < s.Flows; f++ {
			fmt.Fprintf(w, "%s,local\n", e164(f))
		}
	}); err != nil {
		return 0, err
	}
	for first := 0; first < s.Flows; first += s.FlowsPerFile {
		name := filepath.Join(dir, "flows", fmt.Sprintf("flows_%05d.hcl", first/s.FlowsPerFile))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return 0, err
		}
		err := writeFile(name, func(w *bufio.Writer) {
			for f := first; f < first+s.FlowsPerFile && f < s.Flows; f++ {
				states += writeFlow(w, f, s)
			}
		})
		if err != nil {
			return 0, err
		}
	}
	return states, nil
}

// writeFlow writes number f and flow f: an IVR whose keys lead to a chain
// of announcements, user and group transfers, and a voicemail.
func writeFlow(w *bufio.Writer, f int, s Shape) int {
	fmt.Fprintf(w, "number \"n%d\" {\n  e164 = \"%s\"\n  type = \"local\"\n}\n\n", f, e164(f))
	fmt.Fprintf(w, "flow \"f%d\" {\n  description = \"Generated flow %d\"\n  numbers     = [number.n%d]\n  start       = ivr.menu\n\n", f, f, f)
	middle := s.StatesPerFlow - 4 // menu, user, group, voicemail
	// Prompts repeat across flows, as an organisation's do: each distinct
	// one is rendered once when the repository is applied.
	fmt.Fprintf(w, "  ivr \"menu\" {\n    say = \"Welcome to line %d. Choose an option.\"\n", f%10)
	for k := 0; k < middle && k < 10; k++ {
		fmt.Fprintf(w, "    key \"%d\" { next = announce.a%d }\n", k, k)
	}
	fmt.Fprintf(w, "    key \"*\" { next = transfer_user.agent }\n    on_timeout = voicemail.vm\n  }\n\n")
	for a := 0; a < middle; a++ {
		next := "transfer_group.team"
		if a+1 < middle {
			next = fmt.Sprintf("announce.a%d", a+1)
		}
		fmt.Fprintf(w, "  announce \"a%d\" {\n    say  = \"Option %d.\"\n    next = %s\n  }\n\n", a, a, next)
	}
	fmt.Fprintf(w, "  transfer_user \"agent\" {\n    user           = user.u%d\n    ring_timeout   = 20\n    record         = true\n    on_timeout     = voicemail.vm\n    on_unavailable = voicemail.vm\n    on_busy        = transfer_group.team\n  }\n\n", f%s.Users)
	fmt.Fprintf(w, "  transfer_group \"team\" {\n    group          = group.g%d\n    ring           = \"sequential\"\n    ring_timeout   = 15\n    on_timeout     = voicemail.vm\n    on_unavailable = voicemail.vm\n    on_all_busy    = voicemail.vm\n  }\n\n", f%s.Groups)
	fmt.Fprintf(w, "  voicemail \"vm\" {\n    say        = \"Please leave a message.\"\n    max_length = 120\n  }\n}\n\n")
	return s.StatesPerFlow
}

func writeFile(name string, body func(w *bufio.Writer)) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	body(w)
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// e164 is flow f's number: valid North American numbers that can be local.
func e164(f int) string {
	return fmt.Sprintf("+1%03d%07d", 201+f/10_000_000%700, 2_000_000+f%8_000_000)
}
