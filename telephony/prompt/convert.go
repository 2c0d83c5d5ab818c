package prompt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os/exec"
	"strconv"
	"time"
)

// Rate conversion is sox's job, not ours. A prompt at another rate than
// 8 kHz (espeak-ng speaks at 22.05 kHz; studios deliver 44.1 or 48 kHz)
// is resampled by `sox … rate -v`, its very-high-quality band-limited
// converter, run as a subprocess when the prompt is prepared. Measured by
// TestConversionQuality against `sox IN -r 8000 OUT rate -v`: the
// averaging resampler this replaced gave 16.9 dB SNR on espeak-ng speech
// and 10.4 dB on a 100 Hz–3.4 kHz sweep at 44.1 kHz, and let a 5 kHz tone
// through (folded to 3 kHz) only 6.2 dB down. Through sox: 71 dB on the
// speech, 84 dB on the sweep, and the 5 kHz tone 87 dB down (the floor
// of sox's 16-bit dither); the test asks for 40 and 60 dB.
//
// Why sox rather than a Go library or a filter of our own: of the Go
// resamplers we looked at, zaf/resample binds libsoxr through cgo, and
// the pure-Go ones (gomplerate, untouched since 2022; oov/audio's port of
// the Opus resampler, 2017; gunter-q12/resample and
// tphakala/go-audio-resampler, both young and little used) are not yet
// the well-kept kind a build should lean on. A windowed-sinc filter of
// our own would be one more thing to get right and to keep measuring.
// sox is the reference itself, a Debian package like espeak-ng, which
// apply already needs for spoken prompts; `make test` installs both. It
// runs only at apply time, never during a call, and not at all for a
// prompt that is already 8 kHz (any encoding, any channels: those we mix
// and decode ourselves), so such a configuration applies without it.

// ErrNoSox is returned (wrapped) when a prompt needs resampling and sox
// is not installed.
var ErrNoSox = errors.New("sox is not installed")

// Convert reads a WAV file — PCM of 8, 16, 24 or 32 bits, float, A-law or
// µ-law, plain or WAVE_FORMAT_EXTENSIBLE, any number of channels, any rate
// from 4 to 384 kHz — and returns it as call audio: the channels mixed,
// the rate converted to 8 kHz by sox (see above). Audio already at 8 kHz
// is not resampled, and needs no sox. ctx bounds the sox run.
func (c *Cache) Convert(ctx context.Context, data []byte) (Audio, error) {
	if len(data) > maxWAV {
		return Audio{}, fmt.Errorf("WAV file is larger than %d MB; a prompt is seconds long", maxWAV>>20)
	}
	in, err := openWAV(data)
	if err != nil {
		return Audio{}, err
	}
	if in.Format.Rate == Rate {
		return mono(in)
	}
	prog := c.Sox
	if prog == "" {
		prog = "sox"
	}
	path, err := exec.LookPath(prog)
	if err != nil {
		return Audio{}, fmt.Errorf("%w: prompts that are not 8 kHz audio (this one is %d Hz) are resampled with it. Install it with: apt-get install sox", ErrNoSox, in.Format.Rate)
	}
	rate := strconv.Itoa(in.Format.Rate)
	var out, stderr bytes.Buffer
	// Raw samples both ways: sox never parses the file (the wav package
	// did, and takes files sox refuses, such as cut-short ones), and the
	// output needs no parsing either. -R makes sox's dither repeatable, so
	// the same prompt converts to the same bytes.
	cmd := exec.CommandContext(ctx, path, "-q", "-R",
		"-t", "raw", "-e", "floating-point", "-b", "32", "-L", "-r", rate, "-c", "1", "-",
		"-t", "raw", "-e", "signed-integer", "-b", "16", "-L", "-r", strconv.Itoa(Rate), "-c", "1", "-",
		"rate", "-v")
	cmd.Stdin = &float32Stream{mono: newMonoReader(in)}
	cmd.Stdout, cmd.Stderr = &out, &stderr
	cmd.WaitDelay = 5 * time.Second // then a killed sox's pipes are closed too
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return Audio{}, fmt.Errorf("resampling with sox: %w", ctx.Err())
		}
		return Audio{}, fmt.Errorf("resampling with sox: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	b := out.Bytes()
	samples := make([]int16, len(b)/2)
	for i := range samples {
		samples[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return Audio{Samples: samples}, nil
}

// float32Stream is a WAV file's frames, mixed to one channel, as raw
// little-endian 32-bit floats: what sox reads on its standard input.
// exec's copying goroutine reads it, and Cmd.Run waits for that.
type float32Stream struct {
	mono    *monoReader
	frames  []float64
	pending []byte // encoded and not yet read
	buf     []byte
}

func (s *float32Stream) Read(p []byte) (int, error) {
	if len(s.pending) == 0 {
		if s.frames == nil {
			s.frames = make([]float64, 1024)
			s.buf = make([]byte, 4*len(s.frames))
		}
		n, err := s.mono.read(s.frames)
		if n == 0 {
			if err == nil {
				err = io.ErrNoProgress
			}
			return 0, err
		}
		for i, v := range s.frames[:n] {
			binary.LittleEndian.PutUint32(s.buf[4*i:], math.Float32bits(float32(v)))
		}
		s.pending = s.buf[:4*n]
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}
