package compiler

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/callflow/callflow/lang"
)

// A prompt's length comes from the wav package's reading of the file:
// a data chunk cut short counts what is there, and a file it cannot read
// has no known length.
func TestWAVLength(t *testing.T) {
	dir := t.TempDir()
	file := func(name string, enc, bits uint16, declared, present int) string {
		le := binary.LittleEndian
		b := []byte("RIFF\x00\x00\x00\x00WAVE")
		b = append(b, "LIST\x05\x00\x00\x00INFOx\x00"...) // odd, padded
		b = append(b, "fmt \x10\x00\x00\x00"...)
		b = le.AppendUint16(b, enc)
		b = le.AppendUint16(b, 1)
		b = le.AppendUint32(b, 8000)
		b = le.AppendUint32(b, uint32(8000*bits/8))
		b = le.AppendUint16(b, bits/8)
		b = le.AppendUint16(b, bits)
		b = append(b, "data"...)
		b = le.AppendUint32(b, uint32(declared))
		b = append(b, make([]byte, present)...)
		le.PutUint32(b[4:], uint32(len(b)-8))
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return name
	}
	for _, tt := range []struct {
		name  string
		want  time.Duration
		known bool
	}{
		{file("pcm.wav", 1, 16, 16000, 16000), time.Second, true},
		{file("ulaw.wav", 7, 8, 4000, 4000), 500 * time.Millisecond, true},
		{file("cut-short.wav", 1, 16, 16000, 1600), 100 * time.Millisecond, true},
		{file("adpcm.wav", 0x11, 8, 800, 800), 0, false},
		{"missing.wav", 0, false},
		{"https://example.com/a.wav", 0, false},
	} {
		d, known := wavLength(lang.String{Value: tt.name, Range: hcl.Range{Filename: filepath.Join(dir, "flow.hcl")}})
		if d != tt.want || known != tt.known {
			t.Errorf("%s: %v %v, want %v %v", tt.name, d, known, tt.want, tt.known)
		}
	}
}
