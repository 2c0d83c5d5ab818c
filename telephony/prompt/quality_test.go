package prompt_test

import (
	"context"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/callflow/callflow/internal/tooltest"
	iwav "github.com/callflow/callflow/internal/wav"
	"github.com/callflow/callflow/telephony/prompt"
)

// The conversion to call audio is held to sox's very-high-quality rate
// converter (`sox IN -r 8000 OUT rate -v`): speech from espeak-ng and a
// tone sweep across the voice band come out within 40 dB of it, and a
// 5 kHz tone, which 8 kHz audio cannot carry, is 60 dB down.
// The averaging resampler this replaced failed every case: 16.9 dB on
// speech, 10.4 and 16.0 dB on the sweep from 44.1 and 22.05 kHz, and the
// 5 kHz tone came through, folded to 3 kHz, only 6.2 dB down. Through
// sox, the differences left are sox's dither (one LSB, independent in
// each run), so they measure how the audio reaches sox and comes back:
// the decoding, the channel mix, the rate given, the length and the
// alignment.
func TestConversionQuality(t *testing.T) {
	sox := tooltest.Require(t, "sox", "sox")
	espeak := tooltest.Require(t, "espeak-ng", "espeak-ng")
	dir := t.TempDir()
	ctx := context.Background()

	speech, err := exec.CommandContext(ctx, espeak, "-v", "en-us", "--stdout", "--",
		"Thank you for calling. For sales, press one. For billing, press two. Please stay on the line.").Output()
	if err != nil {
		t.Fatalf("espeak-ng: %v", err)
	}
	for _, tt := range []struct {
		name string
		wav  []byte
	}{
		{"espeak-ng speech at 22.05 kHz", speech},
		{"100 Hz to 3.4 kHz log sweep at 44.1 kHz", synth(t, 44100, 3, sweep(100, 3400, 3))},
		{"100 Hz to 3.4 kHz log sweep at 22.05 kHz", synth(t, 22050, 3, sweep(100, 3400, 3))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := convert(t, tt.wav)
			want := soxRate(t, sox, dir, tt.wav)
			snr, lag := bestSNR(want, got, 8)
			t.Logf("SNR %.1f dB against sox rate -v (lag %d samples; %d samples, sox %d)", snr, lag, len(got), len(want))
			if snr < 40 {
				t.Errorf("SNR %.1f dB against sox rate -v; want at least 40 dB", snr)
			}
		})
	}

	t.Run("5 kHz tone at 44.1 kHz", func(t *testing.T) {
		const rate, seconds, amplitude = 44100, 2.0, 0.5
		got := convert(t, synth(t, rate, seconds, func(s float64) float64 { return amplitude * math.Sin(2*math.Pi*5000*s) }))
		if n := len(got); n < int(seconds*8000)-8 || n > int(seconds*8000)+8 {
			t.Fatalf("%d samples, want %d", n, int(seconds*8000))
		}
		// The filter's start and end transients are left out: 100 ms each.
		mid := got[800 : len(got)-800]
		var energy float64
		for _, s := range mid {
			energy += float64(s) * float64(s)
		}
		in := amplitude * amplitude / 2 * 32768 * 32768 // the tone's mean square
		out := energy / float64(len(mid))
		rejection := 10 * math.Log10(in/max(out, 1e-12))
		t.Logf("5 kHz rejection %.1f dB (output RMS %.2f of 32768)", rejection, math.Sqrt(out))
		if rejection < 60 {
			t.Errorf("5 kHz tone only %.1f dB down after conversion; want at least 60 dB", rejection)
		}
	})
}

// convert runs data through the conversion every prompt takes.
func convert(t *testing.T, data []byte) []int16 {
	t.Helper()
	a, err := (&prompt.Cache{Dir: t.TempDir()}).Convert(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	return a.Samples
}

// soxRate is the reference: sox's very-high-quality rate conversion to
// 8 kHz of the WAV file data.
func soxRate(t *testing.T, sox, dir string, data []byte) []int16 {
	t.Helper()
	in, out := filepath.Join(dir, "in.wav"), filepath.Join(dir, "ref.wav")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command(sox, "-q", in, "-r", "8000", out, "rate", "-v").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, msg)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := iwav.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if r.Format.Rate != 8000 || r.Format.Channels != 1 {
		t.Fatalf("sox made %+v", r.Format)
	}
	var samples []int16
	buf := make([]float64, 4096)
	for {
		n, err := r.ReadSamples(buf)
		for _, v := range buf[:n] {
			samples = append(samples, int16(math.Round(v*32768)))
		}
		if err == io.EOF {
			return samples
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// bestSNR is the signal-to-noise ratio of got against want, in dB, at
// the lag within ±maxLag samples that gives the best one, over the
// samples both have.
func bestSNR(want, got []int16, maxLag int) (float64, int) {
	best, bestLag := math.Inf(-1), 0
	for lag := -maxLag; lag <= maxLag; lag++ {
		var signal, noise float64
		for i := range want {
			j := i + lag
			if j < 0 || j >= len(got) {
				continue
			}
			w, d := float64(want[i]), float64(got[j])-float64(want[i])
			signal += w * w
			noise += d * d
		}
		snr := 10 * math.Log10(signal/max(noise, 1e-9))
		if snr > best {
			best, bestLag = snr, lag
		}
	}
	return best, bestLag
}

// sweep is a logarithmic sine sweep from f0 to f1 Hz over d seconds, at
// half scale, faded in and out over 20 ms so that its edges add no
// clicks.
func sweep(f0, f1, d float64) func(float64) float64 {
	k := math.Log(f1 / f0)
	return func(s float64) float64 {
		phase := 2 * math.Pi * f0 * d / k * (math.Exp(s/d*k) - 1)
		fade := min(1, s/0.02, (d-s)/0.02)
		return 0.5 * fade * math.Sin(phase)
	}
}

// synth writes seconds of the signal (full scale is ±1) at rate as a
// mono 16-bit WAV file, through the project's streaming writer.
func synth(t *testing.T, rate int, seconds float64, signal func(s float64) float64) []byte {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "synth-*.wav")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := iwav.NewWriter(f, rate, 1)
	if err != nil {
		t.Fatal(err)
	}
	n := int(seconds * float64(rate))
	frame := make([]int16, 0, 160)
	for i := range n {
		frame = append(frame, int16(math.Round(32767*signal(float64(i)/float64(rate)))))
		if len(frame) == cap(frame) || i == n-1 {
			if err := w.Write(frame); err != nil {
				t.Fatal(err)
			}
			frame = frame[:0]
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return data
}
