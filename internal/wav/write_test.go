package wav_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/callflow/callflow/internal/wav"
)

// ramp is sample i of channel ch of the test recordings: a value that
// differs between neighbours and channels, so a lost, repeated or swapped
// frame is seen.
func ramp(i int64, ch int) int16 { return int16(uint16(i*7 + int64(ch)*12345)) }

// An hour of 8 kHz recording, fed in 20 ms frames as fast as the disk
// takes it, grows the heap by no more than a few frames; read back, it
// is an hour long and holds what was written.
func TestWriterHourInFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 58 MB")
	}
	const (
		rate   = 8000
		frame  = rate / 50 // 20 ms
		frames = 3600 * rate
	)
	path := filepath.Join(t.TempDir(), "hour.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	runtime.GC()
	var before, peak runtime.MemStats
	runtime.ReadMemStats(&before)
	w, err := wav.NewWriter(f, rate, 1)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]int16, frame)
	for n := int64(0); n < frames; n += frame {
		for i := range buf {
			buf[i] = ramp(n+int64(i), 0)
		}
		if err := w.Write(buf); err != nil {
			t.Fatal(err)
		}
		if n%(60*rate) == 0 { // once a minute of audio
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.HeapInuse {
				peak = m
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if grew := int64(peak.HeapInuse) - int64(before.HeapInuse); grew > 4<<20 {
		t.Errorf("heap in use grew by %d bytes writing an hour; the writer must not keep audio", grew)
	}
	t.Logf("heap in use: %d bytes before, %d at most while writing an hour", before.HeapInuse, peak.HeapInuse)
	if w.Frames() != frames {
		t.Errorf("Frames %d, want %d", w.Frames(), frames)
	}
	if info, err := f.Stat(); err != nil || info.Size() != 44+2*frames {
		t.Fatalf("file of %d bytes (%v), want %d", info.Size(), err, 44+2*frames)
	}

	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	r, err := wav.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if r.Format != (wav.Format{Encoding: wav.PCM, Channels: 1, Rate: rate, Bits: 16}) || r.Frames() != frames {
		t.Fatalf("read back as %+v, %d frames; want an hour of 8 kHz mono", r.Format, r.Frames())
	}
	if n := readRamp(t, r); n != frames {
		t.Errorf("read back %d frames, want %d", n, frames)
	}
}

// readRamp reads a ramp recording to its end, checking every sample, and
// returns how many frames it holds.
func readRamp(t *testing.T, r *wav.Reader) int64 {
	t.Helper()
	channels := r.Format.Channels
	buf := make([]float64, 160*channels)
	var frame int64
	for {
		n, err := r.ReadSamples(buf)
		if err == io.EOF {
			return frame
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i += channels {
			for ch := range channels {
				if want := float64(ramp(frame, ch)) / 32768; buf[i+ch] != want {
					t.Fatalf("frame %d channel %d: %v, want %v", frame, ch, buf[i+ch]*32768, want*32768)
				}
			}
			frame++
		}
	}
}

// writeRamp writes frames frames of a ramp recording of channels channels
// in 20 ms Writes.
func writeRamp(t *testing.T, w *wav.Writer, channels int, frames int64) {
	t.Helper()
	buf := make([]int16, 160*channels)
	for n := int64(0); n < frames; n += 160 {
		k := min(160, frames-n)
		for i := range k {
			for ch := range channels {
				buf[int(i)*channels+ch] = ramp(n+i, ch)
			}
		}
		if err := w.Write(buf[:int(k)*channels]); err != nil {
			t.Fatal(err)
		}
	}
}

// Two channels (caller and agent of a bridged call) are interleaved, and
// a header that does not start at offset 0 is patched where it is.
func TestWriterTwoChannels(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bridged.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := wav.NewWriter(f, 8000, 2)
	if err != nil {
		t.Fatal(err)
	}
	writeRamp(t, w, 2, 8000+37)
	if err := w.Write([]int16{1, 2, 3}); err == nil {
		t.Error("a Write of 3 samples for 2 channels must be refused")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write([]int16{1, 2}); !errors.Is(err, wav.ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if riffSize, dataSize := binary.LittleEndian.Uint32(data[4:]), binary.LittleEndian.Uint32(data[40:]); riffSize != uint32(len(data)-8) || dataSize != uint32(len(data)-44) {
		t.Errorf("sizes RIFF %d, data %d in a file of %d bytes", riffSize, dataSize, len(data))
	}
	// Read as a stream, so that the sizes in the header are what ends it.
	r, err := wav.NewReader(stream{bytes.NewReader(append(data, "LIST\x04\x00\x00\x00INFO"...))})
	if err != nil {
		t.Fatal(err)
	}
	if r.Format.Channels != 2 || r.Frames() != 8037 {
		t.Fatalf("%+v, %d frames", r.Format, r.Frames())
	}
	if n := readRamp(t, r); n != 8037 {
		t.Errorf("read %d frames, want 8037", n)
	}

	// Appended after other bytes, the header is patched in place.
	var b seekBuffer
	b.Write([]byte("prefix"))
	w, err = wav.NewWriter(&b, 16000, 2)
	if err != nil {
		t.Fatal(err)
	}
	writeRamp(t, w, 2, 100)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err = wav.NewReader(bytes.NewReader(b.data[6:]))
	if err != nil || r.Frames() != 100 || r.Format.Rate != 16000 {
		t.Fatalf("after a prefix: %v, %+v", err, r)
	}
	if got := binary.LittleEndian.Uint32(b.data[6+40:]); got != 400 {
		t.Errorf("data size %d, want 400", got)
	}
}

// A recording whose writer never closed it (the process died) is read
// whole: its header's sizes say "unknown", and the data runs to the end.
func TestWriterCrashLeavesReadableFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crashed.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := wav.NewWriter(f, 8000, 2)
	if err != nil {
		t.Fatal(err)
	}
	writeRamp(t, w, 2, 4000)
	// No Close: the file is all the process left.
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func() (io.Reader, func()){
		"file": func() (io.Reader, func()) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			return f, func() { f.Close() }
		},
		"stream": func() (io.Reader, func()) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			return stream{bytes.NewReader(data)}, func() {}
		},
	} {
		t.Run(name, func(t *testing.T) {
			in, done := open()
			defer done()
			r, err := wav.NewReader(in)
			if err != nil {
				t.Fatal(err)
			}
			if name == "file" && r.Frames() != 4000 {
				t.Errorf("Frames %d, want 4000 (the file's length)", r.Frames())
			}
			if n := readRamp(t, r); n != 4000 {
				t.Errorf("read %d frames, want 4000", n)
			}
		})
	}
}

func TestWriterRefuses(t *testing.T) {
	var b seekBuffer
	for _, tt := range []struct{ rate, channels int }{{8000, 0}, {0, 1}, {8000, 70000}, {1 << 31, 2}} {
		if _, err := wav.NewWriter(&b, tt.rate, tt.channels); err == nil {
			t.Errorf("NewWriter(%d Hz, %d channels) must fail", tt.rate, tt.channels)
		}
	}
	failing := &seekBuffer{failAfter: 44 + 100}
	w, err := wav.NewWriter(failing, 8000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(make([]int16, 40)); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(make([]int16, 40)); err == nil {
		t.Fatal("a Write the disk refused must fail")
	}
	if err := w.Write(make([]int16, 40)); err == nil {
		t.Error("after a failed Write, Write keeps failing")
	}
	if err := w.Close(); err == nil {
		t.Error("Close must report the failed Write")
	}
}

// seekBuffer is an in-memory io.WriteSeeker; with failAfter set, writes
// past that many bytes fail.
type seekBuffer struct {
	data      []byte
	pos       int
	failAfter int
}

func (b *seekBuffer) Write(p []byte) (int, error) {
	if b.failAfter > 0 && b.pos+len(p) > b.failAfter {
		n := max(0, b.failAfter-b.pos)
		b.Write(p[:n])
		b.failAfter = -1
		return n, errors.New("disk full")
	}
	if b.failAfter < 0 {
		return 0, errors.New("disk full")
	}
	if end := b.pos + len(p); end > len(b.data) {
		b.data = append(b.data, make([]byte, end-len(b.data))...)
	}
	b.pos += copy(b.data[b.pos:], p)
	return len(p), nil
}

func (b *seekBuffer) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		b.pos = int(off)
	case io.SeekCurrent:
		b.pos += int(off)
	case io.SeekEnd:
		b.pos = len(b.data) + int(off)
	}
	return int64(b.pos), nil
}

func TestEncode(t *testing.T) {
	samples := []int16{0, 1, -1, 32767, -32768, 1234}
	var b bytes.Buffer
	if err := wav.Encode(&b, 8000, 2, samples); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 44+12 || binary.LittleEndian.Uint32(b.Bytes()[4:]) != 36+12 || binary.LittleEndian.Uint32(b.Bytes()[40:]) != 12 {
		t.Fatalf("%d bytes, header % x", b.Len(), b.Bytes()[:44])
	}
	r, err := wav.NewReader(stream{&b})
	if err != nil || r.Format != (wav.Format{Encoding: wav.PCM, Channels: 2, Rate: 8000, Bits: 16}) || r.Frames() != 3 {
		t.Fatalf("%v %+v", err, r)
	}
	got := readAll(t, r)
	for i := range samples {
		if got[i]*32768 != float64(samples[i]) {
			t.Errorf("sample %d: %v, want %d", i, got[i]*32768, samples[i])
		}
	}
	if err := wav.Encode(&b, 8000, 2, samples[:5]); err == nil {
		t.Error("Encode of 5 samples for 2 channels must fail")
	}
	long := make([]int16, 5000) // more than one buffer
	for i := range long {
		long[i] = int16(i)
	}
	b.Reset()
	if err := wav.Encode(&b, 8000, 1, long); err != nil {
		t.Fatal(err)
	}
	r, err = wav.NewReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	got = readAll(t, r)
	if len(got) != len(long) {
		t.Fatalf("%d samples, want %d", len(got), len(long))
	}
	for i := range long {
		if got[i]*32768 != float64(long[i]) {
			t.Fatalf("sample %d: %v, want %d", i, got[i]*32768, long[i])
		}
	}
}
