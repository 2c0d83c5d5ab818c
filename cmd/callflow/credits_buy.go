package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/store"
)

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
