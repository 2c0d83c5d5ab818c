// Package prompt prepares what callers hear: it decodes WAV files in any
// common form, converts them to the 8 kHz mono 16-bit audio calls play,
// renders text to speech with espeak-ng, fetches https audio, and keeps
// every result in a cache named by content hash, so that a prompt is
// prepared once, when a configuration is applied, and never during a call.
package prompt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/callflow/callflow/telephony/media"
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

// maxWAV bounds what DecodeWAV reads: ten minutes of 48 kHz stereo
// 32-bit audio. A prompt is seconds long; a larger file is a mistake.
const maxWAV = 10 * 60 * 48000 * 2 * 4

// WAV format tags.
const (
	formatPCM        = 1
	formatFloat      = 3
	formatALaw       = 6
	formatULaw       = 7
	formatExtensible = 0xFFFE
)

// ErrNotWAV is returned (wrapped) for input that is not a WAV file.
var ErrNotWAV = errors.New("not a WAV file")

// DecodeWAV reads a WAV file — PCM of 8, 16, 24 or 32 bits, 32-bit float,
// A-law or µ-law, any number of channels, any rate — and returns it as
// call audio: the channels mixed, the rate converted to 8 kHz.
func DecodeWAV(r io.Reader) (Audio, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxWAV+1))
	if err != nil {
		return Audio{}, err
	}
	if len(data) > maxWAV {
		return Audio{}, fmt.Errorf("WAV file is larger than %d MB; a prompt is seconds long", maxWAV>>20)
	}
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return Audio{}, fmt.Errorf("%w: no RIFF/WAVE header", ErrNotWAV)
	}
	var (
		format, channels, bits uint16
		rate                   uint32
		pcm                    []byte
		haveFmt                bool
	)
	for p := data[12:]; len(p) >= 8; {
		id, size := string(p[0:4]), binary.LittleEndian.Uint32(p[4:8])
		p = p[8:]
		if uint64(size) > uint64(len(p)) {
			if id == "data" { // a truncated or streamed file: take what is there
				size = uint32(len(p))
			} else {
				return Audio{}, fmt.Errorf("%w: chunk %q runs past the end", ErrNotWAV, id)
			}
		}
		body := p[:size]
		switch id {
		case "fmt ":
			if size < 16 {
				return Audio{}, fmt.Errorf("%w: fmt chunk too short", ErrNotWAV)
			}
			format, channels = binary.LittleEndian.Uint16(body[0:2]), binary.LittleEndian.Uint16(body[2:4])
			rate, bits = binary.LittleEndian.Uint32(body[4:8]), binary.LittleEndian.Uint16(body[14:16])
			if format == formatExtensible && size >= 26 {
				format = binary.LittleEndian.Uint16(body[24:26])
			}
			haveFmt = true
		case "data":
			pcm = body
		}
		p = p[size:]
		if size%2 == 1 && len(p) > 0 {
			p = p[1:] // chunks are padded to even sizes
		}
	}
	if !haveFmt || pcm == nil {
		return Audio{}, fmt.Errorf("%w: no fmt or data chunk", ErrNotWAV)
	}
	if channels == 0 || rate < 4000 || rate > 384000 {
		return Audio{}, fmt.Errorf("WAV file has %d channels at %d Hz; a prompt needs at least one channel at 4,000 to 384,000 Hz", channels, rate)
	}
	sample, width, err := sampleReader(format, bits)
	if err != nil {
		return Audio{}, err
	}
	frame := width * int(channels)
	frames := len(pcm) / frame
	mono := make([]float64, frames)
	for i := 0; i < frames; i++ {
		var sum float64
		for c := 0; c < int(channels); c++ {
			sum += sample(pcm[i*frame+c*width:])
		}
		mono[i] = sum / float64(channels)
	}
	return Audio{Samples: toInt16(resample(mono, int(rate), Rate))}, nil
}

// sampleReader returns a function reading one sample, scaled to int16's
// range, and the sample's width in bytes.
func sampleReader(format, bits uint16) (func([]byte) float64, int, error) {
	switch {
	case format == formatPCM && bits == 8:
		return func(b []byte) float64 { return float64(int(b[0])-128) * 256 }, 1, nil
	case format == formatPCM && bits == 16:
		return func(b []byte) float64 { return float64(int16(binary.LittleEndian.Uint16(b))) }, 2, nil
	case format == formatPCM && bits == 24:
		return func(b []byte) float64 { return float64(int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 16) }, 3, nil
	case format == formatPCM && bits == 32:
		return func(b []byte) float64 { return float64(int32(binary.LittleEndian.Uint32(b))) / 65536 }, 4, nil
	case format == formatFloat && bits == 32:
		return func(b []byte) float64 {
			f := float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
			if math.IsNaN(f) {
				return 0
			}
			return f * 32767
		}, 4, nil
	case format == formatALaw && bits == 8:
		return func(b []byte) float64 { return float64(media.DecodeALaw(b[0])) }, 1, nil
	case format == formatULaw && bits == 8:
		return func(b []byte) float64 { return float64(media.DecodeULaw(b[0])) }, 1, nil
	}
	return nil, 0, fmt.Errorf("WAV encoding %d with %d-bit samples is not supported: convert it with sox FILE -r 8000 -c 1 -b 16 OUT.wav", format, bits)
}

// resample converts between rates. Going down, each output sample is the
// mean of the input samples it stands for, which filters what the lower
// rate cannot carry; going up, samples are interpolated linearly.
func resample(in []float64, from, to int) []float64 {
	if from == to || len(in) == 0 {
		return in
	}
	n := int(int64(len(in)) * int64(to) / int64(from))
	out := make([]float64, n)
	step := float64(from) / float64(to)
	for i := range out {
		pos := float64(i) * step
		if step > 1 {
			lo, hi := int(pos), int(pos+step)
			if hi > len(in) {
				hi = len(in)
			}
			var sum float64
			for _, v := range in[lo:hi] {
				sum += v
			}
			out[i] = sum / float64(max(1, hi-lo))
			continue
		}
		j := int(pos)
		frac := pos - float64(j)
		next := in[min(j+1, len(in)-1)]
		out[i] = in[j]*(1-frac) + next*frac
	}
	return out
}

func toInt16(in []float64) []int16 {
	out := make([]int16, len(in))
	for i, v := range in {
		switch {
		case v > 32767:
			out[i] = 32767
		case v < -32768:
			out[i] = -32768
		default:
			out[i] = int16(math.Round(v))
		}
	}
	return out
}

// EncodeWAV writes audio as a 16-bit PCM 8 kHz mono WAV file.
func EncodeWAV(w io.Writer, a Audio) error {
	var b bytes.Buffer
	n := uint32(len(a.Samples) * 2)
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, 36+n)
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(formatPCM), uint16(1), uint32(Rate), uint32(Rate * 2), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, n)
	binary.Write(&b, binary.LittleEndian, a.Samples)
	_, err := w.Write(b.Bytes())
	return err
}
