package main

import "github.com/spf13/cobra"

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
