package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/store"
)

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
