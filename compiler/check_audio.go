package compiler

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

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
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.errorf(v.Range, "Audio file not found",
			"%s does not exist. Audio files are named relative to the file that names them (%s); add the file to the repository or fix the path.", path, filepath.Dir(v.Range.Filename))
	case errors.Is(err, errNotWAV):
		c.errorf(v.Range, "Audio file is not a WAV file",
			"%s is not a WAV file (it has no RIFF/WAVE header). Convert it, for example with: sox INPUT -r 8000 -c 1 %s", path, strings.TrimSuffix(s, filepath.Ext(s))+".wav")
	case err != nil:
		c.errorf(v.Range, "Cannot read audio file", "%s.", err)
	}
}

var errNotWAV = errors.New("not a WAV file")

// checkWAV reports whether path is a readable file that starts with a
// RIFF/WAVE header. Decoding the audio is the runtime's job at apply time.
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
	var hdr [12]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return errNotWAV
	}
	if !bytes.Equal(hdr[0:4], []byte("RIFF")) || !bytes.Equal(hdr[8:12], []byte("WAVE")) {
		return errNotWAV
	}
	return nil
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
// reports false for a URL or a file it cannot read as PCM WAV.
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
	var hdr [12]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil || string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return 0, false
	}
	var byteRate uint32
	for {
		var chunk [8]byte
		if _, err := io.ReadFull(f, chunk[:]); err != nil {
			return 0, false
		}
		size := binary.LittleEndian.Uint32(chunk[4:])
		switch string(chunk[:4]) {
		case "fmt ":
			var fmtChunk [16]byte
			if size < 16 {
				return 0, false
			}
			if _, err := io.ReadFull(f, fmtChunk[:]); err != nil {
				return 0, false
			}
			byteRate = binary.LittleEndian.Uint32(fmtChunk[8:])
			if _, err := f.Seek(int64(size-16+size%2), io.SeekCurrent); err != nil {
				return 0, false
			}
		case "data":
			if byteRate == 0 {
				return 0, false
			}
			return time.Duration(uint64(size) * uint64(time.Second) / uint64(byteRate)), true
		default:
			if _, err := f.Seek(int64(size+size%2), io.SeekCurrent); err != nil {
				return 0, false
			}
		}
	}
}
