package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/store"
)

// flowVersionArg reads a VERSION argument and loads that version.
func flowVersionArg(cmd *cobra.Command, st *store.Store, flow, arg string) (store.FlowVersion, error) {
	n, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || n < 1 {
		return store.FlowVersion{}, usagef("VERSION must be a version number such as 2, not %q; 'callflow versions %s' lists them", arg, flow)
	}
	fv, err := st.FlowVersion(cmd.Context(), flow, n)
	if err != nil {
		return fv, notFound(err)
	}
	return fv, nil
}

// notFound turns a store.ErrNotFound into a plain failure.
func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return &exitError{code: exitFail, msg: err.Error()}
	}
	return err
}

// short shortens a commit for a table, keeping "-dirty".
func short(commit string) string {
	hash, dirty := strings.CutSuffix(commit, "-dirty")
	if len(hash) > 12 {
		hash = hash[:12]
	}
	if hash == "" {
		return "-"
	}
	if dirty {
		hash += "-dirty"
	}
	return hash
}
