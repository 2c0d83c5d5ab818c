package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/plan"
	"github.com/callflow/callflow/store"
)

func newPlanCmd() *cobra.Command {
	var (
		db, format, out string
		detailed        bool
	)
	cmd := &cobra.Command{
		Use:   "plan [DIR]",
		Short: "Show what applying DIR (default .) would change, and its monthly cost",
		Long: `plan checks the configuration in DIR (default: the current directory) and
compares it with what is live in the store. It shows a semantic diff: the
objects added (+), changed (~) and removed (-), with the settings that
change; for flows, the states added, removed or changed and the connections
rewired. Layout, comments and the order of blocks make no change. It then
shows the monthly cost before and after: number fees by type and country,
and the recording storage plan.

-out FILE saves the plan, so that 'callflow apply FILE' applies exactly what
was reviewed, and refuses if anything else was applied in between.

Exit status: 0 on success; with -detailed-exitcode, 0 when there are no
changes, 2 when there are; 1 on errors.`,
		Example: `  callflow plan examples/acme
  callflow plan -out acme.plan examples/acme && callflow apply acme.plan
  callflow plan -detailed-exitcode --format json`,
		Args: argsBetween(0, 1),
		RunE: withStore(&db, &format, func(cmd *cobra.Command, args []string, st *store.Store) error {
			ctx := cmd.Context()
			p, err := makePlan(ctx, cmd, st, dirArg(args))
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if format == "json" {
				if err := encodeJSON(w, planJSON(p)); err != nil {
					return err
				}
			} else if err := writePlan(w, p, st, false); err != nil {
				return err
			}
			if out != "" {
				if err := p.Save(out, st); err != nil {
					return err
				}
				if format == "text" {
					fmt.Fprintf(w, "\nSaved the plan to %s. Apply it with: callflow apply %s\n", out, out)
				}
			}
			if detailed && p.HasChanges() {
				return &exitError{code: 2}
			}
			return nil
		}),
	}
	addDBFlag(cmd, &db)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().StringVar(&out, "out", "", "save the plan to this file, for apply")
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 0 with no changes, 2 with changes, 1 on errors")
	return cmd
}

// makePlan checks dir and plans it against the store.
func makePlan(ctx context.Context, cmd *cobra.Command, st *store.Store, dir string) (*plan.Plan, error) {
	m, err := loadModel(cmd.ErrOrStderr(), dir)
	if err != nil {
		return nil, err
	}
	return plan.Make(ctx, st, m, dir, gitCommit(dir))
}

// writePlan prints a plan. A fresh plan first says what is live; a saved
// one was introduced with the version it was made against.
func writePlan(w io.Writer, p *plan.Plan, st *store.Store, saved bool) error {
	if !saved {
		live := fmt.Sprintf("version %d is live", p.Base)
		if p.Base == 0 {
			live = "nothing applied yet"
		}
		fmt.Fprintf(w, "Store %s: %s.\n", st, live)
	}
	if !p.HasChanges() {
		fmt.Fprintln(w, "No changes. The live configuration matches the files.")
		return nil
	}
	add, change, remove := plan.Counts(p.Changes)
	fmt.Fprintf(w, "Plan: %d to add, %d to change, %d to remove.\n\n", add, change, remove)
	plan.WriteChanges(w, p.Changes)
	fmt.Fprintln(w)
	snap, err := plan.ParseSnapshot(p.Config)
	if err != nil {
		return err
	}
	card, err := plan.RateCard(snap)
	if err != nil {
		return err
	}
	plan.WriteCostChange(w, p.CostBefore, p.CostAfter, p.Currency, card)
	return nil
}

type planDoc struct {
	Base       int64         `json:"base_version"`
	Changes    []plan.Change `json:"changes"`
	HasChanges bool          `json:"has_changes"`
	CostBefore plan.Cost     `json:"monthly_cost_before"`
	CostAfter  plan.Cost     `json:"monthly_cost_after"`
	Currency   string        `json:"currency"`
}

func planJSON(p *plan.Plan) planDoc {
	changes := p.Changes
	if changes == nil {
		changes = []plan.Change{}
	}
	return planDoc{Base: p.Base, Changes: changes, HasChanges: p.HasChanges(), CostBefore: p.CostBefore, CostAfter: p.CostAfter, Currency: p.Currency}
}

// staleError turns a stale apply into advice.
func staleError(err error) error {
	if errors.Is(err, store.ErrStale) {
		return &exitError{code: exitFail, msg: err.Error()}
	}
	return err
}
