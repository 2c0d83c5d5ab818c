package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/sim"
)

func newSimulateCmd() *cobra.Command {
	var (
		format    string
		digits    string
		agents    []string
		voicemail string
		queueFull bool
		outgoing  string
	)
	cmd := &cobra.Command{
		Use:   "simulate DIR FLOW | simulate --outbound USER DIR NUMBER",
		Short: "Run one call through a flow against a scripted world, or check an outgoing call's policy",
		Long: `simulate compiles flow FLOW of the configuration in DIR and runs one call
through it on the same VM the server uses, with a simulated world answering
each effect instead of the phone network. It prints the path the call takes,
state by state, with each effect and its outcome, and how the call ends.

The world is scripted with flags:
  --digits 21          the keys the caller presses, one per menu, in order;
                       when they run out, menus time out
  --agent dana=busy    how a user answers: answers, busy, unavailable or
                       no-answer; a comma list gives one per ring, the last
                       repeating (dana=busy,answers); "free" between rings
                       says a busy user became free while the caller was
                       queued (dana=busy,free,busy); users not named answer
  --voicemail silent   at a voicemail beep the caller leaves a message
                       (leave, the default), says nothing until the time-out
                       (silent), or finds storage full (storage-full)
  --queue-full         every queue already holds its max_waiting callers

With --outbound USER, simulate runs no flow: it decides, as the server
does before it places anything on the trunk, whether USER may call
NUMBER, and prints the decision: allowed or refused (with the SIP status
the phone would get: 403 for policy, 404 for a number no country assigns,
484 for one too short), the reason, the destination read in E.164 with
its country and type, the caller ID the callee would see, and the rate
per started minute with the rate card entry that sets it. NUMBER is what
the phone dials: E.164 (+44 20 7183 8750), the organisation's
international prefix (011 44 ... from the US, 00 44 ... from most of
Europe) or a national number read in organization { country }. Calls to
China (+86) are always refused (S29). A refused call exits 1, so that a
CI job can check the policy without a phone.`,
		Example: `  callflow simulate examples/acme sales --digits 1 --agent dana=busy
  callflow simulate examples/acme support --digits 2 --agent bob=unavailable --agent dave=no-answer --agent alice=busy
  callflow simulate examples/acme sales --format json | jq .path
  callflow simulate --outbound alice examples/acme +442071234567
  callflow simulate --outbound alice examples/acme '011 86 10 1234 5678' || echo refused`,
		Args: argsBetween(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			if outgoing != "" {
				if digits != "" || len(agents) > 0 || voicemail != sim.Leave || queueFull {
					return usagef("--outbound checks an outgoing call and runs no flow: --digits, --agent, --voicemail and --queue-full do not apply")
				}
				return simulateOutbound(cmd, args[0], outgoing, args[1], format)
			}
			world, err := parseWorld(digits, agents, voicemail)
			world.QueueFull = queueFull
			if err != nil {
				return err
			}
			m, _, p, err := loadFlow(cmd, args[0], args[1])
			if err != nil {
				return err
			}
			for user := range world.Agents {
				if _, ok := m.Users[user]; !ok {
					return usagef("--agent %s: no user named %q is declared", user, user)
				}
			}
			trace, err := sim.Run(p, m, world)
			if err != nil {
				return err
			}
			if format == "json" {
				return encodeJSON(cmd.OutOrStdout(), trace)
			}
			writeTrace(cmd.OutOrStdout(), trace)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().StringVar(&digits, "digits", "", "keys the caller presses, in order (0-9 and *)")
	cmd.Flags().StringArrayVar(&agents, "agent", nil, "USER=BEHAVIOUR[,BEHAVIOUR...]: how a user answers each ring (repeatable)")
	cmd.Flags().StringVar(&voicemail, "voicemail", sim.Leave, "what the caller does at a voicemail beep: leave, silent or storage-full")
	cmd.Flags().BoolVar(&queueFull, "queue-full", false, "every queue is already full of other callers")
	cmd.Flags().StringVar(&outgoing, "outbound", "", "USER: check whether USER may call NUMBER (args DIR NUMBER), and at what rate and caller ID")
	return cmd
}

// parseWorld turns the simulate flags into a world, with usage errors.
func parseWorld(digits string, agents []string, voicemail string) (sim.World, error) {
	w := sim.World{Digits: digits, Agents: map[string][]string{}, Voicemail: voicemail}
	for _, a := range agents {
		user, behaviours, ok := strings.Cut(a, "=")
		if !ok || user == "" || behaviours == "" {
			return w, usagef("--agent %q: write USER=BEHAVIOUR, such as dana=busy", a)
		}
		if _, dup := w.Agents[user]; dup {
			return w, usagef("--agent %s is given twice; list one behaviour per ring instead: %s=busy,answers", user, user)
		}
		w.Agents[user] = strings.Split(behaviours, ",")
	}
	if err := w.Validate(); err != nil {
		return w, usagef("%v", err)
	}
	return w, nil
}

func writeTrace(w io.Writer, t *sim.Trace) {
	width := 0
	for _, s := range t.Steps {
		width = max(width, len(s.State))
	}
	fmt.Fprintf(w, "flow %s\n", t.Flow)
	for _, s := range t.Steps {
		outcome := s.Result
		if s.Digit != "" {
			outcome += " " + s.Digit
		}
		if s.Note != "" {
			if outcome != "" {
				outcome += ": "
			}
			outcome += s.Note
		}
		fmt.Fprintf(w, "  %-*s  %s\n  %-*s    → %s\n", width, s.State, s.Text, width, "", outcome)
	}
	fmt.Fprintf(w, "path: %s\n", strings.Join(t.Path, " → "))
	fmt.Fprintf(w, "ending: %s", t.Ending)
	if t.ConnectedTo != "" {
		fmt.Fprintf(w, " to %s", t.ConnectedTo)
		if strings.HasPrefix(t.ConnectedTo, "group.") {
			fmt.Fprintf(w, " (answered by user.%s)", t.AnsweredBy)
		}
	}
	fmt.Fprintln(w)
}
