package store

import (
	"context"
	"database/sql"
)

// SQLite parses a statement every time it is run unless it is prepared,
// and for the small statements of a call's ledger work the parsing costs
// more than the running. The statements of the hot paths are therefore
// prepared once per store, on first use, and run through these helpers.
// PostgreSQL's driver (pgx) keeps its own cache of prepared statements,
// so there they run as they are.

// prepared returns q prepared, or nil when it is not to be (PostgreSQL)
// or cannot be (then running it directly reports why).
func (s *Store) prepared(ctx context.Context, q string) *sql.Stmt {
	if s.dialect != sqlite {
		return nil
	}
	if v, ok := s.stmts.Load(q); ok {
		return v.(*sql.Stmt)
	}
	st, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	if v, loaded := s.stmts.LoadOrStore(q, st); loaded {
		st.Close()
		return v.(*sql.Stmt)
	}
	return st
}

// closeStmts closes the prepared statements, before the database.
func (s *Store) closeStmts() {
	s.stmts.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		s.stmts.Delete(k)
		return true
	})
}

// on returns st bound to q's transaction, or st itself for the database.
func on(ctx context.Context, q querier, st *sql.Stmt) *sql.Stmt {
	if tx, ok := q.(*sql.Tx); ok {
		return tx.StmtContext(ctx, st)
	}
	return st
}

// execTx runs a statement that writes, in tx.
func (s *Store) execTx(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if st := s.prepared(ctx, q); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, s.rebind(q), args...)
}

// queryRow runs a query of one row on q, a transaction or the database.
func (s *Store) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	if st := s.prepared(ctx, query); st != nil {
		return on(ctx, q, st).QueryRowContext(ctx, args...)
	}
	return q.QueryRowContext(ctx, s.rebind(query), args...)
}

// query runs a query on q, a transaction or the database.
func (s *Store) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	if st := s.prepared(ctx, query); st != nil {
		return on(ctx, q, st).QueryContext(ctx, args...)
	}
	return q.QueryContext(ctx, s.rebind(query), args...)
}
