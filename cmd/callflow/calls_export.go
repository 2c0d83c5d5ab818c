package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/store"
)

func newCallsExportCmd() *cobra.Command {
	var db, file string
	var f callFilterFlags
	cmd := &cobra.Command{
		Use:   "export --csv FILE",
		Short: "Write the call history as a CSV file",
		Long: `export writes the calls that match the filters (all of them by default) to
FILE as CSV, one call a line with a header line, for spreadsheets (S28).
"-" writes to standard output.`,
		Example: `  callflow calls export --csv calls-2026-11.csv --since 2026-11-01 --until 2026-12-01`,
		Args:    argsBetween(0, 0),
		PreRunE: func(*cobra.Command, []string) error {
			if file == "" {
				return usagef("name the file with --csv FILE")
			}
			_, err := f.filter()
			return err
		},
		RunE: withStore(&db, nil, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			filter, _ := f.filter()
			calls, err := st.Calls(cmd.Context(), filter)
			if err != nil {
				return err
			}
			if file == "-" {
				return writeCallsCSV(cmd.OutOrStdout(), calls)
			}
			out, err := os.Create(file)
			if err != nil {
				return err
			}
			if err := writeCallsCSV(out, calls); err != nil {
				out.Close()
				return err
			}
			if err := out.Close(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Wrote %d call(s) to %s.\n", len(calls), file)
			return nil
		}),
	}
	addDBFlag(cmd, &db)
	f.add(cmd)
	cmd.Flags().StringVar(&file, "csv", "", "the CSV file to write, or - for standard output")
	return cmd
}
