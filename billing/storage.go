package billing

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/callflow/callflow/store"
)

// Recordings keeps recordings within the storage plan (S7–S9).
type Recordings struct {
	Store       *store.Store
	Clock       Clock
	Plan        string // free | 50k | 200k | 1m
	DeleteAfter string // 3mo | 6mo | "" to keep
}

// StorageUsage is the plan's minutes used and left (S7).
type StorageUsage struct {
	Plan        string `json:"plan"`
	LimitMin    int64  `json:"limit_minutes"`
	UsedSeconds int64  `json:"used_seconds"`
	UsedMin     int64  `json:"used_minutes"` // rounded up
	LeftMin     int64  `json:"left_minutes"`
}

// Usage returns the minutes used and left.
func (r *Recordings) Usage(ctx context.Context) (StorageUsage, error) {
	plan, ok := StoragePlans[r.Plan]
	if !ok {
		return StorageUsage{}, fmt.Errorf("unknown storage plan %q", r.Plan)
	}
	secs, err := r.Store.RecordedSeconds(ctx)
	if err != nil {
		return StorageUsage{}, err
	}
	used := (secs + 59) / 60
	return StorageUsage{Plan: r.Plan, LimitMin: plan.Minutes, UsedSeconds: secs, UsedMin: used, LeftMin: max(0, plan.Minutes-used)}, nil
}

// Save keeps a recording if it fits in the plan. When it does not, the
// recording is not saved — the call itself goes on — and the administrator
// gets one notification a month that storage is full (S7). Save reports
// whether the recording was kept.
func (r *Recordings) Save(ctx context.Context, rec store.Recording) (bool, error) {
	plan, ok := StoragePlans[r.Plan]
	if !ok {
		return false, fmt.Errorf("unknown storage plan %q", r.Plan)
	}
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = r.Clock.Now()
	}
	err := r.Store.AddRecording(ctx, rec, plan.Minutes*60)
	if errors.Is(err, store.ErrQuota) {
		return false, r.full(ctx, plan.Minutes)
	}
	return err == nil, err
}

// Room reports whether the plan has room for a new recording: a second
// left at least. When it has none, the administrator gets the monthly
// notification that storage is full, as Save sends it (S7).
func (r *Recordings) Room(ctx context.Context) (bool, error) {
	plan, ok := StoragePlans[r.Plan]
	if !ok {
		return false, fmt.Errorf("unknown storage plan %q", r.Plan)
	}
	secs, err := r.Store.RecordedSeconds(ctx)
	if err != nil {
		return false, err
	}
	if secs < plan.Minutes*60 {
		return true, nil
	}
	return false, r.full(ctx, plan.Minutes)
}

// full notifies the administrator, once a month, that storage is full.
func (r *Recordings) full(ctx context.Context, minutes int64) error {
	month := r.Clock.Now().UTC().Format("2006-01")
	msg := fmt.Sprintf("Recording storage is full: the %s plan holds %d minutes. New recordings are not saved until you choose a larger plan (recordings { plan }) or recordings are deleted.", r.Plan, minutes)
	return r.Store.Notify(ctx, "storage-full", msg, "storage-full:"+r.Plan+":"+month)
}

// retention is how long delete_after keeps recordings (S9).
var retention = map[string]int{"3mo": 3, "6mo": 6}

// Expire deletes the recordings older than delete_after allows: their
// audio is removed, then their rows are marked deleted and kept as an
// audit trail. A recording whose audio cannot be removed stays kept, and
// is tried again by the next run. It returns how many it deleted.
func (r *Recordings) Expire(ctx context.Context) (int, error) {
	months, ok := retention[r.DeleteAfter]
	if !ok {
		return 0, nil
	}
	now := r.Clock.Now()
	expired, err := r.Store.ExpiredRecordings(ctx, now.AddDate(0, -months, 0))
	if err != nil {
		return 0, err
	}
	n := 0
	var first error
	for _, rec := range expired {
		if rec.Path != "" {
			if err := os.Remove(rec.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
				if first == nil {
					first = fmt.Errorf("recording %s: its audio %s could not be removed: %w", rec.ID, rec.Path, err)
				}
				continue
			}
		}
		if err := r.Store.MarkRecordingDeleted(ctx, rec.ID, now, "delete_after = "+r.DeleteAfter); err != nil {
			return n, err
		}
		n++
	}
	return n, first
}
