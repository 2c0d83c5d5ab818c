package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/store"
)

func newCreditsUsageCmd() *cobra.Command {
	var db, format string
	var period periodFlags
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Show credits bought and used in a period, by kind, with a chart",
		Long: `usage adds up the credits bought and the credits used in a period — this or
last quarter, month or week, or --from/--to — with what they were used for:
calls, numbers and storage (S5). Weeks start on Monday.`,
		Example: `  callflow credits usage --period last-month
  callflow credits usage --from 2026-10-01 --to 2026-10-31 --format json`,
		Args: argsBetween(0, 0),
		RunE: withStore(&db, &format, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			ctx := cmd.Context()
			l, from, to, err := period.ledger(ctx, st)
			if err != nil {
				return err
			}
			u, err := l.Usage(ctx, from, to)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if format == "json" {
				return encodeJSON(w, u)
			}
			if from.IsZero() {
				fmt.Fprintln(w, "Credits, all time:")
			} else {
				fmt.Fprintf(w, "Credits from %s to %s:\n", from.Format("2006-01-02"), to.AddDate(0, 0, -1).Format("2006-01-02"))
			}
			rows := []barRow{{"bought", u.Bought}, {"used", u.Used}}
			for _, k := range billing.UsageKinds {
				rows = append(rows, barRow{"  " + k, u.ByKind[k]})
			}
			writeBars(w, rows)
			return nil
		}),
	}
	addDBFlag(cmd, &db)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	period.add(cmd, "this-month")
	return cmd
}
