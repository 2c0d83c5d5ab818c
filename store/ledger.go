package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The ledger is append-only and double-entry: a transaction is a set of
// postings to accounts whose amounts (micro-credits) sum to zero, and a
// balance is the sum of an account's postings. Package billing decides
// what the accounts and transactions mean; the store keeps them, refuses
// unbalanced ones, and makes every transaction idempotent by its key.

// Posting is one line of a transaction.
type Posting struct {
	Account string
	Amount  int64 // micro-credits; positive adds to the account
}

// Txn is one ledger transaction.
type Txn struct {
	ID        int64
	Key       string // idempotency key: posting the same key again is a no-op
	Kind      string
	Actor     string // who caused it: a user, "auto-recharge", "billing", a call id
	Memo      string
	CreatedAt time.Time
	Postings  []Posting
	// Call, when set, is a call's record written in the same commit as
	// the transaction (and again on a replay): a call's record opens with
	// its first reservation and closes with its last charge, in one write
	// each. It is not part of the transaction's identity.
	Call *Call
}

// Guard inspects balances inside the transaction that posts, before it
// posts, and may refuse by returning an error. balance reads any
// account's balance as of that moment. It may also return follow-ups:
// work that the transaction makes due (an auto-recharge, a notification),
// stored with it atomically, so that a crash after the commit cannot
// lose them (see Outbox).
type Guard func(balance func(account string) (int64, error)) ([]FollowUp, error)

// FollowUp is work a ledger transaction made due, kept until it is done.
type FollowUp struct {
	Key     string // unique; the work's own idempotency key
	Kind    string
	Payload string
}

// ErrIdempotencyConflict is returned (wrapped) when a key is posted again
// with different fields.
var ErrIdempotencyConflict = errors.New("idempotency key reused with different fields")

// Post records t atomically unless its key was posted before. It returns
// the transaction as stored and whether it was a replay of an earlier
// one (then nothing was written). guard, when set, runs first, inside the
// same serialised transaction, so that checks of balances and the posting
// cannot interleave with another writer.
func (s *Store) Post(ctx context.Context, t Txn, guard Guard) (Txn, bool, error) {
	var sum int64
	for _, p := range t.Postings {
		sum += p.Amount
	}
	if sum != 0 || len(t.Postings) < 2 {
		return Txn{}, false, fmt.Errorf("ledger: transaction %q does not balance: its postings sum to %d", t.Key, sum)
	}
	if t.Key == "" {
		return Txn{}, false, fmt.Errorf("ledger: transaction of kind %s has no idempotency key", t.Kind)
	}
	fp := fingerprint(t)
	var stored Txn
	replay := false
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now().UTC()
	}
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		stored, replay = Txn{}, false // a write may run more than once
		// The transaction goes in first: a key posted before inserts
		// nothing, and is a replay, whatever the balances are now. A new
		// one that the guard then refuses fails the write, which undoes
		// the insert.
		err := s.queryRow(ctx, tx, `INSERT INTO ledger_txns (id, idem_key, fingerprint, kind, actor, memo, created_at)
SELECT COALESCE(MAX(id), 0) + 1, ?, ?, ?, ?, ?, ? FROM ledger_txns WHERE true
ON CONFLICT (idem_key) DO NOTHING RETURNING id`,
			t.Key, fp, t.Kind, t.Actor, t.Memo, t.CreatedAt.UTC().Format(timeLayout)).Scan(&t.ID)
		if errors.Is(err, sql.ErrNoRows) {
			prev, err := s.txnByKey(ctx, tx, t.Key)
			if err != nil {
				return err
			}
			if prevFP, _ := s.fingerprintOf(ctx, tx, prev.ID); prevFP != fp {
				return fmt.Errorf("ledger: %w: %q was first posted as %s %q", ErrIdempotencyConflict, t.Key, prev.Kind, prev.Memo)
			}
			stored, replay = prev, true
			if t.Call != nil {
				return s.saveCall(ctx, tx, *t.Call)
			}
			return nil
		}
		if err != nil {
			return err
		}
		after, err := s.addPostings(ctx, tx, t.ID, t.Postings)
		if err != nil {
			return err
		}
		var followUps []FollowUp
		if guard != nil {
			// The guard judges the balances as they were before this
			// transaction; its accounts' come back from the postings
			// themselves, without reading them again. A refusal fails the
			// write, which undoes the postings.
			before := func(account string) (int64, error) {
				for i, p := range t.Postings {
					if p.Account == account {
						return after[i] - p.Amount, nil
					}
				}
				return s.balance(ctx, tx, account)
			}
			if followUps, err = guard(before); err != nil {
				return err
			}
		}
		for _, f := range followUps {
			if _, err := s.execTx(ctx, tx, `INSERT INTO ledger_outbox (idem_key, kind, payload, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (idem_key) DO NOTHING`,
				f.Key, f.Kind, f.Payload, now()); err != nil {
				return err
			}
		}
		if t.Call != nil {
			if err := s.saveCall(ctx, tx, *t.Call); err != nil {
				return err
			}
		}
		stored = t
		stored.Call = nil
		return nil
	})
	return stored, replay, err
}

// fingerprint identifies a transaction's fields, so that a reused key
// with other fields is caught. Time is not part of it: a retry happens
// later than the first attempt.
func fingerprint(t Txn) string {
	b := fmt.Sprintf("%s|%s|%s|%s", t.Kind, t.Actor, t.Memo, t.Key)
	for _, p := range t.Postings {
		b += fmt.Sprintf("|%s=%d", p.Account, p.Amount)
	}
	return b
}

func (s *Store) fingerprintOf(ctx context.Context, q querier, id int64) (string, error) {
	var fp string
	err := s.queryRow(ctx, q, `SELECT fingerprint FROM ledger_txns WHERE id = ?`, id).Scan(&fp)
	return fp, err
}

func (s *Store) txnByKey(ctx context.Context, q querier, key string) (Txn, error) {
	var t Txn
	var at string
	err := s.queryRow(ctx, q, `SELECT id, idem_key, kind, actor, memo, created_at FROM ledger_txns WHERE idem_key = ?`, key).
		Scan(&t.ID, &t.Key, &t.Kind, &t.Actor, &t.Memo, &at)
	if err != nil {
		return t, err
	}
	t.CreatedAt = parseTime(at)
	t.Postings, err = s.postings(ctx, q, t.ID)
	return t, err
}

func (s *Store) postings(ctx context.Context, q querier, id int64) ([]Posting, error) {
	rows, err := s.query(ctx, q, `SELECT account, amount FROM ledger_entries WHERE txn_id = ? ORDER BY account`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ps []Posting
	for rows.Next() {
		var p Posting
		if err := rows.Scan(&p.Account, &p.Amount); err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, rows.Err()
}

// addPostings stores a transaction's postings and keeps ledger_balances
// equal to the sum of each account's postings, in the transaction that
// posts: one statement for the entries, one for the balances. It returns
// each posting's account balance after it. An account appears once in a
// transaction (the entries' key). Accounts back at zero keep a row until
// PruneBalances (the per-call reservations come and go by the thousand).
func (s *Store) addPostings(ctx context.Context, tx *sql.Tx, id int64, ps []Posting) ([]int64, error) {
	rows := strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", len(ps)), ", ")
	args := make([]any, 0, 3*len(ps))
	for _, p := range ps {
		args = append(args, id, p.Account, p.Amount)
	}
	if _, err := s.execTx(ctx, tx, `INSERT INTO ledger_entries (txn_id, account, amount) VALUES `+rows, args...); err != nil {
		return nil, err
	}
	rows = strings.TrimSuffix(strings.Repeat("(?, ?), ", len(ps)), ", ")
	args = args[:0]
	for _, p := range ps {
		args = append(args, p.Account, p.Amount)
	}
	res, err := s.query(ctx, tx, `INSERT INTO ledger_balances (account, balance) VALUES `+rows+`
ON CONFLICT (account) DO UPDATE SET balance = ledger_balances.balance + excluded.balance RETURNING account, balance`, args...)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	after := make([]int64, len(ps))
	n := 0
	for res.Next() {
		var account string
		var balance int64
		if err := res.Scan(&account, &balance); err != nil {
			return nil, err
		}
		for i, p := range ps {
			if p.Account == account {
				after[i] = balance
				n++
			}
		}
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	if n != len(ps) {
		return nil, fmt.Errorf("ledger: %d balances came back for %d postings", n, len(ps))
	}
	return after, nil
}

// PruneBalances forgets the kept balances that are zero: the accounts of
// calls that have ended. It returns how many it forgot. The billing job
// runs it.
func (s *Store) PruneBalances(ctx context.Context) (int, error) {
	var n int64
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := s.execTx(ctx, tx, `DELETE FROM ledger_balances WHERE balance = 0`)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

func (s *Store) balance(ctx context.Context, q querier, account string) (int64, error) {
	var b int64
	err := s.queryRow(ctx, q, `SELECT balance FROM ledger_balances WHERE account = ?`, account).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return b, err
}

// Balance returns an account's balance.
func (s *Store) Balance(ctx context.Context, account string) (int64, error) {
	b, err := s.balance(ctx, s.db, account)
	if err != nil {
		return 0, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	return b, nil
}

// Txns lists transactions created in [from, to), oldest first, with
// their postings; kind "" lists every kind.
func (s *Store) Txns(ctx context.Context, kind string, from, to time.Time) ([]Txn, error) {
	q := `SELECT id, idem_key, kind, actor, memo, created_at FROM ledger_txns WHERE created_at >= ? AND created_at < ?`
	args := []any{from.UTC().Format(timeLayout), to.UTC().Format(timeLayout)}
	if kind != "" {
		q += ` AND kind = ?`
		args = append(args, kind)
	}
	rows, err := s.query(ctx, s.db, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	var out []Txn
	for rows.Next() {
		var t Txn
		var at string
		if err := rows.Scan(&t.ID, &t.Key, &t.Kind, &t.Actor, &t.Memo, &at); err != nil {
			rows.Close()
			return nil, err
		}
		t.CreatedAt = parseTime(at)
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Postings, err = s.postings(ctx, s.db, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Notification is a message for the administrator.
type Notification struct {
	ID        int64
	Kind      string
	Message   string
	CreatedAt time.Time
}

// Notify stores a notification once per dedupe key.
func (s *Store) Notify(ctx context.Context, kind, message, dedupeKey string) error {
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var n int
		if err := s.queryRow(ctx, tx, `SELECT COUNT(*) FROM notifications WHERE dedupe_key = ?`, dedupeKey).Scan(&n); err != nil || n > 0 {
			return err
		}
		var last sql.NullInt64
		if err := s.queryRow(ctx, tx, `SELECT MAX(id) FROM notifications`).Scan(&last); err != nil {
			return err
		}
		_, err := s.execTx(ctx, tx, `INSERT INTO notifications (id, kind, message, created_at, dedupe_key) VALUES (?, ?, ?, ?, ?)`,
			last.Int64+1, kind, message, now(), dedupeKey)
		return err
	})
}

// Notifications lists notifications, newest first.
func (s *Store) Notifications(ctx context.Context) ([]Notification, error) {
	return s.NotificationsAfter(ctx, 0)
}

// NotificationsAfter lists the notifications whose ID is above after,
// newest first. A server that logs notifications as they arrive passes
// the highest ID it has logged.
func (s *Store) NotificationsAfter(ctx context.Context, after int64) ([]Notification, error) {
	rows, err := s.query(ctx, s.db, `SELECT id, kind, message, created_at FROM notifications WHERE id > ? ORDER BY id DESC`, after)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		var n Notification
		var at string
		if err := rows.Scan(&n.ID, &n.Kind, &n.Message, &at); err != nil {
			return nil, err
		}
		n.CreatedAt = parseTime(at)
		out = append(out, n)
	}
	return out, rows.Err()
}

// Balances returns the balance of every account whose name starts with
// prefix, skipping accounts at zero.
func (s *Store) Balances(ctx context.Context, prefix string) (map[string]int64, error) {
	rows, err := s.query(ctx, s.db, `SELECT account, balance FROM ledger_balances WHERE account LIKE ? ESCAPE '\'`, likePrefix(prefix))
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var a string
		var b int64
		if err := rows.Scan(&a, &b); err != nil {
			return nil, err
		}
		if b != 0 {
			out[a] = b
		}
	}
	return out, rows.Err()
}

// likePrefix escapes a prefix for LIKE ... || '%'. Account names never
// hold % or _ other than by callers' choice; they are escaped anyway.
func likePrefix(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(p) + "%"
}

// UnpaidFee is a monthly fee the balance could not pay when it was due.
// It stays until it is paid, whatever month it is.
type UnpaidFee struct {
	Key    string // the fee's idempotency key
	Item   string
	What   string
	Month  string // "2026-11"
	Amount int64
}

// AddUnpaidFee records a fee that could not be paid, once per key.
func (s *Store) AddUnpaidFee(ctx context.Context, f UnpaidFee) error {
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.execTx(ctx, tx, `INSERT INTO unpaid_fees (idem_key, item, what, month, amount, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (idem_key) DO NOTHING`,
			f.Key, f.Item, f.What, f.Month, f.Amount, now())
		return err
	})
}

// UnpaidFees lists the fees not paid yet, oldest first.
func (s *Store) UnpaidFees(ctx context.Context) ([]UnpaidFee, error) {
	rows, err := s.query(ctx, s.db, `SELECT idem_key, item, what, month, amount FROM unpaid_fees ORDER BY month, idem_key`)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	defer rows.Close()
	var out []UnpaidFee
	for rows.Next() {
		var f UnpaidFee
		if err := rows.Scan(&f.Key, &f.Item, &f.What, &f.Month, &f.Amount); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// FeePaid forgets an unpaid fee once it is paid.
func (s *Store) FeePaid(ctx context.Context, key string) error {
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.execTx(ctx, tx, `DELETE FROM unpaid_fees WHERE idem_key = ?`, key)
		return err
	})
}

// Outbox lists the follow-ups not done yet, oldest first.
func (s *Store) Outbox(ctx context.Context) ([]FollowUp, error) {
	rows, err := s.query(ctx, s.db, `SELECT idem_key, kind, payload FROM ledger_outbox WHERE done_at IS NULL ORDER BY created_at, idem_key`)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	defer rows.Close()
	var out []FollowUp
	for rows.Next() {
		var f FollowUp
		if err := rows.Scan(&f.Key, &f.Kind, &f.Payload); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// FollowUpDone marks a follow-up done.
func (s *Store) FollowUpDone(ctx context.Context, key string) error {
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.execTx(ctx, tx, `UPDATE ledger_outbox SET done_at = ? WHERE idem_key = ?`, now(), key)
		return err
	})
}

// CheckLedger verifies that every account's kept balance equals the sum
// of its postings, and that the postings of the whole ledger sum to zero.
// It reads the whole ledger; it is for tests and audits, not for calls.
func (s *Store) CheckLedger(ctx context.Context) error {
	rows, err := s.query(ctx, s.db, `SELECT COALESCE(e.account, b.account), COALESCE(e.sum, 0), COALESCE(b.balance, 0)
FROM (SELECT account, SUM(amount) AS sum FROM ledger_entries GROUP BY account) e
FULL OUTER JOIN ledger_balances b ON b.account = e.account
WHERE COALESCE(e.sum, 0) <> COALESCE(b.balance, 0)`)
	if err != nil {
		return fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	defer rows.Close()
	for rows.Next() {
		var account string
		var sum, kept int64
		if err := rows.Scan(&account, &sum, &kept); err != nil {
			return err
		}
		return fmt.Errorf("ledger: account %s has postings summing to %d but a kept balance of %d", account, sum, kept)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var total sql.NullInt64
	if err := s.queryRow(ctx, s.db, `SELECT SUM(amount) FROM ledger_entries`).Scan(&total); err != nil {
		return fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	if total.Int64 != 0 {
		return fmt.Errorf("ledger: the postings sum to %d, not 0", total.Int64)
	}
	return nil
}
