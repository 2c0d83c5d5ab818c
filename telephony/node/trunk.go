package node

import (
	"context"
	"log/slog"
	"strings"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/telephony/dialog"
	"github.com/callflow/callflow/telephony/trunk"
)

// trunkAuth is the lookup the outgoing call path answers a carrier's
// digest challenge with: the credentials of the trunk named, as the
// Target.Auth of its INVITE, or nil when it has none (a challenge is
// then a rejection). It is safe for concurrent use: the Set is never
// changed after Load.
func trunkAuth(set *trunk.Set) func(trunkName string) *dialog.Credentials {
	return func(trunkName string) *dialog.Credentials {
		c, ok := set.Lookup(trunkName)
		if !ok {
			return nil
		}
		return &c
	}
}

// checkTrunkCredentials logs, for the trunks of the live version, which
// have credentials and where from (never a password), warns of a trunk
// without any (its carrier's challenges will refuse its calls), and of
// credentials named for no trunk (a misspelt NAME).
func checkTrunkCredentials(log *slog.Logger, set *trunk.Set, trunks []string) {
	named := map[string]bool{}
	for _, name := range trunks {
		named[trunk.Key(name)] = true
		if _, ok := set.Lookup(name); ok {
			log.Info("trunk credentials loaded", "trunk", name)
		} else {
			log.Warn("trunk has no credentials: calls through it fail if its carrier challenges them",
				"trunk", name, "env", trunk.Prefix+trunk.Key(name)+"_USERNAME")
		}
	}
	for _, entry := range set.Names() {
		if key, _, _ := strings.Cut(entry, " "); !named[key] {
			log.Warn("trunk credentials for no trunk of the live version", "name", entry)
		}
	}
}

// liveTrunks are the names of the live version's trunks.
func (n *node) liveTrunks(ctx context.Context) ([]string, error) {
	cur, err := n.st.Live(ctx)
	if err != nil {
		return nil, err
	}
	m, err := billing.DecodeLive(cur.Version.ID, cur.Model)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, t := range m.Trunks {
		names = append(names, t.Name)
	}
	return names, nil
}

// logTrunkCredentials runs checkTrunkCredentials for the live version; a
// failure to read it is logged, not fatal: calls need the credentials,
// not this report.
func (n *node) logTrunkCredentials(ctx context.Context) {
	names, err := n.liveTrunks(ctx)
	if err != nil {
		n.log.Warn("could not list the live trunks to check their credentials", "err", err)
		return
	}
	checkTrunkCredentials(n.log, n.cfg.TrunkCredentials, names)
}
