package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/store"
)

// callFilterFlags are the filters of calls list and calls export.
type callFilterFlags struct {
	kind, agent, since, until string
	min, max                  time.Duration
}

func (f *callFilterFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.kind, "type", "", "incoming, outgoing or missed")
	cmd.Flags().StringVar(&f.agent, "agent", "", "only calls this user answered or placed")
	cmd.Flags().DurationVar(&f.min, "min-duration", 0, "only calls at least this long, such as 30s or 2m")
	cmd.Flags().DurationVar(&f.max, "max-duration", 0, "only calls at most this long")
	cmd.Flags().StringVar(&f.since, "since", "", "only calls started on or after this date (YYYY-MM-DD) or time (RFC 3339)")
	cmd.Flags().StringVar(&f.until, "until", "", "only calls started before this date or time")
}

func (f *callFilterFlags) filter() (store.CallFilter, error) {
	out := store.CallFilter{Type: f.kind, Agent: f.agent, MinDuration: f.min, MaxDuration: f.max}
	if f.kind != "" && f.kind != "incoming" && f.kind != "outgoing" && f.kind != "missed" {
		return out, usagef("--type %q: use incoming, outgoing or missed", f.kind)
	}
	var err error
	if out.Since, err = parseWhen(f.since, "--since"); err != nil {
		return out, err
	}
	if out.Until, err = parseWhen(f.until, "--until"); err != nil {
		return out, err
	}
	return out, nil
}

func parseWhen(s, flag string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, usagef("%s %q: write a date, 2026-11-01, or a time, 2026-11-01T09:00:00Z", flag, s)
}
