// Command callflow is the declarative call-flow compiler and runtime.
//
// The command is thin: each subcommand parses its flags and calls the
// packages that do the work. Exactly one place, Main, prints errors and
// chooses the exit code. Each command has a file of its own, named for
// it (credits_buy.go holds `callflow credits buy`, credits.go the group);
// what several commands share lives in files named for what it is
// (ledger.go, period.go, inventory.go).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

func main() { os.Exit(Main()) }

// Exit codes shared by every subcommand.
const (
	exitOK    = 0
	exitFail  = 1 // errors in the input, or the operation failed
	exitUsage = 2 // the command line itself is wrong
)

// exitError ends the command with a code. The command has already printed
// what the user needs, so Main prints nothing more unless msg is set.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// usageError is a mistake on the command line: exit 2, with a hint.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// Main runs the command line in os.Args and returns the exit code.
func Main() int {
	return run(os.Args[1:], os.Stdout, os.Stderr)
}

func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(terraformFlags(args))
	err := root.Execute()
	var ee *exitError
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintf(stderr, "Error: %s\n", ee.msg)
		}
		return ee.code
	case errors.As(err, &ue), strings.HasPrefix(err.Error(), "unknown command"):
		fmt.Fprintf(stderr, "Error: %s\nRun 'callflow --help' for usage.\n", err)
		if detailedExitCode(args) {
			// With -detailed-exitcode, 2 means "changes": an error is 1,
			// as Terraform has it, so that CI can tell them apart.
			return exitFail
		}
		return exitUsage
	default:
		fmt.Fprintf(stderr, "Error: %s\n", err)
		return exitFail
	}
}

// terraformStyle lists the flags Terraform users type with one dash
// (plan -out FILE -detailed-exitcode, apply -auto-approve); they are
// accepted as written.
var terraformStyle = []string{"out", "detailed-exitcode", "auto-approve", "draft"}

func terraformFlags(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if a == "--" {
			copy(out[i:], args[i:])
			break
		}
		for _, name := range terraformStyle {
			if a == "-"+name || strings.HasPrefix(a, "-"+name+"=") {
				out[i] = "-" + a
			}
		}
	}
	return out
}

func detailedExitCode(args []string) bool {
	for _, a := range args {
		if a == "-detailed-exitcode" || a == "--detailed-exitcode" || strings.HasPrefix(a, "--detailed-exitcode=") || strings.HasPrefix(a, "-detailed-exitcode=") {
			return true
		}
	}
	return false
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "callflow",
		Short: "Declarative call flows: check, plan, apply and serve telephony from HCL",
		Long: `callflow keeps an organisation's telephony — phone numbers, users, groups and
call flows — as HCL files in a Git repository. It checks them, shows what a
change does, and runs the flows on real phone calls.

Start with:
  callflow validate examples/acme     check a repository, as CI would
  callflow graph examples/acme support --format mermaid
                                      draw a flow

Every command takes --help. Documentation: docs/language.md and docs/cli.md.`,
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err.Error()} })
	root.AddCommand(
		newValidateCmd(),
		newFmtCmd(),
		newGraphCmd(),
		newSimulateCmd(),
		newInspectCmd(),
		newTestCmd(),
		newPlanCmd(),
		newApplyCmd(),
		newVersionsCmd(),
		newDiffCmd(),
		newPublishCmd(),
		newRollbackCmd(),
		newNumbersCmd(),
		newCreditsCmd(),
		newBillingCmd(),
		newStorageCmd(),
		newNotificationsCmd(),
		newCallsCmd(),
		newRecordingsCmd(),
		newUsersCmd(),
		newServeCmd(),
	)
	return root
}

func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}

// groupCmd makes a command that only holds subcommands: run alone it
// prints its help; with an unknown subcommand it is a usage error.
func groupCmd(cmd *cobra.Command, subs ...*cobra.Command) *cobra.Command {
	cmd.AddCommand(subs...)
	cmd.Args = func(c *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usagef("%s has no subcommand %q; run '%s --help'", c.CommandPath(), args[0], c.CommandPath())
		}
		return nil
	}
	cmd.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	return cmd
}

// argsBetween is cobra.RangeArgs with a usage error, so that a wrong
// number of arguments exits 2.
func argsBetween(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			if lo == hi {
				return usagef("%s takes %d argument(s), got %d: usage: %s", cmd.CommandPath(), lo, len(args), cmd.UseLine())
			}
			return usagef("%s takes %d to %d arguments, got %d: usage: %s", cmd.CommandPath(), lo, hi, len(args), cmd.UseLine())
		}
		return nil
	}
}

// checkFormat returns a usage error unless format is one of allowed.
func checkFormat(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return usagef("unknown --format %q; use one of: %s", format, strings.Join(allowed, ", "))
}

// dirArg returns the optional DIR argument, "." by default.
func dirArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return "."
}
