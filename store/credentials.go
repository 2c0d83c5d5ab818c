package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Credential is what the registrar checks a user's digest response
// against: the hashes of "user:realm:password" (HA1, RFC 7616 and 8760)
// with MD5 and with SHA-256, hex-encoded. The password itself is never
// stored.
type Credential struct {
	User      string
	Realm     string // the domain the hashes were made for
	HA1MD5    string
	HA1SHA256 string
	UpdatedAt time.Time
}

// SetCredential stores c for c.User, replacing any earlier one.
func (s *Store) SetCredential(ctx context.Context, c Credential) error {
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = time.Now()
	}
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.execTx(ctx, tx, `INSERT INTO credentials (username, realm, ha1_md5, ha1_sha256, updated_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (username) DO UPDATE SET realm = excluded.realm, ha1_md5 = excluded.ha1_md5, ha1_sha256 = excluded.ha1_sha256, updated_at = excluded.updated_at`,
			c.User, c.Realm, c.HA1MD5, c.HA1SHA256, c.UpdatedAt.UTC().Format(timeLayout))
		return err
	})
	if err != nil {
		return fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	return nil
}

// Credential returns the user's credential, or an error wrapping
// ErrNotFound when no password was set for them.
func (s *Store) Credential(ctx context.Context, user string) (Credential, error) {
	c := Credential{User: user}
	var at string
	err := s.queryRow(ctx, s.db, `SELECT realm, ha1_md5, ha1_sha256, updated_at FROM credentials WHERE username = ?`, user).Scan(&c.Realm, &c.HA1MD5, &c.HA1SHA256, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Credential{}, fmt.Errorf("no password set for user %q: %w", user, ErrNotFound)
	}
	if err != nil {
		return Credential{}, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	c.UpdatedAt = parseTime(at)
	return c, nil
}

// CredentialUsers returns the users who have a password set, sorted.
func (s *Store) CredentialUsers(ctx context.Context) ([]string, error) {
	rows, err := s.query(ctx, s.db, `SELECT username FROM credentials ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
