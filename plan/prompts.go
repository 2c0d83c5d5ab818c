package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/callflow/callflow/live"
	"github.com/callflow/callflow/vm"
)

// Prompts are prepared when a flow is applied, not when a call needs them
// (S21, S23): spoken text is rendered (espeak-ng), https audio is
// fetched, and audio is converted to 8 kHz mono (resampled with sox when
// it is at another rate, as speech always is); each prepared prompt is
// stored with the flow version, so that every node serves what was
// applied and none needs the repository, espeak-ng, sox or the network.
// A prompt that cannot be prepared fails the apply, never a call, and
// the error says what to install.
//
// A plan records what each prompt is made from (its source): the text,
// the URL, or the audio file's name and a hash of its contents. Sources
// are part of a flow's hash, so that a new recording of welcome.wav is a
// change of every flow that plays it, and apply refuses a plan whose audio
// files changed after it was made.

// Preparer prepares one prompt's audio, as an 8 kHz mono 16-bit WAV.
// kind is "say" (what is the text to speak), "file" (what is the path of
// a WAV file) or "url" (what is an https URL). The runtime's is
// prompt.Cache.
type Preparer interface {
	Prepare(ctx context.Context, kind, what string) ([]byte, error)
}

// promptSources returns what each prompt of a flow's program is made
// from, by prompt key. dir is the repository; an audio file is named
// relative to the file of the flow that plays it.
func promptSources(dir string, prog *vm.Program) (map[string]string, error) {
	out := map[string]string{}
	flowFile := ""
	for _, s := range prog.States {
		if s.Range.Filename != "" {
			flowFile = s.Range.Filename
			break
		}
	}
	for i := range prog.Consts {
		c := &prog.Consts[i]
		k, ok := live.PromptKey(c) // the key serve looks prompts up by
		if !ok || out[k] != "" {
			continue
		}
		switch {
		case c.Kind == vm.ConstSay:
			out[k] = "say:" + c.Text
		case strings.Contains(c.Text, "://"):
			out[k] = "url:" + c.Text
		default:
			rel := filepath.ToSlash(filepath.Join(filepath.Dir(flowFile), c.Text))
			sum, err := fileHash(filepath.Join(dir, rel))
			if err != nil {
				return nil, fmt.Errorf("audio file %s: %w", c.Text, err)
			}
			out[k] = "file:" + sum + ":" + rel
		}
	}
	return out, nil
}

func fileHash(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// preparePrompts prepares the prompts of the plan's changed flows, each
// source once however many flows use it.
func preparePrompts(ctx context.Context, p *Plan, prep Preparer) (map[string]map[string][]byte, error) {
	done := map[string][]byte{} // by source
	out := map[string]map[string][]byte{}
	for _, f := range p.Flows {
		if !f.Changed || len(f.Prompts) == 0 {
			continue
		}
		if prep == nil {
			return nil, fmt.Errorf("flow %s has prompts, and nothing was given to prepare them", f.Name)
		}
		audio := map[string][]byte{}
		for k, src := range f.Prompts {
			a, ok := done[src]
			if !ok {
				var err error
				if a, err = prepareSource(ctx, p.Dir, src, prep); err != nil {
					return nil, fmt.Errorf("flow %s: %w", f.Name, err)
				}
				done[src] = a
			}
			audio[k] = a
		}
		out[f.Name] = audio
	}
	return out, nil
}

func prepareSource(ctx context.Context, dir, src string, prep Preparer) ([]byte, error) {
	kind, what, _ := strings.Cut(src, ":")
	switch kind {
	case "say":
		a, err := prep.Prepare(ctx, "say", what)
		if err != nil {
			return nil, fmt.Errorf("say %q: %w", what, err)
		}
		return a, nil
	case "url":
		a, err := prep.Prepare(ctx, "url", what)
		if err != nil {
			return nil, fmt.Errorf("audio %s: %w", what, err)
		}
		return a, nil
	case "file":
		sum, rel, _ := strings.Cut(what, ":")
		path := filepath.Join(dir, filepath.FromSlash(rel))
		now, err := fileHash(path)
		if err != nil {
			return nil, fmt.Errorf("audio file %s: %w", rel, err)
		}
		if now != sum {
			return nil, fmt.Errorf("audio file %s changed after the plan was made; make a new plan", rel)
		}
		a, err := prep.Prepare(ctx, "file", path)
		if err != nil {
			return nil, fmt.Errorf("audio file %s: %w", rel, err)
		}
		return a, nil
	}
	return nil, fmt.Errorf("the plan names a prompt source of unknown kind %q; make the plan again with this callflow", kind)
}
