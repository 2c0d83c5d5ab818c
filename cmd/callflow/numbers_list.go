package main

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/plan"
	"github.com/callflow/callflow/store"
)

func newNumbersListCmd() *cobra.Command {
	var db, format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the live numbers, each with the flow that answers it",
		Long: `list shows every number of the live configuration with its type, country
and the flow that answers it, or "calls rejected" when no flow does (S16).`,
		Args: argsBetween(0, 0),
		RunE: withStore(&db, &format, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			ctx := cmd.Context()
			live, err := st.Live(ctx)
			if err != nil {
				return err
			}
			snap := plan.Empty()
			if live.Version.ID != 0 {
				if snap, err = plan.ParseSnapshot(live.Config); err != nil {
					return err
				}
			}
			rows := numberRows(snap)
			w := cmd.OutOrStdout()
			if format == "json" {
				return encodeJSON(w, rows)
			}
			if len(rows) == 0 {
				fmt.Fprintln(w, "No numbers are live.")
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tNUMBER\tTYPE\tCOUNTRY\tFLOW")
			for _, r := range rows {
				flow := r.Flow
				if flow == "" {
					flow = "calls rejected"
				} else if !r.FlowEnabled {
					flow += " (disabled: calls rejected)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, r.E164, r.Type, r.Country, flow)
			}
			return tw.Flush()
		}),
	}
	addDBFlag(cmd, &db)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

type numberRow struct {
	Name        string `json:"name"`
	E164        string `json:"e164"`
	Type        string `json:"type"`
	Country     string `json:"country"`
	Flow        string `json:"flow,omitempty"`
	FlowEnabled bool   `json:"flow_enabled"`
}

func numberRows(s *plan.Snapshot) []numberRow {
	answeredBy := map[string]string{}
	for name, f := range s.Flows {
		for _, ref := range plan.ListRefs(f.Settings["numbers"]) {
			if n, ok := strings.CutPrefix(ref, "number."); ok {
				answeredBy[n] = name
			}
		}
	}
	rows := []numberRow{}
	for name, n := range s.Numbers {
		r := numberRow{Name: name, E164: n["e164"], Type: n["type"], Flow: answeredBy[name]}
		if info, err := compiler.ParseNumber(r.E164); err == nil {
			r.Country = info.Region
		}
		r.FlowEnabled = r.Flow != "" && s.Flows[r.Flow].Settings["enabled"] == "true"
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	return rows
}
