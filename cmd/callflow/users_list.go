package main

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony/registrar"
)

func newUsersListCmd() *cobra.Command {
	var db, format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List each user's registered phones, login time and state",
		Long: `list shows every user the live configuration declares, with the phones
registered for them (the Contact URI, the address the registration came
from, its transport and when it expires), when they logged in (their first
live registration; a sequential group rings its members in this order), and
their state:

  available     registered, not ringing, not on a call
  ringing       their phones ring for a call
  on a call     bridged to a call, on any node
  unregistered  no phone registered

It reads the store, so it shows the registrations every node took.`,
		Example: `  callflow users list
  callflow users list --format json`,
		Args: argsBetween(0, 0),
		RunE: withStore(&db, &format, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			ctx := cmd.Context()
			m, err := liveUsers(ctx, st)
			if err != nil {
				return err
			}
			now := time.Now()
			bindings, err := st.AllBindings(ctx, now)
			if err != nil {
				return err
			}
			logins, err := st.Logins(ctx, now)
			if err != nil {
				return err
			}
			calls, err := st.AgentCalls(ctx)
			if err != nil {
				return err
			}
			names := make([]string, len(m.Users))
			for i, u := range m.Users {
				names[i] = u.Name
			}
			sort.Strings(names)
			withPassword, err := st.CredentialUsers(ctx)
			if err != nil {
				return err
			}
			ps := registrar.Presences(names, bindings, logins, calls)
			w := cmd.OutOrStdout()
			if format == "json" {
				return encodeJSON(w, userRows(ps, withPassword, now))
			}
			if len(ps) == 0 {
				fmt.Fprintln(w, "The live configuration declares no users.")
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USER\tSTATE\tLOGGED IN\tCONTACT\tSOURCE\tTRANSPORT\tEXPIRES")
			hasPassword := map[string]bool{}
			for _, u := range withPassword {
				hasPassword[u] = true
			}
			for _, p := range ps {
				if !hasPassword[p.User] && p.State == registrar.StateUnregistered {
					p.State += " (no password: callflow users set-password " + p.User + ")"
				}
				login := "-"
				if !p.LoggedInAt.IsZero() {
					login = p.LoggedInAt.Local().Format("2006-01-02 15:04:05")
				}
				if len(p.Phones) == 0 {
					fmt.Fprintf(tw, "%s\t%s\t%s\t-\t-\t-\t-\n", p.User, p.State, login)
					continue
				}
				for i, b := range p.Phones {
					user, state := p.User, p.State
					if i > 0 {
						user, state, login = "", "", ""
					}
					left := b.ExpiresAt.Sub(now).Round(time.Second)
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\tin %s\n", user, state, login, b.Contact, b.Source, strings.ToUpper(b.Transport), left)
				}
			}
			return tw.Flush()
		}),
	}
	addDBFlag(cmd, &db)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

type userRow struct {
	User        string     `json:"user"`
	State       string     `json:"state"`
	PasswordSet bool       `json:"password_set"`
	LoggedInAt  *time.Time `json:"logged_in_at,omitempty"`
	Phones      []phoneRow `json:"phones"`
}

type phoneRow struct {
	Contact      string    `json:"contact"`
	Source       string    `json:"source"`
	Transport    string    `json:"transport"`
	ExpiresAt    time.Time `json:"expires_at"`
	ExpiresIn    int       `json:"expires_in_s"`
	RegisteredAt time.Time `json:"registered_at"`
	UserAgent    string    `json:"user_agent,omitempty"`
	Node         string    `json:"node,omitempty"`
}

func userRows(ps []registrar.Presence, withPassword []string, now time.Time) []userRow {
	has := map[string]bool{}
	for _, u := range withPassword {
		has[u] = true
	}
	out := make([]userRow, 0, len(ps))
	for _, p := range ps {
		r := userRow{User: p.User, State: p.State, PasswordSet: has[p.User], Phones: []phoneRow{}}
		if !p.LoggedInAt.IsZero() {
			at := p.LoggedInAt
			r.LoggedInAt = &at
		}
		for _, b := range p.Phones {
			r.Phones = append(r.Phones, phoneRow{Contact: b.Contact, Source: b.Source, Transport: b.Transport, ExpiresAt: b.ExpiresAt,
				ExpiresIn: int(b.ExpiresAt.Sub(now).Round(time.Second) / time.Second), RegisteredAt: b.RegisteredAt, UserAgent: b.UserAgent, Node: b.Node})
		}
		out = append(out, r)
	}
	return out
}
