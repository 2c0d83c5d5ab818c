package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/callflow/callflow/plan"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony/prompt"
)

func newApplyCmd() *cobra.Command {
	var (
		db          string
		inventory   string
		autoApprove bool
		draft       bool
	)
	cmd := &cobra.Command{
		Use:   "apply [DIR|PLANFILE]",
		Short: "Make DIR (default .) or a saved plan live as a new version",
		Long: `apply makes the configuration live as a new version, atomically: either the
whole new version is stored and live, or nothing changed. Calls in progress
finish on the version they started with.

Given a directory (default: the current one), apply plans it, shows the
plan, and asks for confirmation on a terminal; --auto-approve skips the
question (and is needed when standard input is not a terminal). Given a
plan file saved by 'callflow plan -out FILE', it applies exactly that plan
without asking again, and refuses it if another version became live after
the plan was made.

--draft stores the changed flows as drafts without making anything live
(S17); see 'callflow diff' and 'callflow publish'.

The prompts of the flows that change are prepared here, not when a call
needs them: spoken prompts (say) are rendered with espeak-ng, audio files are
converted to 8 kHz mono, https audio is fetched; each is stored with its
flow version, so every server plays what was applied and needs neither the
repository nor espeak-ng. A prompt that cannot be prepared fails the apply
(espeak-ng missing, a URL that cannot be fetched) and nothing changes. An
audio file that changed after a saved plan was made is refused.

Numbers added to the configuration are provisioned, and numbers removed are
released, through the number provider. The built-in provider serves the
numbers on your SIP trunk, listed in an inventory file (--inventory,
$CALLFLOW_INVENTORY, else inventory.csv in DIR); see 'callflow numbers'.

Every version records who applied it ($CALLFLOW_USER, else your login
name), when, and the Git commit of DIR when it is a Git checkout.`,
		Example: `  callflow apply examples/acme --auto-approve
  callflow plan -out acme.plan examples/acme && callflow apply acme.plan
  callflow apply --draft --auto-approve examples/acme`,
		Args: argsBetween(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := openStore(ctx, db)
			if err != nil {
				return err
			}
			defer st.Close()
			w := cmd.OutOrStdout()
			target := dirArg(args)
			var p *plan.Plan
			saved := false
			if info, err := os.Stat(target); err == nil && !info.IsDir() {
				saved = true
				if p, err = plan.Load(target); err != nil {
					return &exitError{code: exitFail, msg: err.Error()}
				}
				if p.Signature == "" {
					return &exitError{code: exitFail, msg: target + " is not signed: save plans with callflow plan -out FILE"}
				}
				fmt.Fprintf(w, "Applying the plan saved in %s (made %s against version %d).\n", target, p.CreatedAt.Local().Format("2006-01-02 15:04:05"), p.Base)
			} else {
				if p, err = makePlan(ctx, cmd, st, target); err != nil {
					return err
				}
			}
			if err := writePlan(w, p, st, saved); err != nil {
				return err
			}
			if !p.HasChanges() {
				return nil
			}
			if draft {
				if err := p.DraftProblem(); err != nil {
					return &exitError{code: exitFail, msg: err.Error()}
				}
			}
			// A saved plan was reviewed when it was made; it applies as is.
			if !autoApprove && !saved {
				if !isTerminal(os.Stdin) {
					return usagef("apply needs confirmation: standard input is not a terminal, so pass --auto-approve to apply without asking")
				}
				fmt.Fprint(w, "\nApply these changes? Only 'yes' is accepted: ")
				answer, _ := bufio.NewReader(os.Stdin).ReadString('\n')
				if strings.TrimSpace(answer) != "yes" {
					return &exitError{code: exitFail, msg: "apply cancelled; nothing changed"}
				}
			}
			applied, err := applyPlan(ctx, st, p, inventory, draft)
			if err != nil {
				return err
			}
			if draft {
				for _, f := range p.Flows {
					if v, ok := applied.Drafts[f.Name]; ok {
						fmt.Fprintf(w, "Saved flow %s as draft version %d. Compare with: callflow diff %s; publish with: callflow publish %s\n", f.Name, v, f.Name, f.Name)
					}
				}
				if len(applied.Drafts) == 0 {
					fmt.Fprintln(w, "No flow changed; no draft saved.")
				}
				return nil
			}
			fmt.Fprintf(w, "\nApplied version %d.\n", applied.Version.ID)
			return nil
		},
	}
	addDBFlag(cmd, &db)
	cmd.Flags().BoolVar(&autoApprove, "auto-approve", false, "apply without asking for confirmation")
	cmd.Flags().BoolVar(&draft, "draft", false, "store changed flows as drafts, without making them live")
	addInventoryFlag(cmd, &inventory)
	return cmd
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// applyPlan applies p (or stores its flows as drafts): the prompts of its
// changed flows are prepared, and the numbers it takes or gives back go
// through the inventory (--inventory, else the one in the plan's
// directory).
func applyPlan(ctx context.Context, st *store.Store, p *plan.Plan, inventory string, draft bool) (plan.Applied, error) {
	opts := plan.Options{AppliedBy: whoAmI(), Draft: draft, Prompts: promptCache()}
	if !draft && len(p.Provision)+len(p.Release) > 0 {
		inv, err := loadInventory(inventory, p.Dir)
		if err != nil {
			return plan.Applied{}, err
		}
		opts.Numbers = inv
	}
	applied, err := plan.Apply(ctx, st, p, opts)
	if err != nil {
		return applied, staleError(err)
	}
	return applied, nil
}

// promptCache prepares prompts when flows are applied; what it makes is
// stored with the flows, and the cache only saves rendering the same
// prompt twice on this machine.
func promptCache() *prompt.Cache {
	return &prompt.Cache{Dir: filepath.Join(os.TempDir(), "callflow-prompts")}
}
