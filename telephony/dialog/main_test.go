package dialog_test

import (
	"os"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// TestMain: SIPDEBUG=1 prints every SIP message sipgo sends and reads.
func TestMain(m *testing.M) {
	if os.Getenv("SIPDEBUG") != "" {
		sip.SIPDebug = true
	}
	os.Exit(m.Run())
}
