package main

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/numbers"
	"github.com/callflow/callflow/store"
)

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
