package plan_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/internal/tooltest"
	"github.com/callflow/callflow/numbers"
	"github.com/callflow/callflow/plan"
	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony/prompt"
)

// Prompts are prepared when a flow is applied and kept with its version:
// spoken text, audio files and https audio. One that cannot be prepared
// fails the apply and changes nothing.
func TestPromptsPreparedAtApply(t *testing.T) {
	tooltest.Require(t, "espeak-ng", "espeak-ng")
	tooltest.Require(t, "sox", "sox") // speech and hi.wav are not 8 kHz
	ctx := context.Background()
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	os.MkdirAll(filepath.Join(repo, "flows", "audio"), 0o755)
	tone := prompt.Audio{Samples: make([]int16, 800)}
	for i := range tone.Samples {
		tone.Samples[i] = int16((i % 40) * 400)
	}
	// A 0.1 s recording at 16 kHz, as a studio might deliver it.
	hi := filepath.Join(repo, "flows", "audio", "hi.wav")
	if err := os.WriteFile(hi, wav16k(1600), 0o644); err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{"/hold.wav": true, "/hold2.wav": true}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !served[r.URL.Path] {
			http.NotFound(w, r)
			return
		}
		prompt.EncodeWAV(w, tone)
	}))
	defer srv.Close()
	flow := func(url string) string {
		return strings.NewReplacer(`say = "Bye."`, `play = "audio/hi.wav"`,
			`key "1" { next = transfer_user.ann }`, `key "1" { next = transfer_user.ann }
    key "2" { next = announce.bye }`).Replace(base) + `
flow "g" {
  start = announce.hold
  announce "hold" {
    play = "` + url + `"
  }
}
`
	}
	write := func(src string) {
		if err := os.WriteFile(filepath.Join(repo, "flows", "main.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(flow(srv.URL + "/hold.wav"))
	st, err := store.Open(ctx, filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	os.WriteFile(filepath.Join(dir, "inventory.csv"), []byte("+14155550100,local\n"), 0o644)
	inv, _ := numbers.LoadInventory(filepath.Join(dir, "inventory.csv"))
	mk := func() *plan.Plan {
		t.Helper()
		m, _, diags := compiler.CheckDir(repo)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		p, err := plan.Make(ctx, st, m, repo, "")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cache := &prompt.Cache{Dir: filepath.Join(dir, "cache"), HTTP: srv.Client()}
	applied, err := plan.Apply(ctx, st, mk(), plan.Options{Numbers: inv, Prompts: cache})
	if err != nil {
		t.Fatal(err)
	}
	live, _ := st.Live(ctx)
	got, err := st.FlowPrompts(ctx, "f", live.Flows["f"])
	if err != nil {
		t.Fatal(err)
	}
	say, okSay := got["say:Press 1."]
	file, okFile := got["play:audio/hi.wav"]
	if !okSay || !okFile || len(got) != 2 {
		t.Fatalf("flow f's stored prompts: %d (%v); want its spoken menu and its audio file", len(got), keys(got))
	}
	for name, wav := range map[string][]byte{"say": say, "file": file} {
		a, err := prompt.DecodeWAV(strings.NewReader(string(wav)))
		if err != nil || len(a.Samples) == 0 {
			t.Fatalf("stored %s prompt: %d samples, %v; want audio", name, len(a.Samples), err)
		}
	}
	if a, _ := prompt.DecodeWAV(strings.NewReader(string(file))); len(a.Samples) != 800 {
		t.Fatalf("the 0.1 s file at 16 kHz became %d samples at 8 kHz; want 800", len(a.Samples))
	}
	if g, _ := st.FlowPrompts(ctx, "g", live.Flows["g"]); len(g) != 1 {
		t.Fatalf("flow g's fetched prompt was not stored: %v", keys(g))
	}

	// Without espeak-ng, a changed spoken prompt cannot be prepared: the
	// apply fails, says how to install it, and nothing changes.
	write(strings.Replace(flow(srv.URL+"/hold.wav"), "Press 1.", "Press one.", 1))
	noEspeak := &prompt.Cache{Dir: filepath.Join(dir, "cache"), HTTP: srv.Client(), Espeak: filepath.Join(dir, "no-espeak-ng")}
	_, err = plan.Apply(ctx, st, mk(), plan.Options{Numbers: inv, Prompts: noEspeak})
	if err == nil || !strings.Contains(err.Error(), "apt-get install espeak-ng") || !strings.Contains(err.Error(), "flow f") {
		t.Fatalf("applying a spoken prompt without espeak-ng: %v", err)
	}
	if now, _ := st.Live(ctx); now.Version.ID != applied.Version.ID {
		t.Fatalf("a failed apply made version %d live", now.Version.ID)
	}

	// Without sox, the same change fails too: espeak-ng speaks at
	// 22.05 kHz, and sox converts that to call audio. The error says how
	// to install it, and nothing changes.
	noSox := &prompt.Cache{Dir: filepath.Join(dir, "cache"), HTTP: srv.Client(), Sox: filepath.Join(dir, "no-sox")}
	_, err = plan.Apply(ctx, st, mk(), plan.Options{Numbers: inv, Prompts: noSox})
	if err == nil || !strings.Contains(err.Error(), "apt-get install sox") || !strings.Contains(err.Error(), "flow f") {
		t.Fatalf("applying a spoken prompt without sox: %v", err)
	}
	if now, _ := st.Live(ctx); now.Version.ID != applied.Version.ID {
		t.Fatalf("a failed apply made version %d live", now.Version.ID)
	}

	// Audio already at 8 kHz needs neither espeak-ng nor sox: a new URL
	// for flow g, converted into an empty cache, applies.
	write(flow(srv.URL + "/hold2.wav"))
	neither := &prompt.Cache{Dir: filepath.Join(dir, "cache-8k"), HTTP: srv.Client(), Espeak: filepath.Join(dir, "no-espeak-ng"), Sox: filepath.Join(dir, "no-sox")}
	if _, err := plan.Apply(ctx, st, mk(), plan.Options{Numbers: inv, Prompts: neither}); err != nil {
		t.Fatalf("applying an 8 kHz prompt without espeak-ng and sox: %v", err)
	}
	live, _ = st.Live(ctx)
	if g, _ := st.FlowPrompts(ctx, "g", live.Flows["g"]); len(g) != 1 {
		t.Fatalf("flow g's new prompt was not stored: %v", keys(g))
	} else {
		for _, w := range g {
			if a, err := prompt.DecodeWAV(bytes.NewReader(w)); err != nil || len(a.Samples) != len(tone.Samples) {
				t.Fatalf("flow g's stored prompt: %d samples, %v; want the %d served", len(a.Samples), err, len(tone.Samples))
			}
		}
	}

	// A URL that cannot be fetched fails the apply, naming it.
	write(flow(srv.URL + "/gone.wav"))
	_, err = plan.Apply(ctx, st, mk(), plan.Options{Numbers: inv, Prompts: cache})
	if err == nil || !strings.Contains(err.Error(), "/gone.wav") || !strings.Contains(err.Error(), "404") {
		t.Fatalf("applying audio that cannot be fetched: %v", err)
	}

	// An audio file changed between plan and apply: the reviewed plan is
	// not what would be applied, so apply refuses it.
	write(strings.Replace(flow(srv.URL+"/hold.wav"), "Press 1.", "Press 1 now.", 1))
	p := mk()
	if err := os.WriteFile(hi, wav16k(320), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = plan.Apply(ctx, st, p, plan.Options{Numbers: inv, Prompts: cache})
	if err == nil || !strings.Contains(err.Error(), "changed after the plan was made") {
		t.Fatalf("applying a plan whose audio file changed since: %v", err)
	}
}

// wav16k is a mono 16-bit WAV file of n samples at 16 kHz.
func wav16k(n int) []byte {
	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(1))     // PCM
	le(uint16(1))     // mono
	le(uint32(16000)) // rate
	le(uint32(32000)) // bytes per second
	le(uint16(2))     // block
	le(uint16(16))    // bits
	b.WriteString("data")
	le(uint32(2 * n))
	for i := range n {
		le(int16((i % 40) * 400))
	}
	return b.Bytes()
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
