package store_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/callflow/callflow/store"
)

// The kill test runs this test binary again as a child that applies a
// change and stops at a checkpoint inside the transaction; the parent
// kills it there with SIGKILL and checks that the previous version is
// still live and whole.
const (
	envKillDSN   = "CALLFLOW_KILL_DSN"
	envKillStage = "CALLFLOW_KILL_STAGE"
)

func TestMain(m *testing.M) {
	if dsn := os.Getenv(envKillDSN); dsn != "" {
		os.Exit(applyUntilKilled(dsn, os.Getenv(envKillStage)))
	}
	os.Exit(m.Run())
}

// applyUntilKilled applies version 2 and, at the stage, says so on stdout
// and waits for a kill that never lets it finish.
func applyUntilKilled(dsn, stage string) int {
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	c := change(1, `{"v":2}`, flow("f", "new-f"), flow("g", "new-g"))
	c.Checkpoint = func(at string) {
		if at == stage {
			fmt.Println("paused at", at)
			// Wait for the SIGKILL; this process must not finish the apply.
			time.Sleep(time.Hour)
		}
	}
	_, err = s.Apply(context.Background(), c)
	fmt.Println("error: the apply finished:", err)
	return 1
}

func TestKilledApplyLeavesPreviousVersion(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store, dsn string) {
		ctx := context.Background()
		if _, err := s.Apply(ctx, change(0, `{"v":1}`, flow("f", "old-f"), flow("g", "old-g"))); err != nil {
			t.Fatal(err)
		}
		for _, stage := range []string{"version-written", "flow-written", "before-commit"} {
			killAt(t, dsn, stage)
			again := openAt(t, dsn)
			live, err := again.Live(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if live.Version.ID != 1 || string(live.Config) != `{"v":1}` {
				t.Fatalf("killed at %s: live is version %d %s, want version 1", stage, live.Version.ID, live.Config)
			}
			for f, def := range map[string]string{"f": "old-f", "g": "old-g"} {
				fv, err := again.FlowVersion(ctx, f, live.Flows[f])
				if err != nil || string(fv.Definition) != def || string(fv.Program) != "prog:"+def {
					t.Errorf("killed at %s: flow %s is %+v (%v)", stage, f, fv, err)
				}
			}
			// The store is usable: the same change applies now.
			if hist, _ := again.FlowHistory(ctx, "f"); len(hist) != 1 {
				t.Errorf("killed at %s: half-written flow versions survived: %+v", stage, hist)
			}
		}
		if _, err := s.Apply(ctx, change(1, `{"v":2}`, flow("f", "new-f"))); err != nil {
			t.Errorf("apply after the kills: %v", err)
		}
	})
}

func killAt(t *testing.T, dsn, stage string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envKillDSN+"="+dsn, envKillStage+"="+stage)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if !strings.HasPrefix(line, "paused at "+stage) {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child did not pause at %s: %q", stage, line)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed by SIGKILL: %v", err)
	}
}
