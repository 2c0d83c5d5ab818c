package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/store"

	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/numbers"
	"github.com/callflow/callflow/plan"
)

// EnvInventory names the environment variable that locates the trunk
// inventory file.
const EnvInventory = "CALLFLOW_INVENTORY"

func addInventoryFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVar(path, "inventory", "", "the trunk's number inventory, a CSV of e164,type,region (default $"+EnvInventory+", else "+numbers.InventoryFile+" in DIR)")
}

// loadInventory reads the inventory named by the flag, the environment,
// or the default file in dir.
func loadInventory(path, dir string) (*numbers.Inventory, error) {
	if path == "" {
		path = os.Getenv(EnvInventory)
	}
	if path == "" {
		path = filepath.Join(dir, numbers.InventoryFile)
	}
	inv, err := numbers.LoadInventory(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &exitError{code: exitFail, msg: fmt.Sprintf("no number inventory at %s: list the numbers your SIP trunk carries there, one e164,type,region per line, or name the file with --inventory", path)}
	}
	if err != nil {
		return nil, &exitError{code: exitFail, msg: err.Error()}
	}
	return inv, nil
}

func newNumbersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "numbers",
		Short: "List the numbers that can be taken, and the numbers in use",
		Long: `numbers shows phone numbers (S13–S16). A number is taken by declaring it in
a number block and applying; removing the block releases it.

  callflow numbers available   numbers the trunk offers that are not in use
  callflow numbers list        the live numbers, each with its flow`,
	}
	return groupCmd(cmd, newNumbersAvailableCmd(), newNumbersListCmd())
}

func newNumbersAvailableCmd() *cobra.Command {
	var db, inventory, country, kind, region, format string
	cmd := &cobra.Command{
		Use:   "available",
		Short: "List the numbers that can be taken",
		Long: `available lists the numbers on the trunk's inventory that no live
configuration uses, filtered by country, type and region (S14). Not every
type exists in every country; it says so when that is why nothing is found.

The inventory is --inventory, else $CALLFLOW_INVENTORY, else inventory.csv
in the current directory.`,
		Example: `  callflow numbers available --country US --type local --region CA
  callflow numbers available --country GB --type toll_free --format json`,
		Args: argsBetween(0, 0),
		PreRunE: func(*cobra.Command, []string) error {
			if kind != "" && !slices.Contains(compiler.NumberTypes, kind) {
				return usagef("--type %q: use one of %s", kind, strings.Join(compiler.NumberTypes, ", "))
			}
			return nil
		},
		RunE: withStore(&db, &format, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			ctx := cmd.Context()
			country = strings.ToUpper(country)
			inv, err := loadInventory(inventory, ".")
			if err != nil {
				return err
			}
			held, err := st.ProvisionedNumbers(ctx)
			if err != nil {
				return err
			}
			taken := map[string]bool{}
			for e := range held {
				taken[e] = true
			}
			offers, err := inv.Available(ctx, numbers.Query{Country: country, Type: kind, Region: region}, taken)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if format == "json" {
				if offers == nil {
					offers = []numbers.Offer{}
				}
				return encodeJSON(w, offers)
			}
			if len(offers) == 0 {
				fmt.Fprintln(w, noOffers(country, kind, region))
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NUMBER\tTYPE\tCOUNTRY\tREGION")
			for _, o := range offers {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.E164, o.Type, o.Country, o.Region)
			}
			return tw.Flush()
		}),
	}
	addDBFlag(cmd, &db)
	addInventoryFlag(cmd, &inventory)
	cmd.Flags().StringVar(&country, "country", "", "ISO country code, such as US")
	cmd.Flags().StringVar(&kind, "type", "", "local, mobile or toll_free")
	cmd.Flags().StringVar(&region, "region", "", "part of the region, such as CA or London")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// noOffers explains an empty result.
func noOffers(country, kind, region string) string {
	what := "numbers"
	if kind != "" {
		what = strings.ReplaceAll(kind, "_", "-") + " numbers"
	}
	if country != "" && kind != "" && !numbers.TypeExists(country, kind) {
		return fmt.Sprintf("%s has no %s at all: the numbering plan of %s has no such type. Try another type.", country, what, country)
	}
	where := ""
	if country != "" {
		where += " in " + country
	}
	if region != "" {
		where += " matching region " + region
	}
	return fmt.Sprintf("No %s%s are available on the trunk: the inventory lists none that is not already in use. Ask your carrier to route more numbers to the trunk, and add them to the inventory.", what, where)
}

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
