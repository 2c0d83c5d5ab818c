package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Agent call states.
const (
	AgentRinging   = "ringing"
	AgentConnected = "connected"
)

// AgentCall says that a user's phones ring for a call, or that the user
// is on it (presence). Rows live in the store so that a user busy on one
// node is busy on all.
type AgentCall struct {
	CallID string
	User   string
	State  string // AgentRinging or AgentConnected
	Node   string // the node running the call
	Since  time.Time
}

// SetAgentCall records a's state, creating or replacing the row of its
// call and user. Since defaults to now.
func (s *Store) SetAgentCall(ctx context.Context, a AgentCall) error {
	if a.Since.IsZero() {
		a.Since = time.Now()
	}
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return s.upsertAgentCall(ctx, tx, a)
	})
	if err != nil {
		return fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	return nil
}

func (s *Store) upsertAgentCall(ctx context.Context, tx *sql.Tx, a AgentCall) error {
	_, err := s.execTx(ctx, tx, `INSERT INTO agent_calls (call_id, username, state, node, since) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (call_id, username) DO UPDATE SET state = excluded.state, node = excluded.node, since = excluded.since`,
		a.CallID, a.User, a.State, a.Node, a.Since.UTC().Format(timeLayout))
	return err
}

// ClaimAgent marks user connected on callID, and reports true, only if
// the user is connected to no other call; otherwise it changes nothing
// and reports false. The check and the change are one transaction under
// the store's write lock, so that two nodes whose calls a user's phones
// answer at once never both bridge the user.
func (s *Store) ClaimAgent(ctx context.Context, callID, user, node string) (bool, error) {
	var claimed bool
	at := time.Now()
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		claimed = false
		var others int
		if err := s.queryRow(ctx, tx, `SELECT COUNT(*) FROM agent_calls WHERE username = ? AND state = ? AND call_id <> ?`, user, AgentConnected, callID).Scan(&others); err != nil {
			return err
		}
		if others > 0 {
			return nil
		}
		claimed = true
		return s.upsertAgentCall(ctx, tx, AgentCall{CallID: callID, User: user, State: AgentConnected, Node: node, Since: at})
	})
	if err != nil {
		return false, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	return claimed, nil
}

// EndAgentCall removes user's row for callID: their phones stopped
// ringing for it, or the call ended.
func (s *Store) EndAgentCall(ctx context.Context, callID, user string) error {
	return s.deleteAgentCalls(ctx, `call_id = ? AND username = ?`, callID, user)
}

// ClearAgentCalls removes the rows of node: a node calls it as it starts,
// for the rows a crash of it left behind.
func (s *Store) ClearAgentCalls(ctx context.Context, node string) error {
	return s.deleteAgentCalls(ctx, `node = ?`, node)
}

func (s *Store) deleteAgentCalls(ctx context.Context, where string, args ...any) error {
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.execTx(ctx, tx, `DELETE FROM agent_calls WHERE `+where, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	return nil
}

// AgentCalls returns every agent call row, by user and call.
func (s *Store) AgentCalls(ctx context.Context) ([]AgentCall, error) {
	rows, err := s.query(ctx, s.db, `SELECT call_id, username, state, node, since FROM agent_calls ORDER BY username, call_id`)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	defer rows.Close()
	var out []AgentCall
	for rows.Next() {
		var a AgentCall
		var since string
		if err := rows.Scan(&a.CallID, &a.User, &a.State, &a.Node, &since); err != nil {
			return nil, err
		}
		a.Since = parseTime(since)
		out = append(out, a)
	}
	return out, rows.Err()
}
