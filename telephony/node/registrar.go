package node

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony/registrar"
)

// SweepEvery is how often a node expires bindings and logs out the users
// left with none.
const SweepEvery = 10 * time.Second

// directory is the registrar's view of the live configuration: who the
// users are and the domain their phones register in. The node loads it
// at start and at each reload; the registrar reads it on the goroutines
// of requests.
type directory struct {
	host  string // the domain when the configuration names no sip_domain
	state atomic.Pointer[directoryState]
}

type directoryState struct {
	users  map[string]bool
	domain string
}

func (d *directory) Known(user string) bool { return d.state.Load().users[user] }
func (d *directory) Domain() string         { return d.state.Load().domain }

// load reads the live version's users and domain.
func (d *directory) load(ctx context.Context, st *store.Store) error {
	cur, err := st.Live(ctx)
	if err != nil {
		return err
	}
	m, err := billing.DecodeLive(cur.Version.ID, cur.Model)
	if err != nil {
		return err
	}
	s := &directoryState{users: make(map[string]bool, len(m.Users)), domain: m.Organization.SIPDomain}
	for _, u := range m.Users {
		s.users[u.Name] = true
	}
	if s.domain == "" {
		s.domain = d.host
	}
	d.state.Store(s)
	return nil
}

// startRegistrar clears the agent calls a crash of this node left, loads
// the directory and makes the registrar, whose metrics join the server's.
func (n *node) startRegistrar(ctx context.Context) error {
	if err := n.st.ClearAgentCalls(ctx, n.cfg.Node); err != nil {
		return err
	}
	host := n.cfg.Host
	if host == "" {
		host = n.cfg.Listen.Addr().String()
	}
	n.dir = &directory{host: host}
	if err := n.dir.load(ctx, n.st); err != nil {
		return err
	}
	n.reg = registrar.New(n.st, n.dir, registrar.WithAlgorithms(n.cfg.DigestAlgorithms...), registrar.WithLogger(n.log), registrar.WithNode(n.cfg.Node))
	n.warnRealms(ctx)
	return nil
}

// warnRealms logs the users whose passwords were set for another domain
// than the one served: their phones cannot register until the password
// is set again.
func (n *node) warnRealms(ctx context.Context) {
	users, err := n.st.CredentialUsers(ctx)
	if err != nil {
		return
	}
	domain := n.dir.Domain()
	for _, u := range users {
		if c, err := n.st.Credential(ctx, u); err == nil && c.Realm != domain && n.dir.Known(u) {
			n.log.Warn("a user's password was set for another SIP domain; their phones cannot register until it is set again (callflow users set-password)", "user", u, "password_domain", c.Realm, "domain", domain)
		}
	}
}

// sweep expires bindings; a failure is logged and tried at the next tick.
func (n *node) sweep(ctx context.Context) {
	if _, err := n.reg.Sweep(ctx); err != nil {
		n.log.Error("expiring registrations failed; the next sweep tries again", "err", err)
	}
}
