package prompt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Cache keeps prepared prompts as 8 kHz WAV files in a directory, each
// named by a hash of what it was made from, so that the same prompt is
// prepared once however many flows use it.
type Cache struct {
	Dir string
	// Espeak is the espeak-ng program; "espeak-ng" on PATH by default.
	Espeak string
	// Voice is espeak-ng's voice; "en-us" by default.
	Voice string
	// Sox is the sox program, which resamples prompts that are not at
	// 8 kHz (see Convert); "sox" on PATH by default.
	Sox string
	// HTTP fetches audio URLs; a client with a 30 s timeout by default.
	HTTP *http.Client
}

// ErrNoEspeak is returned (wrapped) when a spoken prompt needs espeak-ng
// and it is not installed.
var ErrNoEspeak = errors.New("espeak-ng is not installed")

// maxFetch bounds a fetched audio file.
const maxFetch = 64 << 20

// Say renders text to speech and returns the cached prompt's path.
func (c *Cache) Say(ctx context.Context, text string) (string, error) {
	voice := c.Voice
	if voice == "" {
		voice = "en-us"
	}
	return c.make(ctx, key("say", voice, text), func() ([]byte, error) {
		prog := c.Espeak
		if prog == "" {
			prog = "espeak-ng"
		}
		path, err := exec.LookPath(prog)
		if err != nil {
			return nil, fmt.Errorf("%w: spoken prompts (say) are rendered with it. Install it with: apt-get install espeak-ng", ErrNoEspeak)
		}
		var out, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, path, "-v", voice, "--stdout", "--", text)
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("espeak-ng: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
		}
		return out.Bytes(), nil
	})
}

// File converts a WAV file and returns the cached prompt's path.
func (c *Cache) File(ctx context.Context, path string) (string, error) {
	data, err := readFile(path)
	if err != nil {
		return "", err
	}
	return c.wav(ctx, data)
}

// readFile reads a WAV file a prompt is made from, refusing one larger
// than a prompt can be before reading it.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f)
}

// wav converts WAV data and returns the cached prompt's path, named by
// the data's hash.
func (c *Cache) wav(ctx context.Context, data []byte) (string, error) {
	sum := sha256.Sum256(data)
	return c.make(ctx, key("file", hex.EncodeToString(sum[:])), func() ([]byte, error) { return data, nil })
}

// URL fetches an https audio file and returns the cached prompt's path.
// It fetches on every call, never trusting an earlier fetch of the same
// URL; the conversion is cached by the content's hash. (Apply prepares
// the prompts of the flows that change, so a URL is fetched again when
// its flow changes.) A failure is an
// error for whoever applies the configuration, never a silent failure
// during a call.
func (c *Cache) URL(ctx context.Context, url string) (string, error) {
	client := c.HTTP
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("fetching %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("fetching %s: %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxFetch+1))
	if err != nil {
		return "", fmt.Errorf("fetching %s: %w", url, err)
	}
	if len(data) > maxFetch {
		return "", fmt.Errorf("fetching %s: larger than %d MB", url, maxFetch>>20)
	}
	path, err := c.wav(ctx, data)
	if err != nil {
		return "", fmt.Errorf("%s: %w", url, err)
	}
	return path, nil
}

// Prepare makes one prompt's audio, an 8 kHz mono 16-bit WAV: kind "say"
// speaks what, "file" converts the WAV file at path what, and "url"
// fetches the https URL what and converts it.
func (c *Cache) Prepare(ctx context.Context, kind, what string) ([]byte, error) {
	var path string
	var err error
	switch kind {
	case "say":
		path, err = c.Say(ctx, what)
	case "file":
		path, err = c.File(ctx, what)
	case "url":
		path, err = c.URL(ctx, what)
	default:
		return nil, fmt.Errorf("no prompt of kind %q", kind)
	}
	if err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// make returns the cached file for k, making it from the WAV that src
// returns when it is not cached yet. The file is written beside its final
// name and renamed, so a crash never leaves half a prompt.
func (c *Cache) make(ctx context.Context, k string, src func() ([]byte, error)) (string, error) {
	path := filepath.Join(c.Dir, k+".wav")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	data, err := src()
	if err != nil {
		return "", err
	}
	audio, err := c.Convert(ctx, data)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(c.Dir, ".prompt-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if err := EncodeWAV(tmp, audio); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return path, os.Rename(tmp.Name(), path)
}

// key names a cache entry by a hash of what it is made from, and the
// version of the conversion, so that a better conversion makes new files.
// v2: resampled by sox rate -v instead of by averaging.
func key(parts ...string) string {
	h := sha256.New()
	h.Write([]byte("callflow-prompt-v2"))
	for _, p := range parts {
		fmt.Fprintf(h, "\x00%d:%s", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// Load reads a prepared prompt.
func Load(path string) (Audio, error) {
	f, err := os.Open(path)
	if err != nil {
		return Audio{}, err
	}
	defer f.Close()
	return DecodeWAV(f)
}
