package node

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/callflow/callflow/telephony/trunk"
)

// The lookup hands out a trunk's credentials as dialog's, by any
// spelling of its name that maps to the same variables; none is nil.
func TestTrunkAuth(t *testing.T) {
	set, err := trunk.Load("", []string{"CALLFLOW_TRUNK_MY_CARRIER_USERNAME=alice", "CALLFLOW_TRUNK_MY_CARRIER_PASSWORD=hunter2"})
	if err != nil {
		t.Fatal(err)
	}
	auth := trunkAuth(set)
	if c := auth("my-carrier"); c == nil || c.Username != "alice" || c.Password != "hunter2" || c.Realm != "" {
		t.Errorf("my-carrier: %#v", c)
	}
	if c := auth("other"); c != nil {
		t.Errorf("other: %#v, want nil", c)
	}
	if c := trunkAuth(nil)("my-carrier"); c != nil {
		t.Errorf("without a Set: %#v, want nil", c)
	}

	var out bytes.Buffer
	checkTrunkCredentials(slog.New(slog.NewTextHandler(&out, nil)), set, []string{"my-carrier", "backup"})
	log := out.String()
	for _, want := range []string{
		`msg="trunk credentials loaded" trunk=my-carrier`,
		`trunk=backup env=CALLFLOW_TRUNK_BACKUP_USERNAME`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "hunter2") || strings.Contains(log, "for no trunk") {
		t.Errorf("the log:\n%s", log)
	}
	out.Reset()
	checkTrunkCredentials(slog.New(slog.NewTextHandler(&out, nil)), set, nil)
	if !strings.Contains(out.String(), "for no trunk of the live version") || !strings.Contains(out.String(), "MY_CARRIER") {
		t.Errorf("credentials of no trunk are not warned of:\n%s", out.String())
	}
}
