package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/live"
	"github.com/callflow/callflow/store"
)

func newUsersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users",
		Short: "Set users' SIP passwords and see their phones' registrations",
		Long: `users manages what the configuration does not hold: the password each
telephony user's phones register with, and their registrations. Users are
declared in user blocks and applied; a user's phones register as
sip:NAME@DOMAIN, where NAME is the user block's name and DOMAIN the
organization's sip_domain (or, without one, the address serve listens on).

  callflow users set-password NAME   store the digest hashes of a password read from stdin
  callflow users list                each user's phones, login time and state`,
	}
	return groupCmd(cmd, newUsersSetPasswordCmd(), newUsersListCmd())
}

// liveUsers returns the live model, whose users may have passwords and
// register.
func liveUsers(ctx context.Context, st *store.Store) (*live.Model, error) {
	cur, err := st.Live(ctx)
	if err != nil {
		return nil, err
	}
	if cur.Version.ID == 0 {
		return nil, &exitError{code: exitFail, msg: fmt.Sprintf("nothing is live in %s: apply a configuration that declares the users first (callflow apply DIR)", st)}
	}
	m, err := billing.DecodeLive(cur.Version.ID, cur.Model)
	if err != nil {
		return nil, &exitError{code: exitFail, msg: err.Error()}
	}
	return m, nil
}
