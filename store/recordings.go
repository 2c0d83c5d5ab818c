package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Recording is a saved call recording or voicemail message (S10–S12).
// A deleted recording keeps its row, with when and why, as an audit trail.
type Recording struct {
	ID         string
	CallID     string
	Kind       string // voicemail | call
	Path       string // where the audio is
	Seconds    int64
	CreatedAt  time.Time
	DeletedAt  time.Time // zero while kept
	DeletedWhy string
}

// ErrQuota is returned (wrapped) by AddRecording when the recording does
// not fit in the storage plan.
var ErrQuota = errors.New("recording storage is full")

// AddRecording stores a recording unless the seconds kept, with it, would
// pass limitSeconds; the check and the insert are one transaction, so
// recordings saved at once cannot pass the limit together.
func (s *Store) AddRecording(ctx context.Context, r Recording, limitSeconds int64) error {
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var n int
		if err := s.queryRow(ctx, tx, `SELECT COUNT(*) FROM recordings WHERE id = ?`, r.ID).Scan(&n); err != nil || n > 0 {
			return err // saved already: a retry is a no-op
		}
		used, err := s.recordedSeconds(ctx, tx)
		if err != nil {
			return err
		}
		if used+r.Seconds > limitSeconds {
			return fmt.Errorf("%w: %d of %d seconds are used, and the recording needs %d", ErrQuota, used, limitSeconds, r.Seconds)
		}
		_, err = s.execTx(ctx, tx, `INSERT INTO recordings (id, call_id, kind, path, seconds, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			r.ID, r.CallID, r.Kind, r.Path, r.Seconds, r.CreatedAt.UTC().Format(timeLayout))
		return err
	})
}

func (s *Store) recordedSeconds(ctx context.Context, q querier) (int64, error) {
	var sum sql.NullInt64
	err := s.queryRow(ctx, q, `SELECT SUM(seconds) FROM recordings WHERE deleted_at IS NULL`).Scan(&sum)
	return sum.Int64, err
}

// RecordedSeconds returns the seconds of recordings kept now.
func (s *Store) RecordedSeconds(ctx context.Context) (int64, error) {
	n, err := s.recordedSeconds(ctx, s.db)
	if err != nil {
		return 0, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	return n, nil
}

// ExpiredRecordings lists the kept recordings made before cutoff.
func (s *Store) ExpiredRecordings(ctx context.Context, cutoff time.Time) ([]Recording, error) {
	rows, err := s.query(ctx, s.db, `SELECT id, call_id, kind, path, seconds, created_at FROM recordings WHERE deleted_at IS NULL AND created_at < ? ORDER BY created_at`,
		cutoff.UTC().Format(timeLayout))
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	defer rows.Close()
	var out []Recording
	for rows.Next() {
		var r Recording
		var at string
		if err := rows.Scan(&r.ID, &r.CallID, &r.Kind, &r.Path, &r.Seconds, &at); err != nil {
			return nil, err
		}
		r.CreatedAt = parseTime(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// MarkRecordingDeleted keeps a recording's row as an audit trail of when
// and why its audio was deleted.
func (s *Store) MarkRecordingDeleted(ctx context.Context, id string, at time.Time, why string) error {
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.execTx(ctx, tx, `UPDATE recordings SET deleted_at = ?, deleted_why = ? WHERE id = ? AND deleted_at IS NULL`,
			at.UTC().Format(timeLayout), why, id)
		return err
	})
}

// Recordings lists every recording, deleted ones included, oldest first.
func (s *Store) Recordings(ctx context.Context) ([]Recording, error) {
	rows, err := s.query(ctx, s.db, `SELECT id, call_id, kind, path, seconds, created_at, COALESCE(deleted_at, ''), COALESCE(deleted_why, '') FROM recordings ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	defer rows.Close()
	var out []Recording
	for rows.Next() {
		var r Recording
		var at, del string
		if err := rows.Scan(&r.ID, &r.CallID, &r.Kind, &r.Path, &r.Seconds, &at, &del, &r.DeletedWhy); err != nil {
			return nil, err
		}
		r.CreatedAt = parseTime(at)
		if del != "" {
			r.DeletedAt = parseTime(del)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
