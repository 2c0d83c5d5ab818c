package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/billing"
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

func newCallsListCmd() *cobra.Command {
	var db, format string
	var f callFilterFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List calls, newest first",
		Example: `  callflow calls list --type missed --since 2026-11-01
  callflow calls list --agent dana --min-duration 1m --format csv`,
		Args: argsBetween(0, 0),
		PreRunE: func(*cobra.Command, []string) error {
			_, err := f.filter()
			if err == nil {
				err = checkFormat(format, "table", "json", "csv")
			}
			return err
		},
		RunE: withStore(&db, nil, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			filter, _ := f.filter()
			calls, err := st.Calls(cmd.Context(), filter)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			switch format {
			case "json":
				return encodeJSON(w, callsJSON(calls))
			case "csv":
				return writeCallsCSV(w, calls)
			}
			if len(calls) == 0 {
				fmt.Fprintln(w, "No calls match.")
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "STARTED\tTYPE\tFROM\tTO\tAGENT\tDURATION\tRECORDED\tCREDITS\tENDING\tPATH")
			for _, c := range calls {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.StartedAt.Local().Format("2006-01-02 15:04:05"), c.Type(), c.From, c.To,
					dash(c.Agent), c.Duration().Round(time.Second), (time.Duration(c.RecordingS) * time.Second), billing.Micro(c.Credits), c.Ending, strings.Join(c.Path, " → "))
			}
			return tw.Flush()
		}),
	}
	addDBFlag(cmd, &db)
	f.add(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, json or csv")
	return cmd
}

func newCallsExportCmd() *cobra.Command {
	var db, file string
	var f callFilterFlags
	cmd := &cobra.Command{
		Use:   "export --csv FILE",
		Short: "Write the call history as a CSV file",
		Long: `export writes the calls that match the filters (all of them by default) to
FILE as CSV, one call a line with a header line, for spreadsheets (S28).
"-" writes to standard output.`,
		Example: `  callflow calls export --csv calls-2026-11.csv --since 2026-11-01 --until 2026-12-01`,
		Args:    argsBetween(0, 0),
		PreRunE: func(*cobra.Command, []string) error {
			if file == "" {
				return usagef("name the file with --csv FILE")
			}
			_, err := f.filter()
			return err
		},
		RunE: withStore(&db, nil, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			filter, _ := f.filter()
			calls, err := st.Calls(cmd.Context(), filter)
			if err != nil {
				return err
			}
			if file == "-" {
				return writeCallsCSV(cmd.OutOrStdout(), calls)
			}
			out, err := os.Create(file)
			if err != nil {
				return err
			}
			if err := writeCallsCSV(out, calls); err != nil {
				out.Close()
				return err
			}
			if err := out.Close(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Wrote %d call(s) to %s.\n", len(calls), file)
			return nil
		}),
	}
	addDBFlag(cmd, &db)
	f.add(cmd)
	cmd.Flags().StringVar(&file, "csv", "", "the CSV file to write, or - for standard output")
	return cmd
}

func writeCallsCSV(w io.Writer, calls []store.Call) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "type", "agent", "from", "to", "number", "flow", "flow_version", "started", "answered", "ended", "duration_s", "recording_s", "credits", "ending", "path"})
	for _, c := range calls {
		cw.Write([]string{c.ID, c.Type(), c.Agent, c.From, c.To, c.NumberName, c.Flow, strconv.FormatInt(c.FlowVersion, 10),
			rfc(c.StartedAt), rfc(c.AnsweredAt), rfc(c.EndedAt), strconv.FormatInt(int64(c.Duration().Seconds()), 10),
			strconv.FormatInt(c.RecordingS, 10), billing.Micro(c.Credits).String(), c.Ending, strings.Join(c.Path, " ")})
	}
	cw.Flush()
	return cw.Error()
}

func rfc(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

type callDoc struct {
	ID          string   `json:"id"`
	Type        string   `json:"type"`
	Agent       string   `json:"agent,omitempty"`
	From        string   `json:"from"`
	To          string   `json:"to"`
	Number      string   `json:"number"`
	Flow        string   `json:"flow"`
	FlowVersion int64    `json:"flow_version"`
	Path        []string `json:"path"`
	Started     string   `json:"started"`
	Answered    string   `json:"answered,omitempty"`
	Ended       string   `json:"ended,omitempty"`
	DurationS   int64    `json:"duration_s"`
	RecordingS  int64    `json:"recording_s"`
	CreditsM    int64    `json:"credits_micro"`
	Ending      string   `json:"ending"`
}

func callsJSON(calls []store.Call) []callDoc {
	out := make([]callDoc, 0, len(calls))
	for _, c := range calls {
		out = append(out, callDoc{c.ID, c.Type(), c.Agent, c.From, c.To, c.NumberName, c.Flow, c.FlowVersion, c.Path,
			rfc(c.StartedAt), rfc(c.AnsweredAt), rfc(c.EndedAt), int64(c.Duration().Seconds()), c.RecordingS, c.Credits, c.Ending})
	}
	return out
}

func newRecordingsCmd() *cobra.Command {
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
	return groupCmd(&cobra.Command{Use: "recordings", Short: "Call recordings and voicemail messages"}, get)
}

// writeFileAtomic writes data to name through a temporary file beside it.
func writeFileAtomic(name string, data []byte) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}
