package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Binding is one registered phone of a user (RFC 3261 §10): the contact
// it is reached at, until ExpiresAt. Bindings are kept in the store so
// that every node sees every phone.
type Binding struct {
	User    string
	Contact string // the Contact URI, as the phone wrote it
	// CallID and CSeq are the REGISTER's that last wrote the binding: a
	// later request with the same Call-ID must have a higher CSeq.
	CallID       string
	CSeq         int64
	ExpiresAt    time.Time
	RegisteredAt time.Time // when the REGISTER that last wrote it came
	// Source is the ip:port the REGISTER came from and Transport the
	// transport it came over (udp or tcp): a phone behind NAT is reached
	// at its source, not at its Contact, and a TCP phone over its
	// connection.
	Source    string
	Transport string
	Node      string // the node that took the REGISTER
	UserAgent string
}

// ContactUpdate is one Contact of a REGISTER, with its expiry already
// decided by the registrar; Expires 0 removes the binding.
type ContactUpdate struct {
	URI     string
	Expires time.Duration
}

// RegisterRequest is what a REGISTER asks of the bindings of one user,
// once authenticated and checked by the registrar.
type RegisterRequest struct {
	User   string
	CallID string
	CSeq   int64
	// Wildcard is a "Contact: *" with Expires 0: remove every binding.
	// Contacts is then empty.
	Wildcard bool
	// Contacts are added, refreshed or (Expires 0) removed. Empty and no
	// Wildcard only reads the bindings (a query, RFC 3261 §10.2.3).
	Contacts  []ContactUpdate
	Source    string
	Transport string
	Node      string
	UserAgent string
	// Now is when the request came; bindings expire relative to it.
	Now time.Time
	// MaxBindings bounds a user's live bindings after the request; 0 for
	// no bound. A request that would pass it fails with
	// ErrTooManyBindings and changes nothing.
	MaxBindings int
}

// RegisterResult is the outcome of Register.
type RegisterResult struct {
	// Bindings are the user's live bindings after the request, by
	// contact.
	Bindings []Binding
	// LoggedIn says the request added the user's first live binding;
	// LoggedOut that it removed their last (or found them expired).
	LoggedIn, LoggedOut bool
}

// ErrOutOfOrder is returned (wrapped) by Register for a request whose
// Call-ID matches a binding's and whose CSeq is not higher (RFC 3261
// §10.3 step 7): a retransmission or a request overtaken by a later one.
// Nothing is changed.
var ErrOutOfOrder = errors.New("REGISTER out of order: same Call-ID with a CSeq not higher than the binding's")

// ErrTooManyBindings is returned (wrapped) by Register when the request
// would leave the user more bindings than RegisterRequest.MaxBindings.
// Nothing is changed.
var ErrTooManyBindings = errors.New("too many registered phones")

// Register applies one REGISTER to a user's bindings in one transaction,
// as RFC 3261 §10.3 steps 6–8 say: for a wildcard every binding is
// removed, and otherwise each contact is removed (Expires 0), refreshed
// or added. If any binding it touches has the request's Call-ID and a
// CSeq not lower than the request's, nothing changes and the error wraps
// ErrOutOfOrder. Bindings expired at req.Now count as gone. The same
// transaction keeps the user's login: set to req.Now when the request
// adds their first live binding, cleared when it leaves none.
func (s *Store) Register(ctx context.Context, req RegisterRequest) (RegisterResult, error) {
	var res RegisterResult
	now := req.Now.UTC().Format(timeLayout)
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res = RegisterResult{}
		if _, err := s.execTx(ctx, tx, `DELETE FROM registrations WHERE username = ? AND expires_at <= ?`, req.User, now); err != nil {
			return err
		}
		before, err := s.bindings(ctx, tx, `username = ?`, req.User)
		if err != nil {
			return err
		}
		existing := make(map[string]Binding, len(before))
		for _, b := range before {
			existing[b.Contact] = b
		}
		stale := func(b Binding) bool { return b.CallID == req.CallID && req.CSeq <= b.CSeq }
		if req.Wildcard {
			for _, b := range before {
				if stale(b) {
					return fmt.Errorf("%s: %w", req.User, ErrOutOfOrder)
				}
			}
			if _, err := s.execTx(ctx, tx, `DELETE FROM registrations WHERE username = ?`, req.User); err != nil {
				return err
			}
		}
		for _, c := range req.Contacts {
			if b, ok := existing[c.URI]; ok && stale(b) {
				return fmt.Errorf("%s %s: %w", req.User, c.URI, ErrOutOfOrder)
			}
			if c.Expires <= 0 {
				if _, err := s.execTx(ctx, tx, `DELETE FROM registrations WHERE username = ? AND contact = ?`, req.User, c.URI); err != nil {
					return err
				}
				continue
			}
			_, err := s.execTx(ctx, tx, `INSERT INTO registrations (username, contact, call_id, cseq, expires_at, registered_at, source, transport, node, user_agent)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (username, contact) DO UPDATE SET call_id = excluded.call_id, cseq = excluded.cseq, expires_at = excluded.expires_at,
	registered_at = excluded.registered_at, source = excluded.source, transport = excluded.transport, node = excluded.node, user_agent = excluded.user_agent`,
				req.User, c.URI, req.CallID, req.CSeq, req.Now.Add(c.Expires).UTC().Format(timeLayout), now, req.Source, req.Transport, req.Node, req.UserAgent)
			if err != nil {
				return err
			}
		}
		after, err := s.bindings(ctx, tx, `username = ?`, req.User)
		if err != nil {
			return err
		}
		if req.MaxBindings > 0 && len(after) > req.MaxBindings {
			return fmt.Errorf("%s: %d phones, and at most %d may register: %w", req.User, len(after), req.MaxBindings, ErrTooManyBindings)
		}
		res.Bindings = after
		var loggedIn string
		switch err := s.queryRow(ctx, tx, `SELECT logged_in_at FROM logins WHERE username = ?`, req.User).Scan(&loggedIn); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		}
		switch {
		case len(after) > 0 && (len(before) == 0 || loggedIn == ""):
			// The first live binding: a login, even over a stale row the
			// sweeper has not reached yet.
			if _, err := s.execTx(ctx, tx, `INSERT INTO logins (username, logged_in_at) VALUES (?, ?) ON CONFLICT (username) DO UPDATE SET logged_in_at = excluded.logged_in_at`, req.User, now); err != nil {
				return err
			}
			res.LoggedIn = true
		case len(after) == 0 && loggedIn != "":
			if _, err := s.execTx(ctx, tx, `DELETE FROM logins WHERE username = ?`, req.User); err != nil {
				return err
			}
			res.LoggedOut = true
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrOutOfOrder) || errors.Is(err, ErrTooManyBindings) {
			return RegisterResult{}, err
		}
		return RegisterResult{}, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	return res, nil
}

// Bindings returns the user's bindings live at now, by contact.
func (s *Store) Bindings(ctx context.Context, user string, now time.Time) ([]Binding, error) {
	bs, err := s.bindings(ctx, s.db, `username = ? AND expires_at > ?`, user, now.UTC().Format(timeLayout))
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	return bs, nil
}

// AllBindings returns every binding live at now, by user and contact.
func (s *Store) AllBindings(ctx context.Context, now time.Time) ([]Binding, error) {
	bs, err := s.bindings(ctx, s.db, `expires_at > ?`, now.UTC().Format(timeLayout))
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	return bs, nil
}

func (s *Store) bindings(ctx context.Context, q querier, where string, args ...any) ([]Binding, error) {
	rows, err := s.query(ctx, q, `SELECT username, contact, call_id, cseq, expires_at, registered_at, source, transport, node, user_agent FROM registrations WHERE `+where+` ORDER BY username, contact`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Binding
	for rows.Next() {
		var b Binding
		var expires, registered string
		if err := rows.Scan(&b.User, &b.Contact, &b.CallID, &b.CSeq, &expires, &registered, &b.Source, &b.Transport, &b.Node, &b.UserAgent); err != nil {
			return nil, err
		}
		b.ExpiresAt, b.RegisteredAt = parseTime(expires), parseTime(registered)
		out = append(out, b)
	}
	return out, rows.Err()
}

// ExpireBindings removes the bindings expired at now and logs out the
// users left with none; it returns those users, sorted. The node's
// sweeper calls it every few seconds.
func (s *Store) ExpireBindings(ctx context.Context, now time.Time) ([]string, error) {
	var out []string
	at := now.UTC().Format(timeLayout)
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out = nil
		if _, err := s.execTx(ctx, tx, `DELETE FROM registrations WHERE expires_at <= ?`, at); err != nil {
			return err
		}
		rows, err := s.query(ctx, tx, `SELECT username FROM logins WHERE NOT EXISTS (SELECT 1 FROM registrations r WHERE r.username = logins.username) ORDER BY username`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var u string
			if err := rows.Scan(&u); err != nil {
				rows.Close()
				return err
			}
			out = append(out, u)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, u := range out {
			if _, err := s.execTx(ctx, tx, `DELETE FROM logins WHERE username = ?`, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	return out, nil
}

// Logins returns when each user with a binding live at now logged in.
// A sequential group rings its members in the order of these times
// (S19).
func (s *Store) Logins(ctx context.Context, now time.Time) (map[string]time.Time, error) {
	rows, err := s.query(ctx, s.db, `SELECT username, logged_in_at FROM logins WHERE EXISTS (SELECT 1 FROM registrations r WHERE r.username = logins.username AND r.expires_at > ?)`, now.UTC().Format(timeLayout))
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var u, at string
		if err := rows.Scan(&u, &at); err != nil {
			return nil, err
		}
		out[u] = parseTime(at)
	}
	return out, rows.Err()
}
