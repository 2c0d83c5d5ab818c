package main

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/callflow/callflow/compiler"
)

func newValidateCmd() *cobra.Command {
	var format string
	var strict bool
	cmd := &cobra.Command{
		Use:   "validate [DIR]",
		Short: "Check every *.hcl file under DIR (default .) for errors",
		Long: `validate reads every *.hcl file under DIR (default: the current directory),
except *_test.hcl flow tests and dot-directories, and checks the whole
configuration: syntax, references, the connection rules (one start
connection, at most 10 connections into a state, at most 11 IVR keys, no
loops, voicemail at most 2 minutes), numbers, users, groups and audio files.

It prints every problem it finds, not only the first.

Exit status:
  0  no errors (warnings are allowed unless --strict)
  1  errors found (or warnings, with --strict)
  2  the command line is wrong

Formats:
  text    problems with a source snippet and a caret (default)
  json    the document 'terraform validate -json' prints
  github  GitHub Actions annotations (::error file=...::)
  sarif   SARIF 2.1.0, for code-scanning dashboards`,
		Example: `  callflow validate
  callflow validate examples/acme --strict
  callflow validate --format json | jq .error_count
  callflow validate --format sarif > callflow.sarif`,
		Args: argsBetween(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, diagFormats...); err != nil {
				return err
			}
			_, files, diags := compiler.CheckDir(dirArg(args))
			if err := writeDiagnostics(cmd.OutOrStdout(), format, files, diags, reportOptions{summary: true, strict: strict}); err != nil {
				return err
			}
			if !passes(diags, strict) {
				return &exitError{code: exitFail}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json, github or sarif")
	cmd.Flags().BoolVar(&strict, "strict", false, "fail (exit 1) on warnings too")
	return cmd
}

func countDiagnostics(diags hcl.Diagnostics) (errs, warns int) {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs++
		} else {
			warns++
		}
	}
	return errs, warns
}

// passes reports whether diags let the configuration through: no errors,
// and no warnings either under --strict.
func passes(diags hcl.Diagnostics, strict bool) bool {
	errs, warns := countDiagnostics(diags)
	return errs == 0 && (!strict || warns == 0)
}

// summaryLine is the last line of text output.
func summaryLine(noun string, errs, warns int, strict bool) string {
	switch {
	case errs == 0 && warns == 0:
		return fmt.Sprintf("Success! The %s is valid.", noun)
	case errs == 0 && strict:
		return fmt.Sprintf("The %s fails --strict: %s.", noun, plural(warns, "warning"))
	case errs == 0:
		return fmt.Sprintf("The %s is valid, with %s.", noun, plural(warns, "warning"))
	default:
		return fmt.Sprintf("The %s is invalid: %s, %s.", noun, plural(errs, "error"), plural(warns, "warning"))
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
