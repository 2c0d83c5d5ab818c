package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Writes go through one writer per process, which commits them in
// groups. Both databases serialise writers anyway — SQLite has one write
// lock, and PostgreSQL writers here take an advisory lock so that every
// node sees the balances it checks — so a write's cost is mostly its
// commit, which for SQLite is a sync of the file. While one group
// commits, the writes that arrive wait; the writer then runs them all in
// one transaction and commits once. A write that fails is undone alone
// (see commit), and its caller gets its error; the others commit. Each
// caller still sees its write as one transaction, made durable before tx
// returns, in one serial order. A write may be run more than once before
// it commits, so its fn must only write the database and set its own
// results, every time from scratch.
//
// A write must not start another (tx inside tx's fn): it would wait for
// itself.

// maxGroup bounds how many writes one commit carries, so that one group's
// latency stays short under any load.
const maxGroup = 256

// write is one caller's transaction, waiting for the writer.
type write struct {
	ctx  context.Context
	fn   func(context.Context, *sql.Tx) error
	done chan error // gets the result, once
}

// ErrClosed is returned (wrapped) by writes to a closed store.
var ErrClosed = errors.New("store is closed")

// ErrGroupFailed is returned (wrapped) by a write that was lost with the
// transaction of another write it was committed with: the database gave
// up on the transaction (a full disk, say). Nothing of it was written.
var ErrGroupFailed = errors.New("the transaction this write shared failed, and nothing of it was written")

// OnWrite has f told how long each write took, from being queued to
// durable (or failed), for metrics. f is called on the writing
// goroutine and must be quick.
func (s *Store) OnWrite(f func(time.Duration)) { s.onWrite.Store(&f) }

func (s *Store) startWriter() {
	s.writes = make(chan *write)
	s.closing = make(chan struct{})
	s.writerEnd = make(chan struct{})
	go s.writer()
}

func (s *Store) stopWriter() {
	s.closeOnce.Do(func() { close(s.closing) })
	<-s.writerEnd
}

// tx runs fn in a transaction that holds the store's write lock, and
// commits if fn returns nil. It returns once the outcome is durable. fn
// gets ctx without its cancellation: once a write has started it runs to
// its end, since cancelling a statement would undo the writes it shares a
// transaction with.
func (s *Store) tx(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &write{ctx: ctx, fn: fn, done: make(chan error, 1)}
	if f := s.onWrite.Load(); f != nil {
		start := time.Now()
		defer func() { (*f)(time.Since(start)) }()
	}
	select {
	case s.writes <- w:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closing:
		return fmt.Errorf("store %s: %w", s.where, ErrClosed)
	}
	// Handed over: the writer decides, and may already be committing, so
	// wait for it whatever ctx does.
	return <-w.done
}

func (s *Store) writer() {
	defer close(s.writerEnd)
	for {
		var first *write
		select {
		case first = <-s.writes:
		case <-s.closing:
			return
		}
		group := []*write{first}
	gather:
		for len(group) < maxGroup {
			select {
			case w := <-s.writes:
				group = append(group, w)
			default:
				break gather
			}
		}
		s.commit(group)
	}
}

// commit runs a group of writes in one transaction and tells each its
// outcome. Most writes succeed, so the group is first run as it is; if
// one fails, that attempt is rolled back, the failing write gets its
// error (it ran after the writes before it, as it would have alone), and
// the others run again, each in its own savepoint, so that any other
// failure is undone alone.
func (s *Store) commit(group []*write) {
	var live []*write
	for _, w := range group {
		if err := w.ctx.Err(); err != nil {
			w.done <- err // cancelled while it waited: never run
			continue
		}
		live = append(live, w)
	}
	if len(live) == 0 {
		return
	}
	failed, err := s.attempt(live, false)
	if failed < 0 {
		return
	}
	live[failed].done <- err
	rest := append(live[:failed:failed], live[failed+1:]...)
	if len(rest) > 0 {
		s.attempt(rest, true)
	}
}

// attempt runs writes in one transaction and commits the ones that
// succeed, telling each its outcome. With savepoints, a write that fails
// is undone alone and told its error. Without, the first write that fails
// ends the attempt: everything is rolled back, nobody is told, and
// attempt returns its index and error; otherwise it returns -1.
func (s *Store) attempt(ws []*write, savepoints bool) (int, error) {
	tell := func(ws []*write, err error) {
		for _, w := range ws {
			w.done <- err
		}
	}
	var opts *sql.TxOptions
	if s.dialect == postgres {
		// Read committed, whatever the server's default: each statement
		// after the lock below must see what the writer before committed.
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	ctx := context.Background() // the group's; each write has its own
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		tell(ws, fmt.Errorf("store %s: %w", s.where, explain(err)))
		return -1, nil
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	if s.dialect == postgres {
		// One writer at a time across every node, waiting as long as
		// SQLite does before giving up.
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("SET LOCAL lock_timeout = '%dms'", lockWait.Milliseconds())); err != nil {
			tell(ws, fmt.Errorf("store %s: %w", s.where, err))
			return -1, nil
		}
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7262010)"); err != nil {
			tell(ws, fmt.Errorf("store %s: waiting for another writer: %w", s.where, err))
			return -1, nil
		}
	}
	var done []*write // the writes that succeeded, to be committed
	for i, w := range ws {
		if !savepoints {
			if err := w.fn(context.WithoutCancel(w.ctx), tx); err != nil {
				return i, err
			}
			done = append(done, w)
			continue
		}
		if _, err := s.execTx(ctx, tx, "SAVEPOINT write"); err != nil {
			tell(append(done, ws[i:]...), fmt.Errorf("store %s: %w", s.where, explain(err)))
			return -1, nil
		}
		ferr := w.fn(context.WithoutCancel(w.ctx), tx)
		if ferr != nil {
			// Undo this write alone. If even that fails, the database
			// has given up on the transaction (a full disk, an
			// interrupted statement): nothing of the group commits.
			if _, err := s.execTx(ctx, tx, "ROLLBACK TO SAVEPOINT write"); err != nil {
				w.done <- ferr
				tell(append(done, ws[i+1:]...), fmt.Errorf("store %s: %w: %v", s.where, ErrGroupFailed, explain(ferr)))
				return -1, nil
			}
			w.done <- ferr
		} else {
			done = append(done, w)
		}
		if _, err := s.execTx(ctx, tx, "RELEASE SAVEPOINT write"); err != nil {
			tell(append(done, ws[i+1:]...), fmt.Errorf("store %s: %w", s.where, explain(err)))
			return -1, nil
		}
	}
	if len(done) == 0 {
		return -1, nil
	}
	if err := tx.Commit(); err != nil {
		tell(done, fmt.Errorf("store %s: commit: %w", s.where, explain(err)))
		return -1, nil
	}
	s.commits.Add(1)
	s.committed.Add(int64(len(done)))
	tell(done, nil)
	return -1, nil
}

// WriteStats reports how many writes have been committed, and in how many
// commits: their ratio is the mean size of a group.
func (s *Store) WriteStats() (writes, commits int64) {
	return s.committed.Load(), s.commits.Load()
}
