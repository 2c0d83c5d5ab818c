package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/store"
)

func newCallsListCmd() *cobra.Command {
	var db, format string
	var f callFilterFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List calls, newest first",
		Example: `  callflow calls list --type missed --since 2026-11-01
  callflow calls list --agent dana --min-duration 1m --format csv`,
		Args: argsBetween(0, 0),
		PreRunE: func(*cobra.Command, []string) error {
			_, err := f.filter()
			if err == nil {
				err = checkFormat(format, "table", "json", "csv")
			}
			return err
		},
		RunE: withStore(&db, nil, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			filter, _ := f.filter()
			calls, err := st.Calls(cmd.Context(), filter)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			switch format {
			case "json":
				return encodeJSON(w, callsJSON(calls))
			case "csv":
				return writeCallsCSV(w, calls)
			}
			if len(calls) == 0 {
				fmt.Fprintln(w, "No calls match.")
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "STARTED\tTYPE\tFROM\tTO\tAGENT\tDURATION\tRECORDED\tCREDITS\tENDING\tPATH")
			for _, c := range calls {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.StartedAt.Local().Format("2006-01-02 15:04:05"), c.Type(), c.From, c.To,
					dash(c.Agent), c.Duration().Round(time.Second), (time.Duration(c.RecordingS) * time.Second), billing.Micro(c.Credits), c.Ending, strings.Join(c.Path, " → "))
			}
			return tw.Flush()
		}),
	}
	addDBFlag(cmd, &db)
	f.add(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, json or csv")
	return cmd
}
