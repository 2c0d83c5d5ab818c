package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/store"
)

func newStorageUsageCmd() *cobra.Command {
	var db, format string
	usage := &cobra.Command{
		Use:   "usage",
		Short: "Show the recording minutes used and left in the storage plan",
		Long: `usage shows the live storage plan, the minutes of recordings kept, and the
minutes left, with a chart (S7). When the plan is full, new recordings are
not saved (the calls go on) and a notification says so; choose a larger
plan in recordings { plan } and apply it.`,
		Args: argsBetween(0, 0),
		RunE: withStore(&db, &format, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			ctx := cmd.Context()
			_, snap, err := liveLedger(ctx, st)
			if err != nil {
				return err
			}
			u, err := billing.NewRecordings(st, snap).Usage(ctx)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if format == "json" {
				return encodeJSON(w, u)
			}
			fmt.Fprintf(w, "Storage plan %s: %d of %d minutes used, %d left.\n", u.Plan, u.UsedMin, u.LimitMin, u.LeftMin)
			n := int(u.UsedMin * barWidth / u.LimitMin)
			fmt.Fprintf(w, "  [%s%s] %d%%\n", strings.Repeat("█", min(n, barWidth)), strings.Repeat("·", max(0, barWidth-n)), u.UsedMin*100/u.LimitMin)
			return nil
		}),
	}
	addDBFlag(usage, &db)
	usage.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return usage
}
