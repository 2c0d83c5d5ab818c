package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/compiler"
)

func newInspectCmd() *cobra.Command {
	var format string
	var disassemble bool
	cmd := &cobra.Command{
		Use:   "inspect DIR FLOW",
		Short: "Show a flow's static bounds: states, longest path, worst-case time",
		Long: `inspect compiles flow FLOW of the configuration in DIR and prints what can be
known before any call: how many states a caller can reach, the longest path
through the flow in states and in VM instructions, and the worst-case time a
caller can spend in the flow before a human answers or the call ends, with
the path that takes it.

The worst case adds, along each path, the longest each state can take: its
prompts, IVR time-outs, ring timeouts (times the members for a sequential
group), queue music × repeats and a second ring, and a voicemail state's
own timeout, which a silent caller waits out before going on.
WAV prompt lengths are read from the files; spoken (say) prompts and
URLs are rendered or fetched only at apply time, so they are listed as
unknown and counted as zero. docs/vm.md defines the model.

--disassemble also prints the flow's bytecode.`,
		Example: `  callflow inspect examples/acme sales
  callflow inspect examples/acme support --format json | jq .worst_case_seconds`,
		Args: argsBetween(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			m, f, p, err := loadFlow(cmd, args[0], args[1])
			if err != nil {
				return err
			}
			b := compiler.ComputeBounds(m, f)
			out := cmd.OutOrStdout()
			if format == "json" {
				doc := inspectJSON{
					Flow: f.Name, States: b.States, LongestPathStates: b.LongestPath,
					LongestPathInstructions: p.LongestPath(), Bytes: len(p.Code), Constants: len(p.Consts),
					WorstCaseSeconds: b.WorstCase.Seconds(), WorstPath: b.WorstPath, UnknownPrompts: b.Unknown,
				}
				if doc.UnknownPrompts == nil {
					doc.UnknownPrompts = []string{}
				}
				if disassemble {
					doc.Disassembly, _ = p.Disassemble()
				}
				return encodeJSON(out, doc)
			}
			fmt.Fprintf(out, "flow %s\n", f.Name)
			fmt.Fprintf(out, "  states reachable:   %d\n", b.States)
			fmt.Fprintf(out, "  longest path:       %d states, %d instructions\n", b.LongestPath, p.LongestPath())
			fmt.Fprintf(out, "  program:            %d bytes, %d constants\n", len(p.Code), len(p.Consts))
			fmt.Fprintf(out, "  worst-case time:    %s", b.WorstCase.Round(time.Millisecond))
			if len(b.Unknown) > 0 {
				fmt.Fprintf(out, " plus %d prompt(s) of unknown length", len(b.Unknown))
			}
			fmt.Fprintf(out, "\n  worst-case path:    %s\n", strings.Join(b.WorstPath, " → "))
			for _, u := range b.Unknown {
				fmt.Fprintf(out, "  unknown length:     %s\n", u)
			}
			if disassemble {
				text, err := p.Disassemble()
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "\n%s", text)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&disassemble, "disassemble", false, "also print the bytecode")
	return cmd
}

type inspectJSON struct {
	Flow                    string   `json:"flow"`
	States                  int      `json:"states"`
	LongestPathStates       int      `json:"longest_path_states"`
	LongestPathInstructions int      `json:"longest_path_instructions"`
	Bytes                   int      `json:"bytes"`
	Constants               int      `json:"constants"`
	WorstCaseSeconds        float64  `json:"worst_case_seconds"`
	WorstPath               []string `json:"worst_path"`
	UnknownPrompts          []string `json:"unknown_prompts"`
	Disassembly             string   `json:"disassembly,omitempty"`
}
