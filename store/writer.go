package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Writes go through one writer per process, which commits them in
// groups. Both databases serialise writers anyway — SQLite has one write
// lock, and PostgreSQL writers here take an advisory lock so that every
// node sees the balances it checks — so a write's cost is mostly its
// commit, which for SQLite is a sync of the file. While one group
// commits, the writes that arrive wait; the writer then runs them all in
// one transaction, each inside its own savepoint, and commits once. A
// write that fails is rolled back to its savepoint alone, and its caller
// gets its error; the others commit. Each caller still sees its write as
// one transaction, made durable before tx returns, in one serial order.
//
// A write must not start another (tx inside tx's fn): it would wait for
// itself.

// maxGroup bounds how many writes one commit carries, so that one group's
// latency stays short under any load.
const maxGroup = 64

// write is one caller's transaction, waiting for the writer.
type write struct {
	ctx  context.Context
	fn   func(*sql.Tx) error
	done chan error // gets the result, once
}

// ErrClosed is returned (wrapped) by writes to a closed store.
var ErrClosed = errors.New("store is closed")

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
// commits if fn returns nil. It returns once the outcome is durable.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &write{ctx: ctx, fn: fn, done: make(chan error, 1)}
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
// outcome.
func (s *Store) commit(group []*write) {
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
	ctx := context.Background() // the group's; each write's own ctx is checked before it runs
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		tell(group, fmt.Errorf("store %s: %w", s.where, explain(err)))
		return
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	if s.dialect == postgres {
		// One writer at a time across every node, waiting as long as
		// SQLite does before giving up.
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("SET LOCAL lock_timeout = '%dms'", lockWait.Milliseconds())); err != nil {
			tell(group, fmt.Errorf("store %s: %w", s.where, err))
			return
		}
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7262010)"); err != nil {
			tell(group, fmt.Errorf("store %s: waiting for another writer: %w", s.where, err))
			return
		}
	}
	alone := len(group) == 1
	var done []*write // the writes that succeeded, to be committed
	for i, w := range group {
		if err := w.ctx.Err(); err != nil {
			w.done <- err
			continue
		}
		if alone {
			if err := w.fn(tx); err != nil {
				w.done <- err
				return
			}
			done = append(done, w)
			continue
		}
		if _, err := s.execTx(ctx, tx, "SAVEPOINT write"); err != nil {
			tell(append(done, group[i:]...), fmt.Errorf("store %s: %w", s.where, explain(err)))
			return
		}
		ferr := w.fn(tx)
		if ferr != nil {
			// Undo this write alone. If even that fails, the database
			// has given up on the transaction (a full disk, an
			// interrupted statement): nothing of the group commits.
			if _, err := s.execTx(ctx, tx, "ROLLBACK TO SAVEPOINT write"); err != nil {
				w.done <- ferr
				tell(append(done, group[i+1:]...), fmt.Errorf("store %s: a write in the same commit failed: %w", s.where, explain(ferr)))
				return
			}
			w.done <- ferr
		} else {
			done = append(done, w)
		}
		if _, err := s.execTx(ctx, tx, "RELEASE SAVEPOINT write"); err != nil {
			tell(append(done, group[i+1:]...), fmt.Errorf("store %s: %w", s.where, explain(err)))
			return
		}
	}
	if len(done) == 0 {
		return
	}
	if err := tx.Commit(); err != nil {
		tell(done, fmt.Errorf("store %s: commit: %w", s.where, explain(err)))
		return
	}
	s.commits.Add(1)
	s.committed.Add(int64(len(done)))
	tell(done, nil)
}

// WriteStats reports how many writes have been committed, and in how many
// commits: their ratio is the mean size of a group.
func (s *Store) WriteStats() (writes, commits int64) {
	return s.committed.Load(), s.commits.Load()
}
