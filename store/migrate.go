package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// migrations are the schema, one numbered step each. A step is never
// changed once released; a change is a new step. {{blob}} becomes the
// dialect's binary type.
var migrations = []string{
	1: `
CREATE TABLE config_versions (
	id         BIGINT PRIMARY KEY,
	created_at TEXT NOT NULL,
	applied_by TEXT NOT NULL,
	git_commit TEXT NOT NULL,
	kind       TEXT NOT NULL,
	message    TEXT NOT NULL,
	config     TEXT NOT NULL,
	hash       TEXT NOT NULL
);
CREATE TABLE flow_versions (
	flow       TEXT NOT NULL,
	version    BIGINT NOT NULL,
	created_at TEXT NOT NULL,
	applied_by TEXT NOT NULL,
	git_commit TEXT NOT NULL,
	definition TEXT NOT NULL,
	program    {{blob}} NOT NULL,
	hash       TEXT NOT NULL,
	PRIMARY KEY (flow, version)
);
CREATE TABLE config_flows (
	config_version BIGINT NOT NULL REFERENCES config_versions (id),
	flow           TEXT NOT NULL,
	flow_version   BIGINT NOT NULL,
	PRIMARY KEY (config_version, flow),
	FOREIGN KEY (flow, flow_version) REFERENCES flow_versions (flow, version)
);
CREATE TABLE drafts (
	flow         TEXT PRIMARY KEY,
	flow_version BIGINT NOT NULL,
	FOREIGN KEY (flow, flow_version) REFERENCES flow_versions (flow, version)
);
`,
	2: `
CREATE TABLE numbers (
	e164           TEXT PRIMARY KEY,
	provider       TEXT NOT NULL,
	provisioned_at TEXT NOT NULL,
	config_version BIGINT NOT NULL
);
`,
	3: `
CREATE TABLE ledger_txns (
	id          BIGINT PRIMARY KEY,
	idem_key    TEXT NOT NULL UNIQUE,
	fingerprint TEXT NOT NULL,
	kind        TEXT NOT NULL,
	actor       TEXT NOT NULL,
	memo        TEXT NOT NULL,
	created_at  TEXT NOT NULL
);
CREATE TABLE ledger_entries (
	txn_id  BIGINT NOT NULL REFERENCES ledger_txns (id),
	account TEXT NOT NULL,
	amount  BIGINT NOT NULL,
	PRIMARY KEY (txn_id, account)
);
CREATE INDEX ledger_entries_account ON ledger_entries (account);
CREATE TABLE notifications (
	id         BIGINT PRIMARY KEY,
	kind       TEXT NOT NULL,
	message    TEXT NOT NULL,
	created_at TEXT NOT NULL,
	dedupe_key TEXT NOT NULL UNIQUE
);
`,
	4: `
CREATE TABLE recordings (
	id          TEXT PRIMARY KEY,
	call_id     TEXT NOT NULL,
	kind        TEXT NOT NULL,
	path        TEXT NOT NULL,
	seconds     BIGINT NOT NULL,
	created_at  TEXT NOT NULL,
	deleted_at  TEXT,
	deleted_why TEXT
);
CREATE INDEX recordings_created ON recordings (created_at);
`,
	5: `
CREATE TABLE unpaid_fees (
	idem_key   TEXT PRIMARY KEY,
	item       TEXT NOT NULL,
	what       TEXT NOT NULL,
	month      TEXT NOT NULL,
	amount     BIGINT NOT NULL,
	created_at TEXT NOT NULL
);
`,
	6: `
CREATE TABLE ledger_outbox (
	idem_key   TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	payload    TEXT NOT NULL,
	created_at TEXT NOT NULL,
	done_at    TEXT
);
`,
	7: `
CREATE TABLE calls (
	id           TEXT PRIMARY KEY,
	direction    TEXT NOT NULL,
	from_number  TEXT NOT NULL,
	to_number    TEXT NOT NULL,
	number_name  TEXT NOT NULL,
	flow         TEXT NOT NULL,
	flow_version BIGINT NOT NULL,
	path         TEXT NOT NULL,
	agent        TEXT NOT NULL,
	started_at   TEXT NOT NULL,
	answered_at  TEXT,
	ended_at     TEXT,
	last_seen_at TEXT NOT NULL,
	recording_s  BIGINT NOT NULL,
	credits      BIGINT NOT NULL,
	ending       TEXT NOT NULL
);
CREATE INDEX calls_started ON calls (started_at);
`,
	// 8: balances kept as postings are made, so that reading one does not
	// sum an account's whole history (and the entries need no index by
	// account); the node that runs each call, so that a node repairs only
	// its own calls after a crash.
	8: `
CREATE TABLE ledger_balances (
	account TEXT PRIMARY KEY,
	balance BIGINT NOT NULL
);
INSERT INTO ledger_balances (account, balance)
	SELECT account, SUM(amount) FROM ledger_entries GROUP BY account HAVING SUM(amount) <> 0;
DROP INDEX ledger_entries_account;
CREATE INDEX ledger_outbox_due ON ledger_outbox (created_at) WHERE done_at IS NULL;
ALTER TABLE calls ADD COLUMN node TEXT NOT NULL DEFAULT '';
CREATE INDEX calls_open ON calls (node) WHERE ended_at IS NULL;
`,
	// 9: prompts prepared at apply time, kept with the flow versions that
	// play them, so that any node serves them as applied.
	9: `
CREATE TABLE prompt_audio (
	hash  TEXT PRIMARY KEY,
	audio {{blob}} NOT NULL
);
CREATE TABLE flow_prompts (
	flow    TEXT NOT NULL,
	version BIGINT NOT NULL,
	prompt  TEXT NOT NULL,
	hash    TEXT NOT NULL REFERENCES prompt_audio (hash),
	PRIMARY KEY (flow, version, prompt)
);
`,
	// 10: the typed live model of each version (package live), made at
	// apply time, so that the server reads typed values and never the
	// front end; NULL for the versions applied before it.
	10: `
ALTER TABLE config_versions ADD COLUMN live TEXT;
`,
	// 11: agents. Digest credentials (hashes only, never a password);
	// phones' registrations (bindings, RFC 3261 §10), kept here so that
	// every node sees them; when each user logged in (their first live
	// binding), which orders a sequential group; the calls agents are
	// ringing or on, on any node; and a call's time in a queue and a note
	// on its record (why a recording was skipped, say).
	11: `
CREATE TABLE credentials (
	username   TEXT PRIMARY KEY,
	realm      TEXT NOT NULL,
	ha1_md5    TEXT NOT NULL,
	ha1_sha256 TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE TABLE registrations (
	username      TEXT NOT NULL,
	contact       TEXT NOT NULL,
	call_id       TEXT NOT NULL,
	cseq          BIGINT NOT NULL,
	expires_at    TEXT NOT NULL,
	registered_at TEXT NOT NULL,
	source        TEXT NOT NULL,
	transport     TEXT NOT NULL,
	node          TEXT NOT NULL,
	user_agent    TEXT NOT NULL,
	PRIMARY KEY (username, contact)
);
CREATE INDEX registrations_expires ON registrations (expires_at);
CREATE TABLE logins (
	username     TEXT PRIMARY KEY,
	logged_in_at TEXT NOT NULL
);
CREATE TABLE agent_calls (
	call_id  TEXT NOT NULL,
	username TEXT NOT NULL,
	state    TEXT NOT NULL,
	node     TEXT NOT NULL,
	since    TEXT NOT NULL,
	PRIMARY KEY (call_id, username)
);
CREATE INDEX agent_calls_user ON agent_calls (username, state);
CREATE INDEX agent_calls_node ON agent_calls (node);
ALTER TABLE calls ADD COLUMN queue_wait_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN note TEXT NOT NULL DEFAULT '';
`,
}

// SchemaVersion is the newest schema this build knows.
var SchemaVersion = len(migrations) - 1

// ErrNewerSchema is returned (wrapped) by Open for a store written by a
// newer callflow.
var ErrNewerSchema = errors.New("store was written by a newer callflow")

func (s *Store) migrate(ctx context.Context) error {
	// A store that is up to date is only read, so that commands that read
	// never wait behind an apply, and a read-only database role works.
	var v string
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT value FROM store_meta WHERE key = ?`), "schema_version").Scan(&v)
	if err == nil {
		if n, convErr := strconv.Atoi(v); convErr == nil && n == SchemaVersion && s.loadID(ctx) == nil {
			return nil
		}
	}
	err = s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// Inside the lock, so that nodes opening a new store at once do
		// not race to create it.
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`); err != nil {
			return explain(err)
		}
		current := 0
		var v string
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT value FROM store_meta WHERE key = ?`), "schema_version").Scan(&v)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("store %s: reading the schema version: %w", s.where, explain(err))
		default:
			if current, err = strconv.Atoi(v); err != nil {
				return fmt.Errorf("store %s: the schema version %q is not a number; the store is damaged", s.where, v)
			}
		}
		if current > SchemaVersion {
			return fmt.Errorf("store %s: %w (schema %d; this callflow knows schema %d). Upgrade callflow to use it", s.where, ErrNewerSchema, current, SchemaVersion)
		}
		for step := current + 1; step <= SchemaVersion; step++ {
			for _, stmt := range strings.Split(s.ddl(migrations[step]), ";") {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("store %s: migration %d: %w", s.where, step, err)
				}
			}
		}
		// Every store gets an identity once, so that a saved plan can
		// tell the store it was made against.
		insertID := `INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`
		if _, err := tx.ExecContext(ctx, s.rebind(insertID), "store_id", newID()); err != nil {
			return err
		}
		// A secret that signs saved plans, so that a plan file edited
		// after it was made is refused.
		if _, err := tx.ExecContext(ctx, s.rebind(insertID), "plan_key", newID()+newID()); err != nil {
			return err
		}
		if current == SchemaVersion {
			return nil
		}
		upsert := `INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`
		_, err = tx.ExecContext(ctx, s.rebind(upsert), "schema_version", strconv.Itoa(SchemaVersion))
		return err
	})
	if err != nil {
		return err
	}
	return s.loadID(ctx)
}

func (s *Store) loadID(ctx context.Context) error {
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT value FROM store_meta WHERE key = ?`), "store_id").Scan(&s.id)
	if err == nil {
		err = s.db.QueryRowContext(ctx, s.rebind(`SELECT value FROM store_meta WHERE key = ?`), "plan_key").Scan(&s.planKey)
	}
	if err != nil {
		return fmt.Errorf("store %s: reading its identity: %w", s.where, explain(err))
	}
	return nil
}

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("store: no randomness: " + err.Error()) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b[:])
}

func (s *Store) ddl(q string) string {
	blob := "BLOB"
	if s.dialect == postgres {
		blob = "BYTEA"
	}
	return strings.ReplaceAll(q, "{{blob}}", blob)
}
