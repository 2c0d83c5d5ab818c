package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/store"
)

func newBillingRunCmd() *cobra.Command {
	var db, format string
	run := &cobra.Command{
		Use:   "run",
		Short: "Charge the monthly fees that are due",
		Long: `run does what is due. It charges this calendar month's fee of every live
number (by type and country) and of the recording storage plan (S1). Each
fee is charged once per item and month, however often the job runs or if it
crashed part-way, so it is safe to run from cron or any scheduler. A fee the
balance cannot pay is not dropped: it is reported, and a notification says
which. It also deletes recordings older than recordings { delete_after }
allows (S9), keeping a row for each as an audit trail.`,
		Args: argsBetween(0, 0),
		RunE: withStore(&db, &format, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			job, err := billing.RunJob(cmd.Context(), st)
			if err != nil {
				return err
			}
			results, expired, l := job.Fees, job.Expired, job.Ledger
			unpaid, failed, expireErr := job.Unpaid, job.Failed, job.ExpireErr
			w := cmd.OutOrStdout()
			if format == "json" {
				if results == nil {
					results = []billing.FeeResult{}
				}
				if err := encodeJSON(w, map[string]any{"fees": results, "recordings_deleted": expired}); err != nil {
					return err
				}
			} else {
				if expired > 0 {
					fmt.Fprintf(w, "Deleted %d recording(s) older than %s.\n", expired, job.Model.Recordings.DeleteAfter)
				}
				if len(results) == 0 {
					fmt.Fprintf(w, "Nothing is charged monthly.\n")
				} else {
					tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
					fmt.Fprintf(tw, "FEES FOR %s\tMONTH\tCREDITS\tOUTCOME\n", l.Clock.Now().UTC().Format("2006-01"))
					for _, r := range results {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Item, r.Month, r.Fee, r.Outcome)
					}
					tw.Flush()
				}
			}
			if expireErr != nil {
				return &exitError{code: exitFail, msg: "recording retention: " + expireErr.Error()}
			}
			if failed > 0 {
				return &exitError{code: exitFail, msg: fmt.Sprintf("%d fee(s) failed; run again", failed)}
			}
			if unpaid > 0 {
				return &exitError{code: exitFail, msg: fmt.Sprintf("%d fee(s) could not be paid; they stay due: buy credits and run again (see callflow notifications)", unpaid)}
			}
			return nil
		}),
	}
	addDBFlag(run, &db)
	run.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return run
}
