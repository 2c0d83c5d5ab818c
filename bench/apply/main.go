// Command apply measures plan and apply of a generated repository of
// 10,000 flows (about 100,000 states) against a fresh SQLite store:
//
//	go run ./bench/apply [-flows 10000] [-dir DIR]
//
// It reports, in order: the first plan (everything is new), the apply
// that stores it (10,000 flow programs, their prompts rendered and stored,
// and 10,000 numbers provisioned),
// a plan with no changes, and a plan and apply that change one flow.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/internal/benchgen"
	"github.com/callflow/callflow/numbers"
	"github.com/callflow/callflow/plan"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony/prompt"
)

func main() {
	flows := flag.Int("flows", benchgen.Large.Flows, "flows in the generated repository")
	dir := flag.String("dir", "", "generate into this directory instead of a temporary one")
	flag.Parse()
	if err := run(*flows, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(flows int, dir string) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "callflow-bench-apply-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	repo := filepath.Join(dir, "repo")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		return err
	}
	shape := benchgen.Large
	shape.Flows = flows
	fmt.Fprintf(os.Stderr, "generating %d flows…\n", flows)
	states, err := benchgen.Write(repo, shape)
	if err != nil {
		return err
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "callflow.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	inv, err := numbers.LoadInventory(filepath.Join(repo, numbers.InventoryFile))
	if err != nil {
		return err
	}

	// A fresh cache: the first apply renders every distinct spoken
	// prompt with espeak-ng, as a first apply on a new machine would.
	prompts := &prompt.Cache{Dir: filepath.Join(dir, "prompts")}
	fmt.Printf("repository: %d flows, %d states; SQLite store\n", flows, states)
	p, err := timedPlan(ctx, st, repo, "plan, everything new")
	if err != nil {
		return err
	}
	if err := timedApply(ctx, st, p, inv, prompts, "apply, everything new"); err != nil {
		return err
	}
	if p, err = timedPlan(ctx, st, repo, "plan, no changes"); err != nil {
		return err
	}
	if p.HasChanges() {
		return fmt.Errorf("the plan after apply has changes")
	}
	// Change one flow.
	file := filepath.Join(repo, "flows", "flows_00000.hcl")
	src, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(src), "ring_timeout   = 20", "ring_timeout   = 25", 1)), 0o644); err != nil {
		return err
	}
	if p, err = timedPlan(ctx, st, repo, "plan, one flow changed"); err != nil {
		return err
	}
	return timedApply(ctx, st, p, inv, prompts, "apply, one flow changed")
}

func timedPlan(ctx context.Context, st *store.Store, repo, what string) (*plan.Plan, error) {
	start := time.Now()
	m, _, diags := compiler.CheckDir(repo)
	if diags.HasErrors() {
		return nil, diags
	}
	p, err := plan.Make(ctx, st, m, repo, "")
	if err != nil {
		return nil, err
	}
	add, change, remove := plan.Counts(p.Changes)
	fmt.Printf("%-26s %8s   (%d to add, %d to change, %d to remove)\n", what, time.Since(start).Round(time.Millisecond), add, change, remove)
	return p, nil
}

func timedApply(ctx context.Context, st *store.Store, p *plan.Plan, inv *numbers.Inventory, prompts *prompt.Cache, what string) error {
	start := time.Now()
	applied, err := plan.Apply(ctx, st, p, plan.Options{AppliedBy: "bench", Numbers: inv, Prompts: prompts})
	if err != nil {
		return err
	}
	fmt.Printf("%-26s %8s   (version %d)\n", what, time.Since(start).Round(time.Millisecond), applied.Version.ID)
	return nil
}
