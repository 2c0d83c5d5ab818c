// Package audiotest tells tests whether audio arrived intact: it finds
// where a recording (what a phone heard, a channel of a call's
// recording) starts in the audio that was sent, and measures, second by
// second, how closely it follows it. A lost packet, a gap, a burst of
// noise or the wrong party's voice shows as a second of low
// signal-to-noise ratio.
package audiotest

import (
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
)

// Result is how closely got follows want.
type Result struct {
	// Offset is where got's first sample is in want.
	Offset int
	// SNR is each whole second's signal-to-noise ratio in dB, want
	// against want−got, each second aligned anew within ±5 ms of where
	// the one before it was (clocks drift, jitter buffers slip).
	SNR []float64
}

// Worst is the lowest second's SNR; +Inf when there is none.
func (r Result) Worst() float64 {
	w := math.Inf(1)
	for _, s := range r.SNR {
		w = min(w, s)
	}
	return w
}

func (r Result) String() string {
	return fmt.Sprintf("offset %d, %d seconds, worst %.1f dB", r.Offset, len(r.SNR), r.Worst())
}

// Compare finds got in want (rate samples a second) and measures it. It
// skips got's first second, where phones' jitter buffers settle, and
// leaves out a last second that is not whole, in got or in want.
func Compare(want, got []int16, rate int) (Result, error) {
	if len(got) < 3*rate || len(want) < 3*rate {
		return Result{}, fmt.Errorf("audiotest: too short to compare: %d and %d samples", len(want), len(got))
	}
	probe := got[rate : 2*rate]
	lag, err := locate(want, probe)
	if err != nil {
		return Result{}, err
	}
	r := Result{Offset: lag - rate}
	slip := rate / 200 // 5 ms
	at := lag
	for start := rate; start+rate <= len(got) && at+rate+slip <= len(want); start += rate {
		block := got[start : start+rate]
		best, bestAt := math.Inf(-1), at
		for d := -slip; d <= slip; d++ {
			o := at + d
			if o < 0 || o+rate > len(want) {
				continue
			}
			if s := snr(want[o:o+rate], block); s > best {
				best, bestAt = s, o
			}
		}
		r.SNR = append(r.SNR, best)
		at = bestAt + rate
	}
	return r, nil
}

// snr is want's energy over the energy of want−got, in dB.
func snr(want, got []int16) float64 {
	var sig, noise float64
	for i := range want {
		w, g := float64(want[i]), float64(got[i])
		sig += w * w
		noise += (w - g) * (w - g)
	}
	if noise == 0 {
		return 120
	}
	return 10 * math.Log10(sig/noise)
}

// locate returns where probe best matches in want, by normalised
// cross-correlation computed with an FFT.
func locate(want, probe []int16) (int, error) {
	n := 1
	for n < len(want)+len(probe) {
		n <<= 1
	}
	a := make([]complex128, n)
	b := make([]complex128, n)
	for i, v := range want {
		a[i] = complex(float64(v), 0)
	}
	for i, v := range probe {
		b[i] = complex(float64(v), 0)
	}
	fft(a, false)
	fft(b, false)
	for i := range a {
		a[i] *= cmplx.Conj(b[i])
	}
	fft(a, true)
	// Normalise by the energy of want under the probe, so that a loud
	// passage does not win over the right one.
	energy := make([]float64, len(want)+1)
	for i, v := range want {
		energy[i+1] = energy[i] + float64(v)*float64(v)
	}
	best, at := math.Inf(-1), -1
	for lag := 0; lag+len(probe) <= len(want); lag++ {
		e := energy[lag+len(probe)] - energy[lag]
		if e == 0 {
			continue
		}
		if c := real(a[lag]) / math.Sqrt(e); c > best {
			best, at = c, lag
		}
	}
	if at < 0 {
		return 0, fmt.Errorf("audiotest: the audio sent is silent")
	}
	return at, nil
}

// fft is an in-place radix-2 FFT of a power-of-two length; inverse
// divides by the length.
func fft(x []complex128, inverse bool) {
	n := len(x)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	sign := -1.0
	if inverse {
		sign = 1
	}
	for size := 2; size <= n; size <<= 1 {
		w := cmplx.Rect(1, sign*2*math.Pi/float64(size))
		for start := 0; start < n; start += size {
			t := complex(1, 0)
			for k := range size / 2 {
				u, v := x[start+k], x[start+k+size/2]*t
				x[start+k], x[start+k+size/2] = u+v, u-v
				t *= w
			}
		}
	}
	if inverse {
		for i := range x {
			x[i] /= complex(float64(n), 0)
		}
	}
}

// Speech is n samples of a test signal that never repeats, for a party to
// send: noise shaped by a random envelope that changes every 50 ms, like
// speech's, so that any second of it is found in one place only. seed
// tells parties apart.
func Speech(n int, seed uint64) []int16 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]int16, n)
	env := 0.0
	for i := range out {
		if i%400 == 0 {
			env = 2000 + 6000*r.Float64()
		}
		out[i] = int16(env * (r.Float64()*2 - 1) * math.Sin(float64(i)*0.07))
	}
	return out
}
