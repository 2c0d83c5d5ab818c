package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/live"
	"github.com/callflow/callflow/plan"
	"github.com/callflow/callflow/store"
)

// liveLedger opens the organisation's ledger as the live version
// configures it, and returns the typed live model with it (nil when
// nothing is applied).
func liveLedger(ctx context.Context, st *store.Store) (*billing.Ledger, *live.Model, error) {
	m, _, err := billing.LiveModel(ctx, st)
	if err != nil {
		return nil, nil, &exitError{code: exitFail, msg: err.Error()}
	}
	return billing.NewLedger(st, m), m, nil
}

func currencyOf(m *live.Model) string {
	if m == nil {
		return "USD"
	}
	return m.Organization.Currency
}

// money shows credits in the organisation's currency, converted with the
// live version's rate card; with nothing applied, with the default card.
func money(m *live.Model, amount billing.Micro) (string, error) {
	if m == nil {
		card, err := plan.RateCard(plan.Empty())
		if err != nil {
			return "", err
		}
		return card.Money(amount, currencyOf(m)), nil
	}
	return billing.NewRateCard(m.Rates).Money(amount, currencyOf(m)), nil
}

func newCreditsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "credits",
		Short: "Prepaid credits: balance, purchases, history and usage",
		Long: `credits pays for numbers, the recording storage plan and calls (S1–S6).
1 credit = 1 USD; amounts are also shown in the organisation's currency,
converted with the rate card's credit_value.

  callflow credits balance           the available balance (S2)
  callflow credits buy N             buy N credits (S3)
  callflow credits history           the purchase history (S6)
  callflow credits usage --period P  credits bought and used in a period (S5)`,
	}
	return groupCmd(cmd, newCreditsBalanceCmd(), newCreditsBuyCmd(), newCreditsHistoryCmd(), newCreditsUsageCmd())
}

func newCreditsBalanceCmd() *cobra.Command {
	var db, format string
	cmd := &cobra.Command{
		Use:   "balance",
		Short: "Show the available credits",
		Args:  argsBetween(0, 0),
		RunE: withStore(&db, &format, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			ctx := cmd.Context()
			l, snap, err := liveLedger(ctx, st)
			if err != nil {
				return err
			}
			available, reserved, err := l.Balance(ctx)
			if err != nil {
				return err
			}
			cur := currencyOf(snap)
			if format == "json" {
				return encodeJSON(cmd.OutOrStdout(), map[string]any{
					"available_micro": available, "reserved_micro": reserved, "currency": cur,
					"auto_recharge": l.AutoRecharge.Enabled,
				})
			}
			w := cmd.OutOrStdout()
			shown, err := money(snap, available)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "Available: %s credits (%s)\n", available, shown)
			if reserved > 0 {
				fmt.Fprintf(w, "Reserved for calls in progress: %s\n", reserved)
			}
			if ar := l.AutoRecharge; ar.Enabled {
				fmt.Fprintf(w, "Auto-recharge: buys %s credits when the balance falls below %s.\n", ar.Amount, ar.Threshold)
			}
			return nil
		}),
	}
	addDBFlag(cmd, &db)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func newCreditsBuyCmd() *cobra.Command {
	var db, format, key string
	var yes bool
	cmd := &cobra.Command{
		Use:   "buy N",
		Short: "Buy N credits",
		Long: `buy shows the price of N credits and asks for confirmation on a terminal
(--yes skips it, and is needed when standard input is not a terminal), then
records the purchase with your name ($CALLFLOW_USER, else your login) and
the date (S3, S6). Purchases go through the payment provider; the built-in
one records the purchase for the organisation's own invoicing.

--key makes the purchase idempotent: buying again with the same key does
nothing and reports the first purchase, so a script can retry safely.`,
		Example: `  callflow credits buy 50
  callflow credits buy 12.5 --yes --key invoice-2026-11`,
		Args: argsBetween(1, 1),
		PreRunE: func(_ *cobra.Command, args []string) error {
			if amount, err := billing.ParseCredits(args[0]); err != nil || amount == 0 {
				return usagef("%q: buy an amount of credits above zero, such as 50 or 12.5", args[0])
			}
			return nil
		},
		RunE: withStore(&db, &format, func(cmd *cobra.Command, args []string, st *store.Store) error {
			ctx := cmd.Context()
			amount, _ := billing.ParseCredits(args[0]) // checked in PreRunE
			l, snap, err := liveLedger(ctx, st)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			price, err := money(snap, amount)
			if err != nil {
				return err
			}
			if format != "json" {
				fmt.Fprintf(w, "%s credits cost %s.\n", amount, price)
			}
			if !yes {
				if !isTerminal(os.Stdin) {
					return usagef("buying needs confirmation: standard input is not a terminal, so pass --yes")
				}
				fmt.Fprint(w, "Buy them? Only 'yes' is accepted: ")
				answer, _ := bufio.NewReader(os.Stdin).ReadString('\n')
				if strings.TrimSpace(answer) != "yes" {
					return &exitError{code: exitFail, msg: "nothing bought"}
				}
			}
			user := whoAmI()
			if key == "" {
				key = fmt.Sprintf("buy:%s:%d", user, time.Now().UnixNano())
			}
			t, replay, err := l.BuyOnce(ctx, key, amount, user)
			if errors.Is(err, store.ErrIdempotencyConflict) {
				return &exitError{code: exitFail, msg: fmt.Sprintf("--key %s was already used for another purchase; nothing was bought. Use a new key for a new purchase", key)}
			}
			if err != nil {
				return &exitError{code: exitFail, msg: err.Error()}
			}
			available, _, err := l.Balance(ctx)
			if err != nil {
				return err
			}
			if format == "json" {
				return encodeJSON(w, map[string]any{"purchase": t.ID, "key": t.Key, "credits_micro": amount, "by": t.Actor, "date": t.CreatedAt, "available_micro": available})
			}
			if replay {
				fmt.Fprintf(w, "Already bought with --key %s (transaction %d by %s on %s); nothing new was bought. Available: %s.\n", key, t.ID, t.Actor, t.CreatedAt.Local().Format("2006-01-02"), available)
				return nil
			}
			fmt.Fprintf(w, "Bought %s credits (transaction %d) by %s on %s. Available: %s.\n", amount, t.ID, t.Actor, t.CreatedAt.Local().Format("2006-01-02"), available)
			return nil
		}),
	}
	addDBFlag(cmd, &db)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&yes, "yes", false, "buy without asking for confirmation")
	cmd.Flags().StringVar(&key, "key", "", "idempotency key: a purchase with the same key happens once")
	return cmd
}

// periodFlags are --period, --from and --to.
type periodFlags struct{ period, from, to string }

func (p *periodFlags) add(cmd *cobra.Command, def string) {
	cmd.PreRunE = func(*cobra.Command, []string) error {
		_, _, err := p.resolve(time.Now())
		return err
	}
	cmd.Flags().StringVar(&p.period, "period", def, "one of "+strings.Join(billing.Periods, ", ")+", or all")
	cmd.Flags().StringVar(&p.from, "from", "", "start date, YYYY-MM-DD (with --to)")
	cmd.Flags().StringVar(&p.to, "to", "", "end date, YYYY-MM-DD, included")
}

// resolve returns [from, to) for the flags.
func (p *periodFlags) resolve(now time.Time) (time.Time, time.Time, error) {
	if p.from != "" || p.to != "" {
		if p.from == "" || p.to == "" {
			return time.Time{}, time.Time{}, usagef("--from and --to go together")
		}
		from, err1 := time.ParseInLocation("2006-01-02", p.from, now.Location())
		to, err2 := time.ParseInLocation("2006-01-02", p.to, now.Location())
		if err1 != nil || err2 != nil {
			return time.Time{}, time.Time{}, usagef("--from and --to are dates written YYYY-MM-DD, such as 2026-11-01")
		}
		if to.Before(from) {
			return time.Time{}, time.Time{}, usagef("--to %s is before --from %s", p.to, p.from)
		}
		return from, to.AddDate(0, 0, 1), nil
	}
	if p.period == "all" {
		return time.Time{}, now.AddDate(100, 0, 0), nil
	}
	from, to, err := billing.PeriodRange(p.period, now)
	if err != nil {
		return from, to, usagef("--period: %v", err)
	}
	return from, to, nil
}

// ledger resolves the period and opens the organisation's ledger.
func (p *periodFlags) ledger(ctx context.Context, st *store.Store) (*billing.Ledger, time.Time, time.Time, error) {
	from, to, err := p.resolve(time.Now())
	if err != nil {
		return nil, from, to, err
	}
	l, _, err := liveLedger(ctx, st)
	return l, from, to, err
}

func newCreditsHistoryCmd() *cobra.Command {
	var db, format string
	var period periodFlags
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List purchases: date, purchasing user, credits",
		Args:  argsBetween(0, 0),
		RunE: withStore(&db, &format, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			ctx := cmd.Context()
			l, from, to, err := period.ledger(ctx, st)
			if err != nil {
				return err
			}
			ps, err := l.Purchases(ctx, from, to)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if format == "json" {
				return encodeJSON(w, ps)
			}
			if len(ps) == 0 {
				fmt.Fprintln(w, "No purchases in the period.")
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "DATE\tUSER\tCREDITS")
			for _, p := range ps {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Date.Local().Format("2006-01-02 15:04"), p.User, p.Amount)
			}
			return tw.Flush()
		}),
	}
	addDBFlag(cmd, &db)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	period.add(cmd, "all")
	return cmd
}

func newCreditsUsageCmd() *cobra.Command {
	var db, format string
	var period periodFlags
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Show credits bought and used in a period, by kind, with a chart",
		Long: `usage adds up the credits bought and the credits used in a period — this or
last quarter, month or week, or --from/--to — with what they were used for:
calls, numbers and storage (S5). Weeks start on Monday.`,
		Example: `  callflow credits usage --period last-month
  callflow credits usage --from 2026-10-01 --to 2026-10-31 --format json`,
		Args: argsBetween(0, 0),
		RunE: withStore(&db, &format, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			ctx := cmd.Context()
			l, from, to, err := period.ledger(ctx, st)
			if err != nil {
				return err
			}
			u, err := l.Usage(ctx, from, to)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if format == "json" {
				return encodeJSON(w, u)
			}
			if from.IsZero() {
				fmt.Fprintln(w, "Credits, all time:")
			} else {
				fmt.Fprintf(w, "Credits from %s to %s:\n", from.Format("2006-01-02"), to.AddDate(0, 0, -1).Format("2006-01-02"))
			}
			rows := []barRow{{"bought", u.Bought}, {"used", u.Used}}
			for _, k := range billing.UsageKinds {
				rows = append(rows, barRow{"  " + k, u.ByKind[k]})
			}
			writeBars(w, rows)
			return nil
		}),
	}
	addDBFlag(cmd, &db)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	period.add(cmd, "this-month")
	return cmd
}

type barRow struct {
	label string
	value billing.Micro
}

// barWidth is the longest bar, in characters.
const barWidth = 30

// writeBars draws a horizontal bar chart scaled to the largest value.
func writeBars(w io.Writer, rows []barRow) {
	var most billing.Micro
	for _, r := range rows {
		most = max(most, r.value)
	}
	for _, r := range rows {
		n := 0
		if most > 0 {
			n = int((int64(r.value)*barWidth + int64(most) - 1) / int64(most))
		}
		fmt.Fprintf(w, "  %-10s %-*s %10s\n", r.label, barWidth, strings.Repeat("█", n), r.value)
	}
}

func newStorageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "storage",
		Short: "Recording storage: minutes used and left",
	}
	var db, format string
	usage := &cobra.Command{
		Use:   "usage",
		Short: "Show the recording minutes used and left in the storage plan",
		Long: `usage shows the live storage plan, the minutes of recordings kept, and the
minutes left, with a chart (S7). When the plan is full, new recordings are
not saved (the calls go on) and a notification says so; choose a larger
plan in recordings { plan } and apply it.`,
		Args: argsBetween(0, 0),
		RunE: withStore(&db, &format, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			ctx := cmd.Context()
			_, snap, err := liveLedger(ctx, st)
			if err != nil {
				return err
			}
			u, err := billing.NewRecordings(st, snap).Usage(ctx)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if format == "json" {
				return encodeJSON(w, u)
			}
			fmt.Fprintf(w, "Storage plan %s: %d of %d minutes used, %d left.\n", u.Plan, u.UsedMin, u.LimitMin, u.LeftMin)
			n := int(u.UsedMin * barWidth / u.LimitMin)
			fmt.Fprintf(w, "  [%s%s] %d%%\n", strings.Repeat("█", min(n, barWidth)), strings.Repeat("·", max(0, barWidth-n)), u.UsedMin*100/u.LimitMin)
			return nil
		}),
	}
	addDBFlag(usage, &db)
	usage.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return groupCmd(cmd, usage)
}

func newBillingCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "billing",
		Short: "Run the monthly billing job",
	}
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
	return groupCmd(cmd, run)
}

func newNotificationsCmd() *cobra.Command {
	var db, format string
	cmd := &cobra.Command{
		Use:   "notifications",
		Short: "List notifications: low balance, auto-recharge, unpaid fees…",
		Args:  argsBetween(0, 0),
		RunE: withStore(&db, &format, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			ns, err := st.Notifications(cmd.Context())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if format == "json" {
				docs := make([]notificationDoc, 0, len(ns))
				for _, n := range ns {
					docs = append(docs, notificationDoc{n.ID, n.Kind, n.Message, n.CreatedAt})
				}
				return encodeJSON(w, docs)
			}
			if len(ns) == 0 {
				fmt.Fprintln(w, "No notifications.")
				return nil
			}
			for _, n := range ns {
				fmt.Fprintf(w, "%s  %-20s %s\n", n.CreatedAt.Local().Format("2006-01-02 15:04"), n.Kind, n.Message)
			}
			return nil
		}),
	}
	addDBFlag(cmd, &db)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

type notificationDoc struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"`
	Message   string    `json:"message"`
	CreatedAt time.Time `json:"created_at"`
}
