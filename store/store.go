// Package store keeps callflow's live state: every applied version of the
// configuration, the compiled program of every flow, drafts, and (later)
// credits and call history. It is the only package that speaks SQL.
//
// The embedded default is SQLite (modernc.org/sqlite, no cgo) in one file;
// a postgres:// URL selects PostgreSQL (pgx), for installations with
// several nodes. The schema is created and upgraded by numbered
// migrations, and a store written by a newer callflow is refused rather
// than misread. Everything that must be atomic runs in one transaction,
// and applies are serialised: a second apply waits for the first.
package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

// DefaultPath is the SQLite file used when no store is named.
const DefaultPath = "callflow.db"

// EnvDB names the environment variable that selects the store.
const EnvDB = "CALLFLOW_DB"

// Store is an open store. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect dialect
	where   string // the file or URL, for messages (no password)
	id      string // the store's identity, made when it was created
	planKey string // the secret that signs saved plans; never shown

	writes    chan *write   // to the writer; see tx
	closing   chan struct{} // closed by Close
	writerEnd chan struct{} // closed when the writer has stopped
	closeOnce sync.Once
	stmts     sync.Map                            // prepared statements by query; see prepared
	commits   atomic.Int64                        // transactions committed by the writer
	committed atomic.Int64                        // writes in them
	onWrite   atomic.Pointer[func(time.Duration)] // see OnWrite
}

// SignPlan returns the signature of a saved plan's contents, made with a
// secret that only this store holds.
func (s *Store) SignPlan(contents []byte) string {
	mac := hmac.New(sha256.New, []byte(s.planKey))
	mac.Write(contents)
	return hex.EncodeToString(mac.Sum(nil))
}

// VerifyPlan reports whether signature is this store's for contents.
func (s *Store) VerifyPlan(contents []byte, signature string) bool {
	want, err := hex.DecodeString(signature)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(s.planKey))
	mac.Write(contents)
	return hmac.Equal(mac.Sum(nil), want)
}

// ID identifies the store: every store has its own, made when it was
// created. A saved plan records it, so that it applies only here.
func (s *Store) ID() string { return s.id }

type dialect int

const (
	sqlite dialect = iota
	postgres
)

// lockWait is how long an apply waits for another one to finish.
const lockWait = 30 * time.Second

// Open opens (creating and migrating as needed) the store named by dsn: a
// postgres:// or postgresql:// URL, or the path of a SQLite file.
func Open(ctx context.Context, dsn string) (*Store, error) {
	s := &Store{}
	var err error
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		s.dialect, s.where = postgres, redact(dsn)
		s.db, err = sql.Open("pgx", dsn)
	default:
		if dsn == "" {
			dsn = DefaultPath
		}
		s.dialect, s.where = sqlite, dsn
		if dir := filepath.Dir(dsn); dir != "." {
			if _, statErr := os.Stat(dir); statErr != nil {
				return nil, fmt.Errorf("store %s: directory %s: %w", dsn, dir, statErr)
			}
		}
		// One writer at a time (BEGIN IMMEDIATE), waiting up to lockWait
		// for another; WAL so that readers never block the writer.
		// The path is escaped, so that "#", "?" and "%" in a file name are
		// part of the name, not of the URI.
		q := fmt.Sprintf("file:%s?_txlock=immediate&_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)",
			(&url.URL{Path: dsn}).EscapedPath(), lockWait.Milliseconds())
		s.db, err = sql.Open("sqlite", q)
		if err == nil {
			// Writes take turns in this process's writer (see tx), so
			// they never race one another for SQLite's lock; reads run
			// beside them, which WAL allows. Other processes still wait
			// up to lockWait for the lock.
			s.db.SetMaxOpenConns(4)
			s.db.SetMaxIdleConns(4) // kept, with their prepared statements
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, err)
	}
	s.startWriter()
	if err := s.db.PingContext(ctx); err != nil {
		s.stopWriter()
		s.db.Close()
		return nil, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	if err := s.migrate(ctx); err != nil {
		s.stopWriter()
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the store. Writes already handed to the writer finish
// first; later ones fail.
func (s *Store) Close() error {
	s.stopWriter()
	s.closeStmts()
	return s.db.Close()
}

// String names the store for messages, without any password.
func (s *Store) String() string { return s.where }

// redact removes a password from a URL.
func redact(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 {
		return dsn
	}
	userinfo := dsn[scheme+3 : at]
	if user, _, ok := strings.Cut(userinfo, ":"); ok {
		return dsn[:scheme+3] + user + ":***" + dsn[at:]
	}
	return dsn
}

// explain turns driver errors that users meet into sentences.
func explain(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "file is not a database"), strings.Contains(msg, "file is encrypted"):
		return fmt.Errorf("not a callflow store (the file is not an SQLite database): %w", err)
	case strings.Contains(msg, "database is locked"), strings.Contains(msg, "SQLITE_BUSY"):
		return fmt.Errorf("another callflow process holds the store's lock and did not release it within %s; try again when it has finished: %w", lockWait, err)
	}
	return err
}

// rebind rewrites ? placeholders as $1, $2… for PostgreSQL. Queries in
// this package never contain a literal question mark.
func (s *Store) rebind(q string) string {
	if s.dialect != postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ErrNotFound is returned (wrapped) when a version or flow does not exist.
var ErrNotFound = errors.New("not found")

// timeLayout stores times in UTC with a fixed width, so that comparing the
// text compares the times.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func now() string { return time.Now().UTC().Format(timeLayout) }

func parseTime(s string) time.Time {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		t, _ = time.Parse(time.RFC3339Nano, s) // stores written before the fixed width
	}
	return t
}
