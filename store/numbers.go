package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Provisioned is a number the organisation holds through a provider.
type Provisioned struct {
	E164          string
	Provider      string
	ProvisionedAt time.Time
	ConfigVersion int64 // the version that provisioned it
}

// ProvisionedNumbers lists the numbers held now, by E.164.
func (s *Store) ProvisionedNumbers(ctx context.Context) (map[string]Provisioned, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT e164, provider, provisioned_at, config_version FROM numbers`)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	defer rows.Close()
	out := map[string]Provisioned{}
	for rows.Next() {
		var p Provisioned
		var at string
		if err := rows.Scan(&p.E164, &p.Provider, &at, &p.ConfigVersion); err != nil {
			return nil, err
		}
		p.ProvisionedAt = parseTime(at)
		out[p.E164] = p
	}
	return out, rows.Err()
}

// NumberChanges records, inside an apply, the numbers it provisions and
// releases.
type NumberChanges struct {
	Provider  string
	Provision []string
	Release   []string
}

func (s *Store) recordNumbers(ctx context.Context, tx *sql.Tx, version int64, n NumberChanges) error {
	for _, e164 := range n.Release {
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM numbers WHERE e164 = ?`), e164); err != nil {
			return err
		}
	}
	for _, e164 := range n.Provision {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO numbers (e164, provider, provisioned_at, config_version) VALUES (?, ?, ?, ?)`),
			e164, n.Provider, now(), version); err != nil {
			return fmt.Errorf("number %s: %w", e164, err)
		}
	}
	return nil
}
