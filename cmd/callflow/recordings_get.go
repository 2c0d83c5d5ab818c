package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/store"
)

func newRecordingsGetCmd() *cobra.Command {
	var db, out string
	get := &cobra.Command{
		Use:   "get ID -o FILE",
		Short: "Fetch a recording as a WAV file",
		Long: `get copies recording ID — a call recording or a voicemail message, listed
with its call in the history (S12) — to FILE.`,
		Example: `  callflow recordings get rec-1234 -o message.wav`,
		Args:    argsBetween(1, 1),
		PreRunE: func(*cobra.Command, []string) error {
			if out == "" {
				return usagef("name the file to write with -o FILE")
			}
			return nil
		},
		RunE: withStore(&db, nil, func(cmd *cobra.Command, args []string, st *store.Store) error {
			rec, err := st.Recording(cmd.Context(), args[0])
			if err != nil {
				return notFound(err)
			}
			if !rec.DeletedAt.IsZero() {
				return &exitError{code: exitFail, msg: fmt.Sprintf("recording %s was deleted on %s (%s)", rec.ID, rec.DeletedAt.Local().Format("2006-01-02"), rec.DeletedWhy)}
			}
			data, err := os.ReadFile(rec.Path)
			if errors.Is(err, os.ErrNotExist) {
				return &exitError{code: exitFail, msg: fmt.Sprintf("recording %s's audio is missing from %s", rec.ID, rec.Path)}
			}
			if err != nil {
				return err
			}
			if err := writeFileAtomic(out, data); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Wrote recording %s (%ds, call %s) to %s.\n", rec.ID, rec.Seconds, rec.CallID, out)
			return nil
		}),
	}
	addDBFlag(get, &db)
	get.Flags().StringVarP(&out, "output", "o", "", "the WAV file to write")
	return get
}

// writeFileAtomic writes data to name through a temporary file beside it.
func writeFileAtomic(name string, data []byte) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}
