package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/store"
)

func newCreditsHistoryCmd() *cobra.Command {
	var db, format string
	var period periodFlags
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List purchases: date, purchasing user, credits",
		Args:  argsBetween(0, 0),
		RunE: withStore(&db, &format, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			ctx := cmd.Context()
			l, from, to, err := period.ledger(ctx, st)
			if err != nil {
				return err
			}
			ps, err := l.Purchases(ctx, from, to)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if format == "json" {
				return encodeJSON(w, ps)
			}
			if len(ps) == 0 {
				fmt.Fprintln(w, "No purchases in the period.")
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "DATE\tUSER\tCREDITS")
			for _, p := range ps {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Date.Local().Format("2006-01-02 15:04"), p.User, p.Amount)
			}
			return tw.Flush()
		}),
	}
	addDBFlag(cmd, &db)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	period.add(cmd, "all")
	return cmd
}
