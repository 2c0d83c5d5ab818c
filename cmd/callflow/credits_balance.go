package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/store"
)

func newCreditsBalanceCmd() *cobra.Command {
	var db, format string
	cmd := &cobra.Command{
		Use:   "balance",
		Short: "Show the available credits",
		Args:  argsBetween(0, 0),
		RunE: withStore(&db, &format, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			ctx := cmd.Context()
			l, snap, err := liveLedger(ctx, st)
			if err != nil {
				return err
			}
			available, reserved, err := l.Balance(ctx)
			if err != nil {
				return err
			}
			cur := currencyOf(snap)
			if format == "json" {
				return encodeJSON(cmd.OutOrStdout(), map[string]any{
					"available_micro": available, "reserved_micro": reserved, "currency": cur,
					"auto_recharge": l.AutoRecharge.Enabled,
				})
			}
			w := cmd.OutOrStdout()
			shown, err := money(snap, available)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "Available: %s credits (%s)\n", available, shown)
			if reserved > 0 {
				fmt.Fprintf(w, "Reserved for calls in progress: %s\n", reserved)
			}
			if ar := l.AutoRecharge; ar.Enabled {
				fmt.Fprintf(w, "Auto-recharge: buys %s credits when the balance falls below %s.\n", ar.Amount, ar.Threshold)
			}
			return nil
		}),
	}
	addDBFlag(cmd, &db)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}
