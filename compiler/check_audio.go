package compiler

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/callflow/callflow/internal/wav"
	"github.com/callflow/callflow/lang"
)

// checkAudio checks one audio value (S23): an https URL, or a WAV file
// named relative to the file that names it.
func (c *checker) checkAudio(v lang.String) {
	s := v.Value
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		switch {
		case err != nil || u.Host == "":
			c.errorf(v.Range, "Invalid audio URL", "%q is not a valid URL. Write an https URL such as \"https://example.com/audio/welcome.wav\".", s)
		case u.Scheme != "https":
			c.errorf(v.Range, "Audio URL must use https",
				"Audio is fetched when the configuration is applied, and only over https, so that nobody on the way can change what callers hear. Use https://%s%s.", u.Host, u.RequestURI())
		}
		return
	}
	if c.opts.SkipFiles {
		return
	}
	if s == "" {
		c.errorf(v.Range, "Empty audio file name", "Name a WAV file relative to this file, such as \"audio/welcome.wav\".")
		return
	}
	if filepath.IsAbs(s) {
		c.errorf(v.Range, "Audio file outside the repository",
			"%s is an absolute path. Keep audio files in the repository and name them relative to the file that names them, such as \"audio/welcome.wav\".", s)
		return
	}
	path := filepath.Join(filepath.Dir(v.Range.Filename), s)
	if c.opts.Root != "" {
		if rel, err := filepath.Rel(c.opts.Root, path); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			c.errorf(v.Range, "Audio file outside the repository",
				"%s leads outside the repository (the directory given to callflow, %s). Keep audio files in the repository, so that what callers hear is reviewed and versioned with the flows.", s, filepath.Clean(c.opts.Root))
			return
		}
	}
	err, ok := c.audioFiles[path]
	if !ok {
		err = checkWAV(path)
		c.audioFiles[path] = err
	}
	var unsupported *wav.UnsupportedError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.errorf(v.Range, "Audio file not found",
			"%s does not exist. Audio files are named relative to the file that names them (%s); add the file to the repository or fix the path.", path, filepath.Dir(v.Range.Filename))
	case errors.Is(err, wav.ErrNotWAV):
		c.errorf(v.Range, "Audio file is not a WAV file",
			"%s is not a WAV file (it has no RIFF/WAVE header). Convert it, for example with: sox INPUT -r 8000 -c 1 %s", path, strings.TrimSuffix(s, filepath.Ext(s))+".wav")
	case errors.Is(err, wav.ErrDamaged):
		c.errorf(v.Range, "Audio file is damaged",
			"%s has a WAV header but cannot be read: %s. Export or convert it again.", path, strings.TrimPrefix(err.Error(), wav.ErrDamaged.Error()+": "))
	case errors.As(err, &unsupported):
		f := unsupported.Format
		c.errorf(v.Range, "Audio encoding not supported",
			"%s holds %s with %d-bit samples. Prompts are read from WAV files of linear PCM (8 to 32 bits), float, A-law or µ-law; convert it, for example with: sox %s -r 8000 -c 1 -b 16 %s",
			path, f.Encoding, f.Bits, s, strings.TrimSuffix(s, filepath.Ext(s))+"-pcm.wav")
	case err != nil:
		c.errorf(v.Range, "Cannot read audio file", "%s.", err)
	}
}

// checkWAV reports whether path is a regular file that the wav package
// reads: its header, chunks and encoding. Converting the audio is the
// runtime's job at apply time.
func checkWAV(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	_, err = wav.NewReader(f)
	return err
}

// audioPath is where an audio value's file is: relative to the file that
// names it. It is "" for a URL.
func audioPath(v lang.String) string {
	if strings.Contains(v.Value, "://") || filepath.IsAbs(v.Value) {
		return ""
	}
	return filepath.Join(filepath.Dir(v.Range.Filename), v.Value)
}

// wavLength reads a WAV file's header and returns how long it plays. It
// reports false for a URL or a file the wav package cannot read.
func wavLength(v lang.String) (time.Duration, bool) {
	path := audioPath(v)
	if path == "" {
		return 0, false
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	r, err := wav.NewReader(f)
	if err != nil {
		return 0, false
	}
	return time.Duration(r.Frames() * int64(time.Second) / int64(r.Format.Rate)), true
}
