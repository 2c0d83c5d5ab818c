package audiotest

import (
	"bytes"
	"io"
	"math"
	"os"

	"github.com/callflow/callflow/internal/wav"
)

// ReadWAV reads a WAV file's samples, one slice per channel, and its
// sample rate.
func ReadWAV(path string) (channels [][]int16, rate int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	r, err := wav.NewReader(f)
	if err != nil {
		return nil, 0, err
	}
	ch := r.Format.Channels
	channels = make([][]int16, ch)
	buf := make([]float64, 4096*ch)
	for {
		n, err := r.ReadSamples(buf)
		for i := 0; i < n; i++ {
			channels[i%ch] = append(channels[i%ch], int16(max(-32768, min(32767, math.Round(buf[i]*32768)))))
		}
		if err == io.EOF {
			return channels, r.Format.Rate, nil
		}
		if err != nil {
			return nil, 0, err
		}
	}
}

// WAV encodes mono 16-bit samples at rate as a WAV file's bytes.
func WAV(samples []int16, rate int) []byte {
	var b bytes.Buffer
	if err := wav.Encode(&b, rate, 1, samples); err != nil {
		panic(err) // a bytes.Buffer does not fail
	}
	return b.Bytes()
}
