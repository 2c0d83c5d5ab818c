package main

import "github.com/spf13/cobra"

func newRecordingsCmd() *cobra.Command {
	return groupCmd(&cobra.Command{Use: "recordings", Short: "Call recordings and voicemail messages"}, newRecordingsGetCmd())
}
