package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Version is one version of the live configuration. Every change to what
// is live — an apply, a publish, a rollback — makes a new one; none is
// ever changed or deleted.
type Version struct {
	ID        int64
	CreatedAt time.Time
	AppliedBy string
	GitCommit string // "" when the repository was not a Git checkout
	Kind      string // apply | publish | rollback
	Message   string
	Hash      string // of the normalised configuration
}

// FlowVersion is one stored definition of a flow and its program. A
// definition is stored once; versions of the configuration that share it
// point at the same flow version.
type FlowVersion struct {
	Flow       string
	Version    int64
	CreatedAt  time.Time
	AppliedBy  string
	GitCommit  string
	Definition []byte // the normalised flow, JSON
	Program    []byte // the encoded vm.Program
	Hash       string
}

// Live is what is live now.
type Live struct {
	Version Version // ID 0 when nothing has been applied
	Config  []byte  // the normalised configuration, JSON
	// Model is the version's typed live model (package live encodes it);
	// nil for a version applied by a callflow from before it was stored.
	Model []byte
	Flows map[string]int64
}

// FlowInput is one flow of a change: a new definition, or (when Use is
// set) an existing flow version, for publish and rollback.
type FlowInput struct {
	Flow       string
	Definition []byte
	Program    []byte
	Hash       string
	Use        int64 // an existing version of Flow; the fields above are then ignored
	// Prompts holds the audio of the flow's prompts, prepared when it was
	// applied, by prompt (as the program names it: "say:Hello",
	// "play:audio/welcome.wav"). Audio is stored once however many flow
	// versions play it.
	Prompts map[string][]byte
}

// Change is a new live version.
type Change struct {
	// Base is the live version the change was planned against. Apply
	// refuses the change if the live version has moved since.
	Base int64
	// BaseHash, when set, is the hash of the configuration at Base: a
	// store restored from a backup may reuse a version number for other
	// content, and is refused too.
	BaseHash string
	Config   []byte
	// Live is the typed live model of the new version, as package live
	// encodes it; the store keeps it as it is.
	Live      []byte
	Hash      string
	AppliedBy string
	GitCommit string
	Kind      string
	Message   string
	// Flows lists every flow of the new configuration.
	Flows []FlowInput
	// ClearDrafts names flows whose drafts the change publishes.
	ClearDrafts []string
	// Numbers are the numbers the change provisions and releases.
	Numbers NumberChanges
	// Checkpoint, when set, is called at points inside the transaction;
	// tests use it to kill an apply half-way.
	Checkpoint func(stage string)
}

// ErrStale is returned (wrapped) when a change was planned against a live
// version that is no longer live.
var ErrStale = errors.New("the live configuration changed after the plan was made")

// Live returns what is live now.
func (s *Store) Live(ctx context.Context) (*Live, error) {
	live := &Live{Flows: map[string]int64{}}
	err := s.read(ctx, func(q querier) error {
		id, err := liveID(ctx, s, q)
		if err != nil || id == 0 {
			return err
		}
		live.Version, live.Config, live.Model, err = s.version(ctx, q, id)
		if err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, s.rebind(`SELECT flow, flow_version FROM config_flows WHERE config_version = ?`), id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var flow string
			var v int64
			if err := rows.Scan(&flow, &v); err != nil {
				return err
			}
			live.Flows[flow] = v
		}
		return rows.Err()
	})
	return live, err
}

// querier is what reads need of *sql.DB and *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// read runs fn against the database. Reads are consistent per statement;
// Live uses one read transaction so that its parts agree.
func (s *Store) read(ctx context.Context, fn func(querier) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	if err := fn(tx); err != nil {
		return fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	return nil
}

func liveID(ctx context.Context, s *Store, q querier) (int64, error) {
	var id sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT MAX(id) FROM config_versions`).Scan(&id)
	return id.Int64, err
}

func (s *Store) version(ctx context.Context, q querier, id int64) (Version, []byte, []byte, error) {
	var v Version
	var created, config string
	var model sql.NullString
	err := q.QueryRowContext(ctx, s.rebind(`SELECT id, created_at, applied_by, git_commit, kind, message, config, live, hash FROM config_versions WHERE id = ?`), id).
		Scan(&v.ID, &created, &v.AppliedBy, &v.GitCommit, &v.Kind, &v.Message, &config, &model, &v.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return v, nil, nil, fmt.Errorf("version %d: %w", id, ErrNotFound)
	}
	v.CreatedAt = parseTime(created)
	var m []byte
	if model.Valid {
		m = []byte(model.String)
	}
	return v, []byte(config), m, err
}

// LiveVersion returns the ID of the live version, 0 when nothing has been
// applied, without reading the version itself.
func (s *Store) LiveVersion(ctx context.Context) (int64, error) {
	id, err := liveID(ctx, s, s.db)
	if err != nil {
		return 0, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	return id, nil
}

// Apply makes c the new live version, atomically: either every row of it
// is written and it is live, or nothing changed. Applies are serialised.
func (s *Store) Apply(ctx context.Context, c Change) (Version, error) {
	var v Version
	checkpoint := c.Checkpoint
	if checkpoint == nil {
		checkpoint = func(string) {}
	}
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		live, err := liveID(ctx, s, tx)
		if err != nil {
			return err
		}
		if live != c.Base {
			return fmt.Errorf("%w: it was planned against version %d, and version %d is live now. Make a new plan", ErrStale, c.Base, live)
		}
		if c.BaseHash != "" && live != 0 {
			var hash string
			if err := tx.QueryRowContext(ctx, s.rebind(`SELECT hash FROM config_versions WHERE id = ?`), live).Scan(&hash); err != nil {
				return err
			}
			if hash != c.BaseHash {
				return fmt.Errorf("%w: version %d is not the configuration the plan was made against (was the store restored from a backup?). Make a new plan", ErrStale, live)
			}
		}
		v = Version{ID: live + 1, CreatedAt: time.Now().UTC(), AppliedBy: c.AppliedBy, GitCommit: c.GitCommit, Kind: c.Kind, Message: c.Message, Hash: c.Hash}
		var model sql.NullString
		if c.Live != nil {
			model = sql.NullString{String: string(c.Live), Valid: true}
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO config_versions (id, created_at, applied_by, git_commit, kind, message, config, live, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			v.ID, v.CreatedAt.Format(timeLayout), v.AppliedBy, v.GitCommit, v.Kind, v.Message, string(c.Config), model, v.Hash); err != nil {
			return err
		}
		checkpoint("version-written")
		for _, f := range c.Flows {
			fv := f.Use
			if fv == 0 {
				if fv, err = s.storeFlow(ctx, tx, f, c.AppliedBy, c.GitCommit); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO config_flows (config_version, flow, flow_version) VALUES (?, ?, ?)`), v.ID, f.Flow, fv); err != nil {
				return fmt.Errorf("flow %s version %d: %w", f.Flow, fv, err)
			}
			checkpoint("flow-written")
		}
		if err := s.recordNumbers(ctx, tx, v.ID, c.Numbers); err != nil {
			return err
		}
		for _, flow := range c.ClearDrafts {
			if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM drafts WHERE flow = ?`), flow); err != nil {
				return err
			}
		}
		checkpoint("before-commit")
		return nil
	})
	return v, err
}

// storeFlow stores a flow definition and returns its version number. A
// definition already stored (the same hash) is not stored again: its
// version is reused, so a flow changed and changed back is the old version.
func (s *Store) storeFlow(ctx context.Context, tx *sql.Tx, f FlowInput, by, commit string) (int64, error) {
	var same sql.NullInt64
	err := tx.QueryRowContext(ctx, s.rebind(`SELECT MAX(version) FROM flow_versions WHERE flow = ? AND hash = ?`), f.Flow, f.Hash).Scan(&same)
	if err != nil {
		return 0, err
	}
	if same.Valid {
		return same.Int64, nil
	}
	var latest sql.NullInt64
	if err := tx.QueryRowContext(ctx, s.rebind(`SELECT MAX(version) FROM flow_versions WHERE flow = ?`), f.Flow).Scan(&latest); err != nil {
		return 0, err
	}
	v := latest.Int64 + 1
	_, err = tx.ExecContext(ctx, s.rebind(`INSERT INTO flow_versions (flow, version, created_at, applied_by, git_commit, definition, program, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		f.Flow, v, now(), by, commit, string(f.Definition), f.Program, f.Hash)
	if err != nil {
		return 0, err
	}
	for prompt, audio := range f.Prompts {
		hash := contentHash(audio)
		if _, err := s.execTx(ctx, tx, `INSERT INTO prompt_audio (hash, audio) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING`, hash, audio); err != nil {
			return 0, err
		}
		if _, err := s.execTx(ctx, tx, `INSERT INTO flow_prompts (flow, version, prompt, hash) VALUES (?, ?, ?, ?)`, f.Flow, v, prompt, hash); err != nil {
			return 0, err
		}
	}
	return v, nil
}

func contentHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// FlowPrompts returns the audio of a flow version's prompts, prepared
// when it was applied, by prompt. A flow version applied by a callflow
// from before prompts were stored has none.
func (s *Store) FlowPrompts(ctx context.Context, flow string, version int64) (map[string][]byte, error) {
	rows, err := s.query(ctx, s.db, `SELECT fp.prompt, pa.audio FROM flow_prompts fp JOIN prompt_audio pa ON pa.hash = fp.hash WHERE fp.flow = ? AND fp.version = ?`, flow, version)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var prompt string
		var audio []byte
		if err := rows.Scan(&prompt, &audio); err != nil {
			return nil, err
		}
		out[prompt] = audio
	}
	return out, rows.Err()
}

// SaveDrafts stores flows as drafts, without changing what is live (S17).
// base is checked as Apply checks it.
func (s *Store) SaveDrafts(ctx context.Context, base int64, flows []FlowInput, by, commit string) (map[string]int64, error) {
	saved := map[string]int64{}
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		live, err := liveID(ctx, s, tx)
		if err != nil {
			return err
		}
		if live != base {
			return fmt.Errorf("%w: it was planned against version %d, and version %d is live now. Make a new plan", ErrStale, base, live)
		}
		for _, f := range flows {
			v, err := s.storeFlow(ctx, tx, f, by, commit)
			if err != nil {
				return err
			}
			upsert := `INSERT INTO drafts (flow, flow_version) VALUES (?, ?) ON CONFLICT (flow) DO UPDATE SET flow_version = excluded.flow_version`
			if _, err := tx.ExecContext(ctx, s.rebind(upsert), f.Flow, v); err != nil {
				return err
			}
			saved[f.Flow] = v
		}
		return nil
	})
	return saved, err
}

// Draft returns a flow's draft, or ErrNotFound.
func (s *Store) Draft(ctx context.Context, flow string) (FlowVersion, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT flow_version FROM drafts WHERE flow = ?`), flow).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return FlowVersion{}, fmt.Errorf("flow %s has no draft: %w", flow, ErrNotFound)
	}
	if err != nil {
		return FlowVersion{}, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	return s.FlowVersion(ctx, flow, v)
}

// FlowVersion returns one stored version of a flow, or ErrNotFound.
func (s *Store) FlowVersion(ctx context.Context, flow string, version int64) (FlowVersion, error) {
	fv := FlowVersion{Flow: flow, Version: version}
	var created, def string
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT created_at, applied_by, git_commit, definition, program, hash FROM flow_versions WHERE flow = ? AND version = ?`), flow, version).
		Scan(&created, &fv.AppliedBy, &fv.GitCommit, &def, &fv.Program, &fv.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return fv, fmt.Errorf("flow %s has no version %d: %w", flow, version, ErrNotFound)
	}
	if err != nil {
		return fv, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	fv.CreatedAt, fv.Definition = parseTime(created), []byte(def)
	return fv, nil
}

// FlowHistory lists a flow's stored versions, oldest first, without
// their definitions and programs.
func (s *Store) FlowHistory(ctx context.Context, flow string) ([]FlowVersion, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT version, created_at, applied_by, git_commit, hash FROM flow_versions WHERE flow = ? ORDER BY version`), flow)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	defer rows.Close()
	var out []FlowVersion
	for rows.Next() {
		fv := FlowVersion{Flow: flow}
		var created string
		if err := rows.Scan(&fv.Version, &created, &fv.AppliedBy, &fv.GitCommit, &fv.Hash); err != nil {
			return nil, err
		}
		fv.CreatedAt = parseTime(created)
		out = append(out, fv)
	}
	return out, rows.Err()
}

// Versions lists every version of the configuration, oldest first.
func (s *Store) Versions(ctx context.Context) ([]Version, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, created_at, applied_by, git_commit, kind, message, hash FROM config_versions ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		var v Version
		var created string
		if err := rows.Scan(&v.ID, &created, &v.AppliedBy, &v.GitCommit, &v.Kind, &v.Message, &v.Hash); err != nil {
			return nil, err
		}
		v.CreatedAt = parseTime(created)
		out = append(out, v)
	}
	return out, rows.Err()
}

// LiveFlowVersions maps each configuration version to the version of flow
// it ran, for `callflow versions FLOW`.
func (s *Store) LiveFlowVersions(ctx context.Context, flow string) (map[int64]int64, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT config_version, flow_version FROM config_flows WHERE flow = ?`), flow)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, explain(err))
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var c, f int64
		if err := rows.Scan(&c, &f); err != nil {
			return nil, err
		}
		out[c] = f
	}
	return out, rows.Err()
}

// LiveFlowHashes returns the hash of each live flow's stored version.
func (s *Store) LiveFlowHashes(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	err := s.read(ctx, func(q querier) error {
		id, err := liveID(ctx, s, q)
		if err != nil || id == 0 {
			return err
		}
		rows, err := q.QueryContext(ctx, s.rebind(`SELECT cf.flow, fv.hash FROM config_flows cf JOIN flow_versions fv ON fv.flow = cf.flow AND fv.version = cf.flow_version WHERE cf.config_version = ?`), id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var f, h string
			if err := rows.Scan(&f, &h); err != nil {
				return err
			}
			out[f] = h
		}
		return rows.Err()
	})
	return out, err
}

// ClearDraft discards a flow's draft, if it has one.
func (s *Store) ClearDraft(ctx context.Context, flow string) error {
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM drafts WHERE flow = ?`), flow)
		return err
	})
}
