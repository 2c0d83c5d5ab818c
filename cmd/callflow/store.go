package main

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"strings"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/store"
)

// addDBFlag adds --db to a command that uses the store.
func addDBFlag(cmd *cobra.Command, db *string) {
	cmd.Flags().StringVar(db, "db", "", "the store: a SQLite file, or a postgres:// URL (default $"+store.EnvDB+", else ./"+store.DefaultPath+")")
}

// openStore opens the store named by --db, $CALLFLOW_DB, or the default.
func openStore(ctx context.Context, db string) (*store.Store, error) {
	if db == "" {
		db = os.Getenv(store.EnvDB)
	}
	s, err := store.Open(ctx, db)
	if err != nil {
		return nil, &exitError{code: exitFail, msg: err.Error()}
	}
	return s, nil
}

// withStore makes the RunE of a command that uses the store: it checks
// --format (when the command has one) before anything else, so that a
// wrong command line never creates a store, then opens the store named
// by --db, runs body and closes the store.
func withStore(db, format *string, body func(cmd *cobra.Command, args []string, st *store.Store) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if format != nil {
			if err := checkFormat(*format, "text", "json"); err != nil {
				return err
			}
		}
		st, err := openStore(cmd.Context(), *db)
		if err != nil {
			return err
		}
		defer st.Close()
		return body(cmd, args, st)
	}
}

// whoAmI names the person applying: $CALLFLOW_USER, else the login name.
func whoAmI() string {
	if u := os.Getenv("CALLFLOW_USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

// gitCommit returns the commit checked out in dir, with "-dirty" when the
// work tree has changes, or "" when dir is not in a Git checkout.
func gitCommit(dir string) string {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	commit := strings.TrimSpace(string(out))
	// Dirty when a tracked file under dir changed, or an untracked .hcl
	// file would be read; other untracked files (the store itself, saved
	// plans) change nothing that is applied.
	changed, err1 := exec.Command("git", "-C", dir, "status", "--porcelain", "--untracked-files=no", "--", ".").Output()
	untracked, err2 := exec.Command("git", "-C", dir, "ls-files", "--others", "--exclude-standard", "--", "*.hcl").Output()
	if err1 == nil && err2 == nil && len(changed)+len(untracked) > 0 {
		commit += "-dirty"
	}
	return commit
}
