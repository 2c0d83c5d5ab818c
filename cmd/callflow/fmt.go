package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/rogpeppe/go-internal/diff"
	"github.com/spf13/cobra"

	"github.com/callflow/callflow/lang"
)

func newFmtCmd() *cobra.Command {
	var check, showDiff bool
	cmd := &cobra.Command{
		Use:   "fmt [DIR]",
		Short: "Rewrite *.hcl files under DIR (default .) in canonical layout",
		Long: `fmt rewrites every *.hcl file under DIR (default: the current directory),
flow tests included, into the canonical layout: two-space indentation,
aligned equals signs and normalised spacing. It prints the name of each
file it changes. Files with syntax errors are reported and left alone.

With --check it changes nothing: it lists the files that are not in
canonical layout and exits 1 if there are any, which suits CI.
With --diff it also prints what changes, as a unified diff.`,
		Example: `  callflow fmt
  callflow fmt --check --diff examples/acme`,
		Args: argsBetween(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := dirArg(args)
			if info, err := os.Stat(dir); err != nil {
				return &exitError{code: exitFail, msg: fmt.Sprintf("cannot read %s: %v. Give the directory that holds your *.hcl files.", dir, errors.Unwrap(err))}
			} else if !info.IsDir() {
				return &exitError{code: exitFail, msg: fmt.Sprintf("%s is a file. Give the directory that holds your *.hcl files.", dir)}
			}
			names, err := lang.AllFiles(dir)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			var syntaxErrs hcl.Diagnostics
			files := map[string]*hcl.File{}
			changed := 0
			for _, name := range names {
				src, err := os.ReadFile(name)
				if err != nil {
					return err
				}
				formatted, diags := lang.Format(name, src)
				if diags.HasErrors() {
					syntaxErrs = append(syntaxErrs, diags...)
					files[name] = &hcl.File{Bytes: src}
					continue
				}
				if bytes.Equal(src, formatted) {
					continue
				}
				changed++
				fmt.Fprintln(out, name)
				if showDiff {
					out.Write(diff.Diff(name, src, name+" (formatted)", formatted))
				}
				if !check {
					if err := writeFileKeepMode(name, formatted); err != nil {
						return err
					}
				}
			}
			if len(syntaxErrs) > 0 {
				writeText(cmd.ErrOrStderr(), files, syntaxErrs, reportOptions{})
				return &exitError{code: exitFail, msg: "some files have syntax errors and were not formatted"}
			}
			if check && changed > 0 {
				return &exitError{code: exitFail}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "change nothing; list files that need formatting and exit 1 if any do")
	cmd.Flags().BoolVar(&showDiff, "diff", false, "print the changes as a unified diff")
	return cmd
}

// writeFileKeepMode replaces name's contents, keeping its permissions, by
// writing a temporary file beside it and renaming it into place, so that a
// crash never leaves half a file.
func writeFileKeepMode(name string, data []byte) error {
	info, err := os.Stat(name)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), ".callflow-fmt-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
