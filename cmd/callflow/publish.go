package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/plan"
	"github.com/callflow/callflow/store"
)

func newPublishCmd() *cobra.Command {
	var db string
	cmd := &cobra.Command{
		Use:   "publish FLOW",
		Short: "Make a flow's draft live",
		Long: `publish makes the draft of FLOW (saved by 'callflow apply --draft') live, as a
new version of the configuration in which nothing else changes (S17).
'callflow diff FLOW' shows what it will change.`,
		Example: `  callflow apply --draft --auto-approve . && callflow diff sales && callflow publish sales`,
		Args:    argsBetween(1, 1),
		RunE: withStore(&db, nil, func(cmd *cobra.Command, args []string, st *store.Store) error {
			ctx := cmd.Context()
			draft, err := st.Draft(ctx, args[0])
			if err != nil {
				return notFound(err)
			}
			if live, err := st.Live(ctx); err == nil && live.Flows[args[0]] == draft.Version {
				// A rollback made the draft live already: nothing to publish.
				if err := st.ClearDraft(ctx, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Draft version %d of flow %s is live already; the draft is cleared.\n", draft.Version, args[0])
				return nil
			}
			v, err := plan.Republish(ctx, st, args[0], draft, "publish", whoAmI(), true)
			if err != nil {
				return staleError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Published flow %s version %d as configuration version %d.\n", args[0], draft.Version, v.ID)
			return nil
		}),
	}
	addDBFlag(cmd, &db)
	return cmd
}
