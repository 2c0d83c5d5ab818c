package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/plan"
	"github.com/callflow/callflow/store"
)

func newVersionsCmd() *cobra.Command {
	var db, format string
	cmd := &cobra.Command{
		Use:   "versions [FLOW]",
		Short: "List the versions of the configuration, or of one flow",
		Long: `versions lists every version of the live configuration, oldest first: its
number, when and by whom it was applied, the Git commit, and what it did.

With FLOW, it lists the stored versions of that flow instead, marking the
one that is live and the draft, and the configuration versions that ran
each one.`,
		Example: `  callflow versions
  callflow versions support --format json`,
		Args: argsBetween(0, 1),
		RunE: withStore(&db, &format, func(cmd *cobra.Command, args []string, st *store.Store) error {
			ctx := cmd.Context()
			w := cmd.OutOrStdout()
			if len(args) == 0 {
				vs, err := st.Versions(ctx)
				if err != nil {
					return err
				}
				if format == "json" {
					return encodeJSON(w, versionsJSON(vs))
				}
				if len(vs) == 0 {
					fmt.Fprintf(w, "Nothing has been applied to %s yet.\n", st)
					return nil
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "VERSION\tAPPLIED\tBY\tCOMMIT\tKIND\tCHANGE")
				for _, v := range vs {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.CreatedAt.Local().Format("2006-01-02 15:04"), v.AppliedBy, short(v.GitCommit), v.Kind, v.Message)
				}
				return tw.Flush()
			}
			flow := args[0]
			hist, err := st.FlowHistory(ctx, flow)
			if err != nil {
				return err
			}
			if len(hist) == 0 {
				return &exitError{code: exitFail, msg: fmt.Sprintf("the store has no flow named %q", flow)}
			}
			live, err := st.Live(ctx)
			if err != nil {
				return err
			}
			draft, err := st.Draft(ctx, flow)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			ranIn, err := st.LiveFlowVersions(ctx, flow)
			if err != nil {
				return err
			}
			rows := make([]flowVersionDoc, 0, len(hist))
			for _, fv := range hist {
				row := flowVersionDoc{Version: fv.Version, CreatedAt: fv.CreatedAt, AppliedBy: fv.AppliedBy, GitCommit: fv.GitCommit,
					Live: live.Flows[flow] == fv.Version, Draft: draft.Version == fv.Version, InConfigVersions: []int64{}}
				for c, v := range ranIn {
					if v == fv.Version {
						row.InConfigVersions = append(row.InConfigVersions, c)
					}
				}
				sortInt64(row.InConfigVersions)
				rows = append(rows, row)
			}
			if format == "json" {
				return encodeJSON(w, rows)
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "FLOW %s\tSTORED\tBY\tCOMMIT\tSTATUS\tLIVE IN VERSIONS\n", flow)
			for _, r := range rows {
				status := ""
				switch {
				case r.Live:
					status = "live"
				case r.Draft:
					status = "draft"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.Version, r.CreatedAt.Local().Format("2006-01-02 15:04"), r.AppliedBy, short(r.GitCommit), status, int64List(r.InConfigVersions))
			}
			return tw.Flush()
		}),
	}
	addDBFlag(cmd, &db)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

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

// flowVersionArg reads a VERSION argument and loads that version.
func flowVersionArg(cmd *cobra.Command, st *store.Store, flow, arg string) (store.FlowVersion, error) {
	n, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || n < 1 {
		return store.FlowVersion{}, usagef("VERSION must be a version number such as 2, not %q; 'callflow versions %s' lists them", arg, flow)
	}
	fv, err := st.FlowVersion(cmd.Context(), flow, n)
	if err != nil {
		return fv, notFound(err)
	}
	return fv, nil
}

// notFound turns a store.ErrNotFound into a plain failure.
func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return &exitError{code: exitFail, msg: err.Error()}
	}
	return err
}

// short shortens a commit for a table, keeping "-dirty".
func short(commit string) string {
	hash, dirty := strings.CutSuffix(commit, "-dirty")
	if len(hash) > 12 {
		hash = hash[:12]
	}
	if hash == "" {
		return "-"
	}
	if dirty {
		hash += "-dirty"
	}
	return hash
}

type versionDoc struct {
	Version   int64  `json:"version"`
	AppliedAt string `json:"applied_at"`
	AppliedBy string `json:"applied_by"`
	GitCommit string `json:"git_commit"`
	Kind      string `json:"kind"`
	Message   string `json:"message"`
}

func versionsJSON(vs []store.Version) []versionDoc {
	out := make([]versionDoc, 0, len(vs))
	for _, v := range vs {
		out = append(out, versionDoc{v.ID, v.CreatedAt.Format("2006-01-02T15:04:05Z07:00"), v.AppliedBy, v.GitCommit, v.Kind, v.Message})
	}
	return out
}

type flowVersionDoc struct {
	Version          int64     `json:"version"`
	CreatedAt        time.Time `json:"stored_at"`
	AppliedBy        string    `json:"applied_by"`
	GitCommit        string    `json:"git_commit"`
	Live             bool      `json:"live"`
	Draft            bool      `json:"draft"`
	InConfigVersions []int64   `json:"live_in_versions"`
}

func sortInt64(xs []int64) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

func int64List(xs []int64) string {
	s := ""
	for i, x := range xs {
		if i > 0 {
			s += ", "
		}
		s += strconv.FormatInt(x, 10)
	}
	if s == "" {
		return "-"
	}
	return s
}
