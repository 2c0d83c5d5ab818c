package wav_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/callflow/callflow/internal/wav"
)

// FuzzRead feeds the reader any bytes: each input either parses and
// reads, or fails with an error; it never panics, and what it reads is
// bounded by the input, not by any size its header claims.
func FuzzRead(f *testing.F) {
	pcm := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	f.Add(riff(fmtChunk(1, 1, 8000, 16), chunk("data", pcm)))
	f.Add(riff(fmtChunk(1, 2, 44100, 24), chunk("LIST", []byte("INFOa")), chunk("data", pcm)))
	f.Add(riff(extensibleChunk(3, 2, 48000, 32), chunk("data", pcm)))
	f.Add(riff(fmtChunk(7, 1, 8000, 8), chunk("data", pcm[:3])))
	f.Add(riff(chunk("data", pcm), fmtChunk(3, 1, 8000, 64)))
	f.Add(riff(fmtChunk(6, 3, 8000, 8), chunk("data", pcm))[:40])
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range []io.Reader{bytes.NewReader(data), stream{bytes.NewReader(data)}} {
			r, err := wav.NewReader(in)
			if err != nil {
				continue
			}
			f := r.Format
			if f.Channels < 1 || f.Rate < 1 || f.Bits%8 != 0 {
				t.Fatalf("accepted format %+v", f)
			}
			frameSize := int64(f.Channels * f.Bits / 8)
			if _, seeks := in.(*bytes.Reader); seeks && r.Frames()*frameSize > int64(len(data)) {
				t.Fatalf("%d frames of %d bytes in %d bytes", r.Frames(), frameSize, len(data))
			}
			buf := make([]float64, 3*f.Channels)
			var samples int64
			for {
				n, err := r.ReadSamples(buf)
				if n%f.Channels != 0 {
					t.Fatalf("%d samples are not whole frames of %d channels", n, f.Channels)
				}
				samples += int64(n)
				if err != nil {
					break
				}
			}
			if samples/int64(f.Channels)*frameSize > int64(len(data)) {
				t.Fatalf("read %d samples from %d bytes", samples, len(data))
			}
		}
	})
}
