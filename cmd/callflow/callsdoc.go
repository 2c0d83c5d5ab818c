package main

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/store"
)

func writeCallsCSV(w io.Writer, calls []store.Call) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "type", "agent", "from", "to", "number", "flow", "flow_version", "started", "answered", "ended", "duration_s", "recording_s", "credits", "ending", "path", "queue_wait_s", "note"})
	for _, c := range calls {
		cw.Write([]string{c.ID, c.Type(), c.Agent, c.From, c.To, c.NumberName, c.Flow, strconv.FormatInt(c.FlowVersion, 10),
			rfc(c.StartedAt), rfc(c.AnsweredAt), rfc(c.EndedAt), strconv.FormatInt(int64(c.Duration().Seconds()), 10),
			strconv.FormatInt(c.RecordingS, 10), billing.Micro(c.Credits).String(), c.Ending, strings.Join(c.Path, " "),
			strconv.FormatInt(int64(c.QueueWait.Seconds()), 10), c.Note})
	}
	cw.Flush()
	return cw.Error()
}

// recordingID is the ID of a call's recording (a bridged call's, or a
// voicemail message), which serve saves as rec-CALLID; "" for none.
func recordingID(c store.Call) string {
	if c.RecordingS == 0 {
		return ""
	}
	return "rec-" + c.ID
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
	Recording   string   `json:"recording,omitempty"` // the ID for callflow recordings get
	QueueWaitS  float64  `json:"queue_wait_s"`        // time in a queue
	Note        string   `json:"note,omitempty"`      // why a recording was not kept, and the like
}

func callsJSON(calls []store.Call) []callDoc {
	out := make([]callDoc, 0, len(calls))
	for _, c := range calls {
		out = append(out, callDoc{c.ID, c.Type(), c.Agent, c.From, c.To, c.NumberName, c.Flow, c.FlowVersion, c.Path,
			rfc(c.StartedAt), rfc(c.AnsweredAt), rfc(c.EndedAt), int64(c.Duration().Seconds()), c.RecordingS, c.Credits, c.Ending,
			recordingID(c), c.QueueWait.Round(time.Millisecond).Seconds(), c.Note})
	}
	return out
}
