package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/outbound"
	"github.com/callflow/callflow/plan"
)

// outboundResult is what simulate --outbound prints: the decision, with
// the rate also in credits as text.
type outboundResult struct {
	outbound.Decision
	// Rate is RatePerMinute in credits, such as "0.03"; "" when refused.
	Rate string `json:"rate"`
}

// simulateOutbound decides, as the server would, whether user may call
// number under the configuration in dir, and prints the decision. A
// refused call exits 1, so that a CI job can assert either way.
func simulateOutbound(cmd *cobra.Command, dir, user, number, format string) error {
	m, err := loadModel(cmd.ErrOrStderr(), dir)
	if err != nil {
		return err
	}
	if _, ok := m.Users[user]; !ok {
		return usagef("--outbound %s: no user named %q is declared in %s", user, user, dir)
	}
	model, err := plan.NewLive(m)
	if err != nil {
		return err
	}
	r := outboundResult{Decision: outbound.Check(model, user, number)}
	if r.Allowed {
		r.Rate = billing.Micro(r.RatePerMinute).String()
	}
	if format == "json" {
		if err := encodeJSON(cmd.OutOrStdout(), r); err != nil {
			return err
		}
	} else {
		writeOutbound(cmd.OutOrStdout(), r)
	}
	if !r.Allowed {
		return &exitError{code: exitFail}
	}
	return nil
}

func writeOutbound(w io.Writer, r outboundResult) {
	verdict := "allowed"
	if !r.Allowed {
		verdict = fmt.Sprintf("refused (%d, %s)", r.Status, r.Refusal)
	}
	fmt.Fprintf(w, "outgoing call from user.%s to %q: %s\n", r.User, r.Dialled, verdict)
	fmt.Fprintf(w, "  reason:      %s\n", r.Reason)
	if d := r.Destination; d.E164 != "" {
		fmt.Fprintf(w, "  destination: %s (%s, %s)\n", d.E164, d.Country, orNone(d.Type))
	}
	if r.CallerID != "" {
		custom := ""
		if r.CustomCallerID {
			custom = " (custom caller ID; callbacks go to the support number's flow)"
		}
		fmt.Fprintf(w, "  caller ID:   %s%s\n", r.CallerID, custom)
	}
	if r.Allowed {
		fmt.Fprintf(w, "  rate:        %s credits per started minute (outgoing_per_minute %q)\n", r.Rate, r.RateKey)
	}
}

func orNone(s string) string {
	if s == "" {
		return "type unknown"
	}
	return s
}
