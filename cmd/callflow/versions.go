package main

import (
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

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
