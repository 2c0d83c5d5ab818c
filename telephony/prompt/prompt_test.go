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
	"testing"
	"time"

	"github.com/callflow/callflow/internal/tooltest"
	"github.com/callflow/callflow/telephony/media"
	"github.com/callflow/callflow/telephony/prompt"
)

// wav builds a WAV file of a 1 kHz tone lasting d.
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
			case format == 7:
				data.WriteByte(media.EncodeULaw(int16(v * 32767)))
			}
		}
	}
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+data.Len()))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, uint32(16))
	binary.Write(&b, binary.LittleEndian, format)
	binary.Write(&b, binary.LittleEndian, channels)
	binary.Write(&b, binary.LittleEndian, rate)
	binary.Write(&b, binary.LittleEndian, rate*uint32(channels)*uint32(bits)/8)
	binary.Write(&b, binary.LittleEndian, channels*bits/8)
	binary.Write(&b, binary.LittleEndian, bits)
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(data.Len()))
	b.Write(data.Bytes())
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

func TestDecodeWAV(t *testing.T) {
	for _, tt := range []struct {
		name             string
		format, channels uint16
		rate             uint32
		bits             uint16
	}{
		{"pcm16 8k mono", 1, 1, 8000, 16},
		{"pcm16 44.1k stereo", 1, 2, 44100, 16},
		{"pcm16 22.05k mono (espeak-ng)", 1, 1, 22050, 16},
		{"pcm8 16k mono", 1, 1, 16000, 8},
		{"pcm24 48k stereo", 1, 2, 48000, 24},
		{"float32 48k mono", 3, 1, 48000, 32},
		{"µ-law 8k mono", 7, 1, 8000, 8},
		{"pcm16 4k mono (upsampled)", 1, 1, 4000, 16},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := prompt.DecodeWAV(bytes.NewReader(wav(tt.format, tt.channels, tt.rate, tt.bits, 2*time.Second)))
			if err != nil {
				t.Fatal(err)
			}
			if d := a.Duration(); d < 1990*time.Millisecond || d > 2*time.Second {
				t.Errorf("duration %s, want 2s", d)
			}
			tone := 1000
			if tt.rate == 4000 {
				tone = 1000 // at the source's Nyquist limit it still crosses 2,000 times a second
			}
			if c := crossings(a.Samples); c < 2*2*tone-40 || c > 2*2*tone+40 {
				t.Errorf("%d zero crossings in 2 s, want about %d: the tone's pitch changed", c, 4*tone)
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

func TestDecodeWAVErrors(t *testing.T) {
	good := wav(1, 1, 8000, 16, 100*time.Millisecond)
	for name, data := range map[string][]byte{
		"empty":          nil,
		"not riff":       []byte("ID3\x03 this is an mp3"),
		"no data":        good[:36],
		"adpcm":          wav(2, 1, 8000, 4, 100*time.Millisecond),
		"bad chunk size": append(append([]byte{}, good[:12]...), []byte("fmt \xff\xff\xff\x7f")...),
	} {
		if _, err := prompt.DecodeWAV(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	if _, err := prompt.DecodeWAV(bytes.NewReader([]byte("not a wav at all"))); !errors.Is(err, prompt.ErrNotWAV) {
		t.Errorf("want ErrNotWAV, got %v", err)
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
	dir := t.TempDir()
	src := filepath.Join(dir, "welcome.wav")
	os.WriteFile(src, wav(1, 2, 44100, 16, time.Second), 0o644)
	c := &prompt.Cache{Dir: filepath.Join(dir, "cache")}
	p1, err := c.File(src)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := c.File(src)
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
	ctx := context.Background()
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

// TestSay renders speech with espeak-ng, which make test installs. In CI
// it must be there; elsewhere the test says what to install.
func TestSay(t *testing.T) {
	tooltest.Require(t, "espeak-ng", "espeak-ng")
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
