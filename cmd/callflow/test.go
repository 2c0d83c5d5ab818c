package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/lang"
	"github.com/callflow/callflow/sim"
	"github.com/callflow/callflow/vm"
)

func newTestCmd() *cobra.Command {
	var format, run string
	var cover bool
	cmd := &cobra.Command{
		Use:   "test [DIR]",
		Short: "Run the flow tests in *_test.hcl files under DIR (default .)",
		Long: `test runs every flow test under DIR (default: the current directory). A flow
test is a test block in a *_test.hcl file:

  test "busy sales goes to voicemail" {
    flow   = flow.sales
    digits = "1"
    agents = { dana = "busy" }
    path   = [ivr.menu, transfer_user.dana, voicemail.sales]
    ending = "message"
  }

It names a flow, scripts the world the call meets (digits, agents,
voicemail, queue_full, as for simulate), and states the path the call must take and how
it must end: flow-end, connected (with connected_to = user.NAME or
group.NAME), message or no-message. Each test runs the flow's compiled
program on the VM, as a real call would.

test prints PASS or FAIL for each test, with what was wanted and what
happened for each failure, and exits 1 if any test fails (or if the
configuration or the tests have errors).

--cover reports, for each flow the tests exercise, every outcome of every
effect that no test takes (a ring that is never busy, a menu key never
pressed…), and exits 1 if there is one. Hanging up is not counted: every
effect can end that way.

Formats: text (default), json, and junit (JUnit XML for CI dashboards).`,
		Example: `  callflow test examples/acme
  callflow test --run 'sales' examples/acme
  callflow test --format junit > callflow-tests.xml`,
		Args: argsBetween(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json", "junit"); err != nil {
				return err
			}
			filter, err := regexp.Compile(run)
			if err != nil {
				return usagef("--run: %v", err)
			}
			dir := dirArg(args)
			m, err := loadModel(cmd.ErrOrStderr(), dir)
			if err != nil {
				return err
			}
			p := lang.NewParser()
			tests, diags := p.LoadTests(dir)
			diags = append(diags, compiler.CheckTests(m, tests)...)
			compiler.SortDiagnostics(diags)
			if diags.HasErrors() {
				writeText(cmd.ErrOrStderr(), p.Files(), diags, reportOptions{summary: true, noun: "set of flow tests"})
				return &exitError{code: exitFail}
			}
			var results []sim.Result
			programs := map[string]*vm.Program{}
			coverage := sim.NewCoverage()
			for _, t := range tests {
				if !filter.MatchString(t.Name) {
					continue
				}
				p, ok := programs[t.Flow.Name]
				if !ok {
					if p, err = compiler.Lower(m.Flows[t.Flow.Name]); err != nil {
						return err
					}
					programs[t.Flow.Name] = p
				}
				r, err := sim.RunTest(p, m, simTest(t), coverage)
				if err != nil {
					return err
				}
				results = append(results, r)
			}
			if len(results) == 0 {
				msg := fmt.Sprintf("no flow tests in %s (write test blocks in *_test.hcl files)", dir)
				if run != "" {
					msg = fmt.Sprintf("no flow test in %s matches --run %q", dir, run)
				}
				return &exitError{code: exitFail, msg: msg}
			}
			out := cmd.OutOrStdout()
			switch format {
			case "json":
				if err := encodeJSON(out, results); err != nil {
					return err
				}
			case "junit":
				if err := writeJUnit(out, results); err != nil {
					return err
				}
			default:
				writeTestText(out, results)
			}
			uncovered := 0
			if cover {
				uncovered = writeCoverage(cmd.ErrOrStderr(), programs, coverage)
			}
			for _, r := range results {
				if !r.Passed {
					return &exitError{code: exitFail}
				}
			}
			if uncovered > 0 {
				return &exitError{code: exitFail}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json or junit")
	cmd.Flags().StringVar(&run, "run", "", "run only the tests whose names match this regular expression")
	cmd.Flags().BoolVar(&cover, "cover", false, "report the outcomes of each tested flow that no test takes, and fail if there are any")
	return cmd
}

// simTest is a test block as sim runs it.
func simTest(t *lang.Test) sim.Test {
	st := sim.Test{
		Name: t.Name, Flow: t.Flow.Name, Location: t.NameRange.String(), File: t.NameRange.Filename, Line: t.NameRange.Start.Line,
		World:  sim.World{Digits: t.Digits.Value, Agents: map[string][]string{}, Voicemail: t.Voicemail.Value, QueueFull: t.QueueFull.Value},
		Expect: sim.Expect{PathSet: t.PathSet, Ending: t.Ending.Value},
	}
	for _, a := range t.Agents {
		st.World.Agents[a.User] = a.Behaviours
	}
	for _, ref := range t.Path {
		st.Expect.Path = append(st.Expect.Path, ref.String())
	}
	if t.ConnectedTo != nil {
		st.Expect.ConnectedTo = t.ConnectedTo.String()
	}
	return st
}

// writeCoverage reports, per tested flow, the outcomes no test took, and
// returns how many there are. Flows no selected test names are not listed.
func writeCoverage(w io.Writer, programs map[string]*vm.Program, c *sim.Coverage) int {
	names := make([]string, 0, len(programs))
	for name := range programs {
		names = append(names, name)
	}
	sort.Strings(names)
	missing := 0
	for _, name := range names {
		p := programs[name]
		taken, total := c.Outcomes(p)
		fmt.Fprintf(w, "coverage: flow %s: %d of %d outcomes taken (%.0f%%)\n", name, taken, total, 100*float64(taken)/float64(max(total, 1)))
		for _, u := range c.Uncovered(p) {
			fmt.Fprintf(w, "  not taken: %s\n", u)
			missing++
		}
	}
	return missing
}

func writeTestText(w io.Writer, results []sim.Result) {
	passed := 0
	for _, r := range results {
		if r.Passed {
			passed++
			fmt.Fprintf(w, "PASS  %s\n", r.Name)
			continue
		}
		fmt.Fprintf(w, "FAIL  %s  (%s)\n", r.Name, r.Location)
		for _, m := range r.Mismatches {
			fmt.Fprintf(w, "        %-12s want: %s\n", m.Field, m.Want)
			fmt.Fprintf(w, "        %-12s got:  %s\n", "", m.Got)
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", passed, len(results)-passed)
}

// JUnit XML, the subset CI dashboards read.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr"`
	Line      int           `xml:"line,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func writeJUnit(w io.Writer, results []sim.Result) error {
	suite := junitSuite{Name: "callflow", Tests: len(results)}
	var total time.Duration
	for _, r := range results {
		total += r.Duration
		c := junitCase{Name: r.Name, Classname: "flow." + r.Flow, File: r.File, Line: r.Line, Time: seconds(r.Duration)}
		if !r.Passed {
			suite.Failures++
			text := ""
			for _, m := range r.Mismatches {
				text += fmt.Sprintf("%s\n  want: %s\n  got:  %s\n", m.Field, m.Want, m.Got)
			}
			c.Failure = &junitFailure{Message: fmt.Sprintf("%d mismatch(es) at %s", len(r.Mismatches), r.Location), Type: "mismatch", Text: text}
		}
		suite.Cases = append(suite.Cases, c)
	}
	suite.Time = seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{suite}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
