package main

import "github.com/spf13/cobra"

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
