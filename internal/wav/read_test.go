package wav_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/callflow/callflow/internal/tooltest"
	"github.com/callflow/callflow/internal/wav"
)

// chunk is one RIFF chunk, padded when its size is odd.
func chunk(id string, body []byte) []byte {
	b := append([]byte(id), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(body)))
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// riff wraps chunks in a RIFF/WAVE header.
func riff(chunks ...[]byte) []byte {
	body := []byte("WAVE")
	for _, c := range chunks {
		body = append(body, c...)
	}
	b := append([]byte("RIFF"), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(body)))
	return append(b, body...)
}

// fmtChunk is a plain 16-byte fmt chunk.
func fmtChunk(enc uint16, channels, rate, bits int) []byte {
	b := make([]byte, 16)
	le := binary.LittleEndian
	le.PutUint16(b[0:], enc)
	le.PutUint16(b[2:], uint16(channels))
	le.PutUint32(b[4:], uint32(rate))
	le.PutUint32(b[8:], uint32(rate*channels*bits/8))
	le.PutUint16(b[12:], uint16(channels*bits/8))
	le.PutUint16(b[14:], uint16(bits))
	return chunk("fmt ", b)
}

// extensibleChunk is a 40-byte WAVE_FORMAT_EXTENSIBLE fmt chunk whose
// sub-format is enc.
func extensibleChunk(enc uint16, channels, rate, bits int) []byte {
	b := make([]byte, 40)
	le := binary.LittleEndian
	le.PutUint16(b[0:], 0xFFFE)
	le.PutUint16(b[2:], uint16(channels))
	le.PutUint32(b[4:], uint32(rate))
	le.PutUint32(b[8:], uint32(rate*channels*bits/8))
	le.PutUint16(b[12:], uint16(channels*bits/8))
	le.PutUint16(b[14:], uint16(bits))
	le.PutUint16(b[16:], 22)
	le.PutUint16(b[18:], uint16(bits))
	le.PutUint32(b[20:], 0x3) // front left, front right
	le.PutUint16(b[24:], enc)
	copy(b[26:], "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xAA\x00\x38\x9B\x71")
	return chunk("fmt ", b)
}

// readAll reads every sample, a few frames at a time, so that reads
// cross the reader's buffer in odd places.
func readAll(t testing.TB, r *wav.Reader) []float64 {
	t.Helper()
	var out []float64
	buf := make([]float64, 7*r.Format.Channels)
	for {
		n, err := r.ReadSamples(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("ReadSamples returned no samples and no error")
		}
	}
}

// dropPad removes the pad byte that ends a file whose last chunk is odd.
func dropPad(file []byte) []byte { return file[:len(file)-1] }

// stream hides an input's Seek, as a pipe or an HTTP body would.
type stream struct{ io.Reader }

func TestReadEncodings(t *testing.T) {
	le := binary.LittleEndian
	for _, tt := range []struct {
		name string
		fmt  []byte
		data []byte
		want []float64
	}{
		{"pcm8", fmtChunk(1, 1, 8000, 8), []byte{0, 128, 255, 64}, []float64{-1, 0, 127.0 / 128, -0.5}},
		{"pcm16", fmtChunk(1, 1, 8000, 16), le.AppendUint16(le.AppendUint16(le.AppendUint16(nil, 0x8000), 0x7FFF), 0x4000), []float64{-1, 32767.0 / 32768, 0.5}},
		{"pcm24", fmtChunk(1, 1, 48000, 24), []byte{0, 0, 0x80, 0xFF, 0xFF, 0x7F, 0, 0, 0x40, 0xFF, 0xFF, 0xFF}, []float64{-1, 8388607.0 / 8388608, 0.5, -1.0 / 8388608}},
		{"pcm32", fmtChunk(1, 1, 96000, 32), le.AppendUint32(le.AppendUint32(nil, 0x80000000), 0x40000000), []float64{-1, 0.5}},
		{"float32", fmtChunk(3, 1, 44100, 32), le.AppendUint32(le.AppendUint32(le.AppendUint32(nil, math.Float32bits(-0.25)), math.Float32bits(float32(math.NaN()))), math.Float32bits(float32(math.Inf(-1)))), []float64{-0.25, 0, -1}},
		{"float64", fmtChunk(3, 1, 44100, 64), le.AppendUint64(nil, math.Float64bits(0.125)), []float64{0.125}},
		{"a-law", fmtChunk(6, 1, 8000, 8), []byte{0xD5, 0x55, 0xAA}, []float64{8.0 / 32768, -8.0 / 32768, 32256.0 / 32768}},
		{"µ-law", fmtChunk(7, 1, 8000, 8), []byte{0xFF, 0x7F, 0x00, 0x80}, []float64{0, 0, -32124.0 / 32768, 32124.0 / 32768}},
		{"stereo pcm16", fmtChunk(1, 2, 44100, 16), le.AppendUint16(le.AppendUint16(nil, 0x4000), 0xC000), []float64{0.5, -0.5}},
		{"extensible pcm24 stereo", extensibleChunk(1, 2, 48000, 24), []byte{0, 0, 0x40, 0, 0, 0xC0}, []float64{0.5, -0.5}},
		{"extensible float32", extensibleChunk(3, 1, 48000, 32), le.AppendUint32(nil, math.Float32bits(0.75)), []float64{0.75}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := riff(tt.fmt, chunk("data", tt.data))
			for _, in := range []io.Reader{bytes.NewReader(file), stream{bytes.NewReader(file)}} {
				r, err := wav.NewReader(in)
				if err != nil {
					t.Fatal(err)
				}
				got := readAll(t, r)
				if len(got) != len(tt.want) {
					t.Fatalf("%d samples %v, want %v", len(got), got, tt.want)
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Errorf("sample %d: %v, want %v", i, got[i], tt.want[i])
					}
				}
				if r.Frames()*int64(r.Format.Channels) != int64(len(tt.want)) {
					t.Errorf("Frames %d for %d samples of %d channels", r.Frames(), len(tt.want), r.Format.Channels)
				}
			}
		})
	}
}

// Real files carry chunks the reader does not need, of odd sizes, in
// either order; streams and crashed writers leave data chunks whose size
// is more than the file holds.
func TestReadChunkLayouts(t *testing.T) {
	pcm := binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(nil, 0x2000), 0xE000)
	want := []float64{0.25, -0.25}
	fmt16 := fmtChunk(1, 1, 16000, 16)
	truncated := riff(fmt16, chunk("data", append(append([]byte{}, pcm...), 0x11)))[:44+4]
	binary.LittleEndian.PutUint32(truncated[40:], 0xFFFFFFFF)
	for _, tt := range []struct {
		name     string
		file     []byte
		seekOnly bool // only an input that can seek finds the data
	}{
		{"odd LIST chunk before fmt", riff(chunk("LIST", []byte("INFOabc")), fmt16, chunk("data", pcm)), false},
		{"odd chunk between fmt and data", riff(fmt16, chunk("fact", []byte{1, 2, 3}), chunk("data", pcm)), false},
		{"chunks after data", riff(fmt16, chunk("data", pcm), chunk("LIST", []byte("INFO"))), false},
		{"fmt chunk longer than 16 bytes", riff(chunk("fmt ", append(fmt16[8:24], 0, 0, 9, 9, 9)), chunk("data", pcm)), false},
		{"data size unknown (0xFFFFFFFF), a partial last frame", truncated, false},
		{"data before fmt", riff(chunk("data", pcm), fmt16), true},
		{"no pad byte after the last odd chunk", dropPad(riff(fmt16, chunk("data", pcm), chunk("junk", []byte{1}))), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, in := range []io.Reader{bytes.NewReader(tt.file), stream{bytes.NewReader(tt.file)}} {
				_, isStream := in.(stream)
				r, err := wav.NewReader(in)
				if tt.seekOnly && isStream {
					if !errors.Is(err, wav.ErrDamaged) {
						t.Errorf("from a stream: %v, want ErrDamaged", err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("stream %v: %v", isStream, err)
				}
				if r.Format != (wav.Format{Encoding: wav.PCM, Channels: 1, Rate: 16000, Bits: 16}) {
					t.Errorf("format %+v", r.Format)
				}
				got := readAll(t, r)
				if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
					t.Errorf("stream %v: samples %v, want %v", isStream, got, want)
				}
				if !isStream && r.Frames() != 2 {
					t.Errorf("Frames %d, want 2 (clipped to the file)", r.Frames())
				}
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	pcm := chunk("data", []byte{1, 2, 3, 4})
	fmt16 := fmtChunk(1, 1, 8000, 16)
	for _, tt := range []struct {
		name string
		file []byte
		want error
	}{
		{"empty", nil, wav.ErrNotWAV},
		{"mp3", []byte("ID3\x03\x00\x00\x00\x00\x00\x00 and the rest of an mp3"), wav.ErrNotWAV},
		{"RIFF but not WAVE", append([]byte("RIFF\x04\x00\x00\x00AVI "), pcm...), wav.ErrNotWAV},
		{"header only", riff(), wav.ErrDamaged},
		{"no data chunk", riff(fmt16), wav.ErrDamaged},
		{"no fmt chunk", riff(pcm), wav.ErrDamaged},
		{"fmt too short", riff(chunk("fmt ", make([]byte, 14)), pcm), wav.ErrDamaged},
		{"fmt cut short", riff(fmt16)[:12+8+10], wav.ErrDamaged},
		{"chunk runs past the end", append(riff(fmt16), "LIST\xff\xff\xff\x7fINFO"...), wav.ErrDamaged},
		{"extensible too short", riff(chunk("fmt ", append(fmtChunk(0xFFFE, 1, 8000, 16)[8:24], 0, 0)), pcm), wav.ErrDamaged},
		{"no channels", riff(fmtChunk(1, 0, 8000, 16), pcm), wav.ErrDamaged},
		{"rate 0", riff(fmtChunk(1, 1, 0, 16), pcm), wav.ErrDamaged},
		{"ima adpcm", riff(fmtChunk(0x11, 1, 8000, 4), pcm), wav.ErrUnsupported},
		{"pcm 12-bit", riff(fmtChunk(1, 1, 8000, 12), pcm), wav.ErrUnsupported},
		{"float 16-bit", riff(fmtChunk(3, 1, 8000, 16), pcm), wav.ErrUnsupported},
		{"extensible mp3", riff(extensibleChunk(0x55, 1, 8000, 16), pcm), wav.ErrUnsupported},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, in := range []io.Reader{bytes.NewReader(tt.file), stream{bytes.NewReader(tt.file)}} {
				_, err := wav.NewReader(in)
				if !errors.Is(err, tt.want) {
					t.Errorf("%v, want %v", err, tt.want)
				}
			}
		})
	}
	_, err := wav.NewReader(bytes.NewReader(riff(fmtChunk(0x11, 1, 8000, 4), pcm)))
	if want := "unsupported WAV encoding: IMA ADPCM (format 17) with 4-bit samples is not supported: convert it with: sox FILE -r 8000 -c 1 -b 16 OUT.wav"; err == nil || err.Error() != want {
		t.Errorf("ADPCM:\n got %v\nwant %s", err, want)
	}
}

// A header may state any size. Reading it must cost what the input
// holds, never what the header claims.
func TestReadHostileSizes(t *testing.T) {
	huge := func(b []byte, at int) []byte {
		binary.LittleEndian.PutUint32(b[at:], 0xFFFFFFF0)
		return b
	}
	many := riff(fmtChunk(1, 0xFFFF, 8000, 64/8*8), chunk("data", make([]byte, 64)))
	binary.LittleEndian.PutUint16(many[12+8+14:], 64)
	binary.LittleEndian.PutUint16(many[12+8:], 3) // float64, 65535 channels: 512 KiB frames
	for name, file := range map[string][]byte{
		"fmt size":         huge(riff(fmtChunk(1, 1, 8000, 16), chunk("data", make([]byte, 8))), 16),
		"data size":        huge(riff(fmtChunk(1, 1, 8000, 16), chunk("data", make([]byte, 8))), 40),
		"LIST size":        huge(riff(chunk("LIST", make([]byte, 8)), fmtChunk(1, 1, 8000, 16)), 16),
		"65535 channels":   huge(many, 40),
		"RIFF size":        huge(riff(fmtChunk(1, 1, 8000, 16), chunk("data", make([]byte, 8))), 4),
		"data before fmt+": huge(riff(chunk("data", make([]byte, 8)), fmtChunk(1, 1, 8000, 16)), 16),
	} {
		t.Run(name, func(t *testing.T) {
			for _, in := range []func() io.Reader{
				func() io.Reader { return bytes.NewReader(file) },
				func() io.Reader { return stream{bytes.NewReader(file)} },
			} {
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				if r, err := wav.NewReader(in()); err == nil {
					buf := make([]float64, r.Format.Channels)
					for {
						if _, err := r.ReadSamples(buf); err != nil {
							break
						}
					}
				}
				runtime.ReadMemStats(&after)
				// One frame of 65535 float64 samples is 512 KiB read
				// into 512 KiB of float64s: the largest frame there is.
				if grew := after.TotalAlloc - before.TotalAlloc; grew > 2<<20 {
					t.Errorf("allocated %d bytes for a %d-byte file", grew, len(file))
				}
			}
		})
	}
}

// TestReadFilesFromSox reads what an independent WAV writer makes, in
// every encoding it writes, against sox's own decoding of the same file.
func TestReadFilesFromSox(t *testing.T) {
	sox := tooltest.Require(t, "sox", "sox")
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		args []string
		want wav.Format
	}{
		{"u8", []string{"-e", "unsigned", "-b", "8"}, wav.Format{Encoding: wav.PCM, Channels: 1, Bits: 8, Rate: 11025}},
		{"s16 stereo", []string{"-b", "16", "-c", "2"}, wav.Format{Encoding: wav.PCM, Channels: 2, Bits: 16, Rate: 11025}},
		{"s24 (extensible)", []string{"-b", "24"}, wav.Format{Encoding: wav.PCM, Channels: 1, Bits: 24, Rate: 11025}},
		{"s32 (extensible)", []string{"-b", "32"}, wav.Format{Encoding: wav.PCM, Channels: 1, Bits: 32, Rate: 11025}},
		{"f32", []string{"-e", "float", "-b", "32"}, wav.Format{Encoding: wav.Float, Channels: 1, Bits: 32, Rate: 11025}},
		{"f64", []string{"-e", "float", "-b", "64"}, wav.Format{Encoding: wav.Float, Channels: 1, Bits: 64, Rate: 11025}},
		{"a-law", []string{"-e", "a-law"}, wav.Format{Encoding: wav.ALaw, Channels: 1, Bits: 8, Rate: 11025}},
		{"µ-law", []string{"-e", "u-law"}, wav.Format{Encoding: wav.ULaw, Channels: 1, Bits: 8, Rate: 11025}},
		{"s16 6 channels (extensible)", []string{"-b", "16", "-c", "6"}, wav.Format{Encoding: wav.PCM, Channels: 6, Bits: 16, Rate: 11025}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".wav")
			args := append([]string{"-q", "-n", "-r", "11025", "-c", "1"}, tt.args...)
			args = append(args, path, "synth", "0.3", "sine", "440", "sine", "1000", "gain", "-3")
			if out, err := exec.Command(sox, args...).CombinedOutput(); err != nil {
				t.Fatalf("sox %v: %v\n%s", args, err, out)
			}
			ref, err := exec.Command(sox, path, "-t", "f64", "-").Output()
			if err != nil {
				t.Fatalf("sox decoding %s: %v", path, err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := wav.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			if r.Format != tt.want {
				t.Errorf("format %+v, want %+v", r.Format, tt.want)
			}
			got := readAll(t, r)
			if len(got)*8 != len(ref) {
				t.Fatalf("%d samples; sox decodes %d", len(got), len(ref)/8)
			}
			worst := 0.0
			for i, v := range got {
				worst = max(worst, math.Abs(v-math.Float64frombits(binary.LittleEndian.Uint64(ref[8*i:]))))
			}
			if worst > 1e-9 {
				t.Errorf("differs from sox's decoding by up to %g", worst)
			}
		})
	}
}
