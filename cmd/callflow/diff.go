package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/plan"
	"github.com/callflow/callflow/store"
)

func newDiffCmd() *cobra.Command {
	var db, format string
	cmd := &cobra.Command{
		Use:   "diff FLOW [FROM [TO]]",
		Short: "Compare a flow's draft with the live version, or any two versions",
		Long: `diff shows how two versions of a flow differ, semantically, as plan does:
settings changed, states added, removed or changed, connections rewired.

With FLOW alone it compares the live version with the draft (S17). With
FROM it compares version FROM with the live one; with FROM and TO, those two
versions. 'callflow versions FLOW' lists the versions.`,
		Example: `  callflow diff sales
  callflow diff sales 1 3`,
		Args: argsBetween(1, 3),
		RunE: withStore(&db, &format, func(cmd *cobra.Command, args []string, st *store.Store) error {
			ctx := cmd.Context()
			flow := args[0]
			var from, to store.FlowVersion
			var err error
			switch len(args) {
			case 1:
				if from, err = plan.LiveFlow(ctx, st, flow); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				if to, err = st.Draft(ctx, flow); err != nil {
					return notFound(err)
				}
			case 2:
				if from, err = flowVersionArg(cmd, st, flow, args[1]); err != nil {
					return err
				}
				if to, err = plan.LiveFlow(ctx, st, flow); err != nil {
					return notFound(err)
				}
			default:
				if from, err = flowVersionArg(cmd, st, flow, args[1]); err != nil {
					return err
				}
				if to, err = flowVersionArg(cmd, st, flow, args[2]); err != nil {
					return err
				}
			}
			var before plan.Flow
			if from.Definition != nil {
				if before, err = plan.ParseFlow(from); err != nil {
					return err
				}
			}
			after, err := plan.ParseFlow(to)
			if err != nil {
				return err
			}
			c := plan.CompareFlows(before, after)
			c.Name = flow
			w := cmd.OutOrStdout()
			if format == "json" {
				return encodeJSON(w, struct {
					Flow string      `json:"flow"`
					From int64       `json:"from_version"`
					To   int64       `json:"to_version"`
					Diff plan.Change `json:"diff"`
				}{flow, from.Version, to.Version, c})
			}
			fmt.Fprintf(w, "flow %s: version %d → version %d\n", flow, from.Version, to.Version)
			if len(c.Attrs) == 0 && len(c.States) == 0 {
				fmt.Fprintln(w, "No differences.")
				return nil
			}
			plan.WriteChanges(w, []plan.Change{c})
			return nil
		}),
	}
	addDBFlag(cmd, &db)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}
