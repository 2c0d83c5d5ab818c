package prompt_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callflow/callflow/internal/g711"
	"github.com/callflow/callflow/internal/tooltest"
	"github.com/callflow/callflow/telephony/prompt"
)

// wav builds a WAV file of a 1 kHz tone at half scale lasting d.
func wav(format, channels uint16, rate uint32, bits uint16, d time.Duration) []byte {
	n := int(d.Seconds() * float64(rate))
	var data bytes.Buffer
	for i := 0; i < n; i++ {
		v := 0.5 * math.Sin(2*math.Pi*1000*float64(i)/float64(rate))
		for c := 0; c < int(channels); c++ {
			switch {
			case format == 1 && bits == 8:
				data.WriteByte(byte(int(v*127) + 128))
			case format == 1 && bits == 16:
				binary.Write(&data, binary.LittleEndian, int16(v*32767))
			case format == 1 && bits == 24:
				x := int32(v * 8388607)
				data.Write([]byte{byte(x), byte(x >> 8), byte(x >> 16)})
			case format == 3:
				binary.Write(&data, binary.LittleEndian, math.Float32bits(float32(v)))
			case format == 6:
				data.WriteByte(g711.EncodeALaw(int16(v * 32767)))
			case format == 7:
				data.WriteByte(g711.EncodeULaw(int16(v * 32767)))
			}
		}
	}
	return wavData(format, channels, rate, bits, data.Bytes())
}

// wavData builds a WAV file around data.
func wavData(format, channels uint16, rate uint32, bits uint16, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+len(data)))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, uint32(16))
	binary.Write(&b, binary.LittleEndian, format)
	binary.Write(&b, binary.LittleEndian, channels)
	binary.Write(&b, binary.LittleEndian, rate)
	binary.Write(&b, binary.LittleEndian, rate*uint32(channels)*uint32(bits)/8)
	binary.Write(&b, binary.LittleEndian, channels*bits/8)
	binary.Write(&b, binary.LittleEndian, bits)
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

// crossings counts sign changes: a 1 kHz tone has 2,000 a second.
func crossings(s []int16) int {
	n := 0
	for i := 1; i < len(s); i++ {
		if (s[i-1] < 0) != (s[i] < 0) {
			n++
		}
	}
	return n
}

func TestConvert(t *testing.T) {
	for _, tt := range []struct {
		name             string
		format, channels uint16
		rate             uint32
		bits             uint16
	}{
		{"pcm16 8k mono", 1, 1, 8000, 16},
		{"pcm16 8k stereo", 1, 2, 8000, 16},
		{"µ-law 8k mono", 7, 1, 8000, 8},
		{"a-law 8k stereo", 6, 2, 8000, 8},
		{"pcm16 44.1k stereo", 1, 2, 44100, 16},
		{"pcm16 22.05k mono (espeak-ng)", 1, 1, 22050, 16},
		{"pcm8 16k mono", 1, 1, 16000, 8},
		{"pcm24 48k stereo", 1, 2, 48000, 24},
		{"float32 48k mono", 3, 1, 48000, 32},
		{"pcm16 4k mono (upsampled)", 1, 1, 4000, 16},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &prompt.Cache{Dir: t.TempDir()}
			if tt.rate != prompt.Rate {
				tooltest.Require(t, "sox", "sox")
			} else {
				c.Sox = "sox-not-installed" // 8 kHz audio is not resampled
			}
			a, err := c.Convert(context.Background(), wav(tt.format, tt.channels, tt.rate, tt.bits, 2*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if d := a.Duration(); d < 1990*time.Millisecond || d > 2*time.Second {
				t.Errorf("duration %s, want 2s", d)
			}
			// A 1 kHz tone crosses zero 2,000 times a second (at a 4 kHz
			// source's Nyquist limit too).
			if c := crossings(a.Samples); c < 2*2*1000-40 || c > 2*2*1000+40 {
				t.Errorf("%d zero crossings in 2 s, want about 4000: the tone's pitch changed", c)
			}
			peak := 0
			for _, s := range a.Samples {
				peak = max(peak, int(s))
			}
			if peak < 12000 || peak > 18000 {
				t.Errorf("peak %d, want about half scale (16383)", peak)
			}
		})
	}
}

// Without sox, audio already at 8 kHz converts, and audio at another rate
// fails and says how to install it.
func TestConvertWithoutSox(t *testing.T) {
	c := &prompt.Cache{Dir: t.TempDir(), Sox: "sox-not-installed"}
	ctx := context.Background()
	if a, err := c.Convert(ctx, wav(7, 2, 8000, 8, 100*time.Millisecond)); err != nil || len(a.Samples) != 800 {
		t.Errorf("8 kHz stereo µ-law without sox: %d samples, %v; want 800", len(a.Samples), err)
	}
	_, err := c.Convert(ctx, wav(1, 1, 22050, 16, 100*time.Millisecond))
	if !errors.Is(err, prompt.ErrNoSox) || !strings.Contains(err.Error(), "apt-get install sox") || !strings.Contains(err.Error(), "22050 Hz") {
		t.Errorf("22.05 kHz without sox: %v", err)
	}
}

// A cancelled apply stops sox.
func TestConvertCancelled(t *testing.T) {
	tooltest.Require(t, "sox", "sox")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := &prompt.Cache{Dir: t.TempDir()}
	if _, err := c.Convert(ctx, wav(1, 1, 44100, 16, time.Second)); !errors.Is(err, context.Canceled) {
		t.Errorf("converting with a cancelled context: %v", err)
	}
}

func TestConvertErrors(t *testing.T) {
	good := wav(1, 1, 8000, 16, 100*time.Millisecond)
	c := &prompt.Cache{Dir: t.TempDir(), Sox: "sox-not-installed"}
	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a WAV file: no RIFF/WAVE header"},
		{"not riff", []byte("ID3\x03 this is an mp3"), "not a WAV file: no RIFF/WAVE header"},
		{"no data", good[:36], "damaged WAV file: it has no data chunk"},
		{"adpcm", wav(0x11, 1, 8000, 4, 100*time.Millisecond), "unsupported WAV encoding: IMA ADPCM (format 17) with 4-bit samples is not supported: convert it with: sox FILE -r 8000 -c 1 -b 16 OUT.wav"},
		{"bad chunk size", append(append([]byte{}, good[:12]...), []byte("fmt \xff\xff\xff\x7f")...), "damaged WAV file: its fmt chunk runs past the end of the file"},
		{"rate too low", wav(1, 1, 2000, 16, 100*time.Millisecond), "WAV file has 1 channels at 2000 Hz; a prompt needs at least one channel at 4,000 to 384,000 Hz"},
	} {
		_, err := c.Convert(context.Background(), tt.data)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.name, err, tt.want)
		}
		if _, err := prompt.DecodeWAV(bytes.NewReader(tt.data)); err == nil || err.Error() != tt.want {
			t.Errorf("DecodeWAV %s:\n got %v\nwant %s", tt.name, err, tt.want)
		}
	}
	if _, err := c.Convert(context.Background(), []byte("not a wav at all")); !errors.Is(err, prompt.ErrNotWAV) {
		t.Errorf("want ErrNotWAV, got %v", err)
	}
	if _, err := prompt.DecodeWAV(bytes.NewReader(wav(1, 1, 16000, 16, 10*time.Millisecond))); err == nil || !strings.Contains(err.Error(), "16000 Hz") {
		t.Errorf("DecodeWAV reads call audio only, not 16 kHz: %v", err)
	}
}

// A-law and µ-law WAV files decode, every code word, as the G.711 that
// calls use.
func TestG711WAVDecodes(t *testing.T) {
	for _, tt := range []struct {
		format uint16
		decode func(byte) int16
	}{{6, g711.DecodeALaw}, {7, g711.DecodeULaw}} {
		every := make([]byte, 256)
		for i := range every {
			every[i] = byte(i)
		}
		a, err := prompt.DecodeWAV(bytes.NewReader(wavData(tt.format, 1, 8000, 8, every)))
		if err != nil || len(a.Samples) != 256 {
			t.Fatalf("format %d: %d samples, %v", tt.format, len(a.Samples), err)
		}
		for i, s := range a.Samples {
			if want := tt.decode(byte(i)); s != want {
				t.Errorf("format %d byte %#x: %d, media decodes %d", tt.format, i, s, want)
			}
		}
	}
}

func TestEncodeWAVRoundTrip(t *testing.T) {
	a := prompt.Audio{Samples: []int16{0, 1, -1, 32767, -32768, 1234}}
	var b bytes.Buffer
	if err := prompt.EncodeWAV(&b, a); err != nil {
		t.Fatal(err)
	}
	back, err := prompt.DecodeWAV(&b)
	if err != nil || len(back.Samples) != len(a.Samples) {
		t.Fatalf("%v %v", back, err)
	}
	for i := range a.Samples {
		if back.Samples[i] != a.Samples[i] {
			t.Errorf("sample %d: %d → %d", i, a.Samples[i], back.Samples[i])
		}
	}
}

func TestCacheFileAndURL(t *testing.T) {
	tooltest.Require(t, "sox", "sox") // 44.1 and 16 kHz audio
	dir := t.TempDir()
	src := filepath.Join(dir, "welcome.wav")
	os.WriteFile(src, wav(1, 2, 44100, 16, time.Second), 0o644)
	c := &prompt.Cache{Dir: filepath.Join(dir, "cache")}
	ctx := context.Background()
	p1, err := c.File(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := c.File(ctx, src)
	if err != nil || p1 != p2 {
		t.Fatalf("the same file is cached once: %s %s %v", p1, p2, err)
	}
	a, err := prompt.Load(p1)
	if err != nil || a.Duration() != time.Second {
		t.Fatalf("cached prompt: %v %v", a.Duration(), err)
	}

	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold.wav" {
			w.Write(wav(1, 1, 16000, 16, 500*time.Millisecond))
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	c.HTTP = srv.Client()
	p, err := c.URL(ctx, srv.URL+"/hold.wav")
	if err != nil {
		t.Fatal(err)
	}
	if a, err := prompt.Load(p); err != nil || a.Duration() != 500*time.Millisecond {
		t.Errorf("fetched prompt: %v %v", a.Duration(), err)
	}
	if _, err := c.URL(ctx, srv.URL+"/missing.wav"); err == nil {
		t.Error("a URL that answers 404 must be an error")
	}
}

// TestSay renders speech with espeak-ng and resamples it with sox, which
// make test installs. In CI they must be there; elsewhere the test says
// what to install.
func TestSay(t *testing.T) {
	tooltest.Require(t, "espeak-ng", "espeak-ng")
	tooltest.Require(t, "sox", "sox") // espeak-ng speaks at 22.05 kHz
	c := &prompt.Cache{Dir: t.TempDir()}
	p, err := c.Say(context.Background(), "Thank you for calling.")
	if err != nil {
		t.Fatal(err)
	}
	a, err := prompt.Load(p)
	if err != nil || a.Duration() < 500*time.Millisecond || a.Duration() > 5*time.Second {
		t.Fatalf("spoken prompt of %v: %v", a.Duration(), err)
	}
	missing := &prompt.Cache{Dir: t.TempDir(), Espeak: "espeak-ng-not-installed"}
	if _, err := missing.Say(context.Background(), "Hello."); !errors.Is(err, prompt.ErrNoEspeak) {
		t.Errorf("without espeak-ng: %v", err)
	}
}

func FuzzDecodeWAV(f *testing.F) {
	f.Add(wav(1, 1, 8000, 16, 10*time.Millisecond))
	f.Add(wav(3, 2, 48000, 32, 10*time.Millisecond))
	f.Add(wav(7, 1, 8000, 8, 10*time.Millisecond))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := prompt.DecodeWAV(bytes.NewReader(data))
		if err == nil && len(a.Samples) > len(data)*48 {
			t.Fatalf("%d samples from %d bytes", len(a.Samples), len(data))
		}
	})
}
