package main

import "github.com/spf13/cobra"

func newStorageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "storage",
		Short: "Recording storage: minutes used and left",
	}
	return groupCmd(cmd, newStorageUsageCmd())
}
