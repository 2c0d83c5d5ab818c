package main

import "github.com/spf13/cobra"

func newCallsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "calls",
		Short: "The call history: incoming, outgoing and missed calls",
		Long: `calls shows the call history (S28): each call's type (incoming, outgoing,
missed), agent, from, to, number, flow and version, the states it passed,
when it started, was answered and ended, its duration, recording and the
credits it used, and how it ended.

  callflow calls list            filter and show calls (table, json or csv)
  callflow calls export --csv F  write the history as a CSV file`,
	}
	return groupCmd(cmd, newCallsListCmd(), newCallsExportCmd())
}
