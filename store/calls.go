package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Call is one call's record (S28): who called whom, on which number and
// flow, the path of states it took, the agent who answered, when it
// started, was answered and ended, its recording and the credits it used,
// and how it ended.
type Call struct {
	ID          string
	Direction   string // incoming | outgoing
	From, To    string // E.164 numbers (or a user's name for an outgoing call's caller)
	NumberName  string // the organisation's number involved, by name
	Flow        string
	FlowVersion int64
	Path        []string // state references, in order
	Agent       string   // the user who answered; "" if none did
	StartedAt   time.Time
	AnsweredAt  time.Time // zero when no human answered
	EndedAt     time.Time // zero while the call runs
	LastSeenAt  time.Time // the last moment the server knew the call was up
	RecordingS  int64     // seconds recorded
	Credits     int64     // micro-credits charged
	Ending      string    // the hang-up reason, or "server-stopped"
	// Node names the server that ran the call, so that after a crash a
	// node closes only its own calls; "" for calls of stores from before
	// nodes were recorded.
	Node string
	// QueueWait is how long the caller waited in a queue for an agent;
	// kept to the millisecond.
	QueueWait time.Duration
	// Note says, in a sentence, what the record alone does not: why a
	// recording was skipped, say; "" for nothing.
	Note string
}

// Type is the call's type as the history shows it: outgoing, incoming
// (a human answered) or missed.
func (c Call) Type() string {
	switch {
	case c.Direction == "outgoing":
		return "outgoing"
	case !c.AnsweredAt.IsZero():
		return "incoming"
	}
	return "missed"
}

// Duration is how long the call lasted, or has lasted so far.
func (c Call) Duration() time.Duration {
	end := c.EndedAt
	if end.IsZero() {
		end = c.LastSeenAt
	}
	return end.Sub(c.StartedAt)
}

func formatTimeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeLayout)
}

// SaveCall writes a call's record, creating it or replacing what is
// known of it. The server saves a call when it starts, as it goes, and
// when it ends, so that a crash loses at most the last moments.
func (s *Store) SaveCall(ctx context.Context, c Call) error {
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error { return s.saveCall(ctx, tx, c) })
}

// saveCall is SaveCall in a transaction of the caller's.
func (s *Store) saveCall(ctx context.Context, tx *sql.Tx, c Call) error {
	if c.LastSeenAt.IsZero() {
		c.LastSeenAt = c.StartedAt
	}
	_, err := s.execTx(ctx, tx, `INSERT INTO calls (id, direction, from_number, to_number, number_name, flow, flow_version, path, agent, started_at, answered_at, ended_at, last_seen_at, recording_s, credits, ending, node, queue_wait_ms, note)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET path = excluded.path, agent = excluded.agent, answered_at = excluded.answered_at, ended_at = excluded.ended_at,
	last_seen_at = excluded.last_seen_at, recording_s = excluded.recording_s, credits = excluded.credits, ending = excluded.ending,
	queue_wait_ms = excluded.queue_wait_ms, note = excluded.note`,
		c.ID, c.Direction, c.From, c.To, c.NumberName, c.Flow, c.FlowVersion, strings.Join(c.Path, " "), c.Agent,
		c.StartedAt.UTC().Format(timeLayout), formatTimeOrNull(c.AnsweredAt), formatTimeOrNull(c.EndedAt), c.LastSeenAt.UTC().Format(timeLayout),
		c.RecordingS, c.Credits, c.Ending, c.Node, c.QueueWait.Milliseconds(), c.Note)
	return err
}

// CloseUnfinished ends, at their last known time, the calls a crash of
// node left running, so that no call is lost from the history, and the
// calls of any node not seen since staleBefore: a running call's record is
// brought up to date every minute, so one not seen for minutes belongs to
// a server that is gone. Other calls, which may still be running, are left
// alone. Calls recorded before nodes were (node "") are closed by any
// node. It returns how many it closed.
func (s *Store) CloseUnfinished(ctx context.Context, node string, staleBefore time.Time) (int, error) {
	return s.closeCalls(ctx, `node = ? OR node = '' OR last_seen_at < ?`, node, staleBefore.UTC().Format(timeLayout))
}

// CloseStale closes, as CloseUnfinished does, only the open calls not
// seen since staleBefore, whatever their node: a running server calls it
// for the nodes that are gone.
func (s *Store) CloseStale(ctx context.Context, staleBefore time.Time) (int, error) {
	return s.closeCalls(ctx, `last_seen_at < ?`, staleBefore.UTC().Format(timeLayout))
}

// closeCalls ends the open calls that match where at their last known
// time, as server-stopped, and returns how many it closed.
func (s *Store) closeCalls(ctx context.Context, where string, args ...any) (int, error) {
	var n int64
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := s.execTx(ctx, tx, `UPDATE calls SET ended_at = last_seen_at, ending = 'server-stopped' WHERE ended_at IS NULL AND (`+where+`)`, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// OpenCalls returns the IDs of the calls whose records are not closed:
// the calls running on any node, and those of a node that crashed and has
// not started again.
func (s *Store) OpenCalls(ctx context.Context) (map[string]bool, error) {
	rows, err := s.query(ctx, s.db, `SELECT id FROM calls WHERE ended_at IS NULL`)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// CallFilter selects calls; zero fields match everything.
type CallFilter struct {
	Type         string // incoming | outgoing | missed
	Agent        string
	MinDuration  time.Duration
	MaxDuration  time.Duration // 0 for no limit
	Since, Until time.Time
}

// Calls lists the calls that match f, newest first.
func (s *Store) Calls(ctx context.Context, f CallFilter) ([]Call, error) {
	q := `SELECT id, direction, from_number, to_number, number_name, flow, flow_version, path, agent, started_at, COALESCE(answered_at, ''), COALESCE(ended_at, ''), last_seen_at, recording_s, credits, ending, node, queue_wait_ms, note FROM calls WHERE 1 = 1`
	var args []any
	if !f.Since.IsZero() {
		q += ` AND started_at >= ?`
		args = append(args, f.Since.UTC().Format(timeLayout))
	}
	if !f.Until.IsZero() {
		q += ` AND started_at < ?`
		args = append(args, f.Until.UTC().Format(timeLayout))
	}
	if f.Agent != "" {
		q += ` AND agent = ?`
		args = append(args, f.Agent)
	}
	rows, err := s.query(ctx, s.db, q+` ORDER BY started_at DESC, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	defer rows.Close()
	var out []Call
	for rows.Next() {
		var c Call
		var path, started, answered, ended, seen string
		var queueWaitMS int64
		if err := rows.Scan(&c.ID, &c.Direction, &c.From, &c.To, &c.NumberName, &c.Flow, &c.FlowVersion, &path, &c.Agent,
			&started, &answered, &ended, &seen, &c.RecordingS, &c.Credits, &c.Ending, &c.Node, &queueWaitMS, &c.Note); err != nil {
			return nil, err
		}
		c.QueueWait = time.Duration(queueWaitMS) * time.Millisecond
		c.Path = strings.Fields(path)
		c.StartedAt, c.LastSeenAt = parseTime(started), parseTime(seen)
		if answered != "" {
			c.AnsweredAt = parseTime(answered)
		}
		if ended != "" {
			c.EndedAt = parseTime(ended)
		}
		// Type and duration are derived, so they are filtered here.
		if (f.Type != "" && c.Type() != f.Type) || c.Duration() < f.MinDuration || (f.MaxDuration > 0 && c.Duration() > f.MaxDuration) {
			continue
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Recording returns one recording by id, or ErrNotFound.
func (s *Store) Recording(ctx context.Context, id string) (Recording, error) {
	var r Recording
	var at, del string
	err := s.queryRow(ctx, s.db, `SELECT id, call_id, kind, path, seconds, created_at, COALESCE(deleted_at, ''), COALESCE(deleted_why, '') FROM recordings WHERE id = ?`, id).
		Scan(&r.ID, &r.CallID, &r.Kind, &r.Path, &r.Seconds, &at, &del, &r.DeletedWhy)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("no recording %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	r.CreatedAt = parseTime(at)
	if del != "" {
		r.DeletedAt = parseTime(del)
	}
	return r, nil
}
