package main

import "github.com/spf13/cobra"

func newBillingCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "billing",
		Short: "Run the monthly billing job",
	}
	return groupCmd(cmd, newBillingRunCmd())
}
