// Package prompt prepares what callers hear. Cache is the entry point: it
// renders text to speech with espeak-ng, fetches https audio, converts
// WAV files of any common form to call audio (8 kHz mono 16-bit; the
// rate with sox, see Convert) and keeps every result in a directory named
// by content hash, so that a prompt is prepared once, when a
// configuration is applied, and never during a call. DecodeWAV and
// EncodeWAV read and write call audio itself.
package prompt

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/callflow/callflow/internal/wav"
)

// Rate is the sample rate of call audio.
const Rate = 8000

// Audio is 8 kHz mono 16-bit linear PCM.
type Audio struct {
	Samples []int16
}

// Duration is how long the audio plays.
func (a Audio) Duration() time.Duration {
	return time.Duration(len(a.Samples)) * time.Second / Rate
}

// maxWAV bounds the WAV files a prompt is made from: ten minutes of
// 48 kHz stereo 32-bit audio. A prompt is seconds long; a larger file is
// a mistake.
const maxWAV = 10 * 60 * 48000 * 2 * 4

// ErrNotWAV is returned (wrapped) for input that is not a WAV file.
var ErrNotWAV = wav.ErrNotWAV

// DecodeWAV reads call audio: a WAV file at 8 kHz, in any encoding the
// wav package reads, its channels mixed to one. It is how the runtime
// reads prompts Cache prepared and recordings. A file at another rate is
// an error: Cache.Convert converts it.
func DecodeWAV(r io.Reader) (Audio, error) {
	data, err := readLimited(r)
	if err != nil {
		return Audio{}, err
	}
	in, err := openWAV(data)
	if err != nil {
		return Audio{}, err
	}
	if in.Format.Rate != Rate {
		return Audio{}, fmt.Errorf("WAV file is at %d Hz; call audio is %d Hz, and a prompt is converted to it when it is prepared", in.Format.Rate, Rate)
	}
	return mono(in)
}

// readLimited reads a whole WAV file of at most maxWAV bytes.
func readLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxWAV+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxWAV {
		return nil, fmt.Errorf("WAV file is larger than %d MB; a prompt is seconds long", maxWAV>>20)
	}
	return data, nil
}

// openWAV parses a WAV file's header, and checks it is one a prompt can
// be made from.
func openWAV(data []byte) (*wav.Reader, error) {
	in, err := wav.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if f := in.Format; f.Rate < 4000 || f.Rate > 384000 {
		return nil, fmt.Errorf("WAV file has %d channels at %d Hz; a prompt needs at least one channel at 4,000 to 384,000 Hz", f.Channels, f.Rate)
	}
	return in, nil
}

// monoReader reads a WAV file's frames mixed to one channel, at the
// file's rate, scaled so that full scale is ±1.
type monoReader struct {
	in  *wav.Reader
	buf []float64
}

func newMonoReader(in *wav.Reader) *monoReader {
	return &monoReader{in: in, buf: make([]float64, 1024*in.Format.Channels)}
}

// read fills dst with up to len(dst) frames and returns how many; 0 and
// io.EOF at the end.
func (m *monoReader) read(dst []float64) (int, error) {
	ch := m.in.Format.Channels
	n, err := m.in.ReadSamples(m.buf[:min(len(m.buf), len(dst)*ch)])
	frames := n / ch
	for i := range frames {
		var sum float64
		for _, v := range m.buf[i*ch : (i+1)*ch] {
			sum += v
		}
		dst[i] = sum / float64(ch)
	}
	return frames, err
}

// mono reads the whole of in, mixed to one channel, as call audio; its
// rate must already be 8 kHz.
func mono(in *wav.Reader) (Audio, error) {
	m := newMonoReader(in)
	out := make([]int16, 0, in.Frames())
	buf := make([]float64, 1024)
	for {
		n, err := m.read(buf)
		for _, v := range buf[:n] {
			out = append(out, toInt16(v))
		}
		if err == io.EOF {
			return Audio{Samples: out}, nil
		}
		if err != nil {
			return Audio{}, err
		}
	}
}

// toInt16 scales a sample to 16 bits, clipping what is beyond full scale.
func toInt16(v float64) int16 {
	return int16(max(-32768, min(32767, math.Round(v*32768))))
}

// EncodeWAV writes audio as a 16-bit PCM 8 kHz mono WAV file.
func EncodeWAV(w io.Writer, a Audio) error {
	return wav.Encode(w, Rate, 1, a.Samples)
}
