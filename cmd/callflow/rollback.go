package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/plan"
	"github.com/callflow/callflow/store"
)

func newRollbackCmd() *cobra.Command {
	var db string
	cmd := &cobra.Command{
		Use:   "rollback FLOW VERSION",
		Short: "Make an earlier version of a flow live again",
		Long: `rollback publishes version VERSION of FLOW again, as a new version of the
configuration in which nothing else changes. History is never rewritten:
the rollback is itself a version, and can be rolled back. 'callflow
versions FLOW' lists the versions.

The repository still holds the newer flow: the next plan of it shows the
difference, so bring the files in line before applying again.`,
		Example: `  callflow versions sales && callflow rollback sales 2`,
		Args:    argsBetween(2, 2),
		RunE: withStore(&db, nil, func(cmd *cobra.Command, args []string, st *store.Store) error {
			ctx := cmd.Context()
			fv, err := flowVersionArg(cmd, st, args[0], args[1])
			if err != nil {
				return err
			}
			v, err := plan.Republish(ctx, st, args[0], fv, "rollback", whoAmI(), false)
			if err != nil {
				return staleError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Flow %s version %d is live again, as configuration version %d.\n", args[0], fv.Version, v.ID)
			return nil
		}),
	}
	addDBFlag(cmd, &db)
	return cmd
}
