package compiler_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callflow/callflow/compiler"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestLowerGolden compiles every flow of each repository under
// testdata/lower, and of examples/acme, and compares the disassembly with
// the golden file beside it.
func TestLowerGolden(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/lower/*")
	dirs = append(dirs, "../examples/acme")
	for _, dir := range dirs {
		info, err := os.Stat(dir)
		if err != nil || !info.IsDir() {
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			m, _, diags := compiler.CheckDir(dir)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			progs, err := compiler.LowerAll(m)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, name := range sortedKeys(progs) {
				text, err := progs[name].Disassemble()
				if err != nil {
					t.Fatal(err)
				}
				b.WriteString(text)
				b.WriteString("\n")
			}
			golden := filepath.Join("testdata/lower", filepath.Base(dir)+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./compiler -run TestLowerGolden -update)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("disassembly differs from %s (run with -update to accept):\n%s", golden, lineDiff(string(want), got))
			}
		})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// lineDiff shows the first lines where want and got differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl && shown < 10 {
			b.WriteString("-" + wl + "\n+" + gl + "\n")
			shown++
		}
	}
	return b.String()
}

// TestEncodedAcme keeps vm/testdata/acme-sales.cfvm, the program vm's
// BenchmarkCalls runs, identical to what the compiler makes of the acme
// sales flow. vm may not import the compiler, so the file stands between.
func TestEncodedAcme(t *testing.T) {
	m, _, diags := compiler.CheckDir("../examples/acme")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p, err := compiler.Lower(m.Flows["sales"])
	if err != nil {
		t.Fatal(err)
	}
	const path = "../vm/testdata/acme-sales.cfvm"
	if *update {
		if err := os.WriteFile(path, p.Encode(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(have) != string(p.Encode()) {
		t.Errorf("%s is out of date: run go test ./compiler -run TestEncodedAcme -update", path)
	}
}
