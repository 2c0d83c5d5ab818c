// Package wav is the project's one implementation of WAV (RIFF/WAVE)
// audio files. NewReader parses a file's header and chunks and then reads
// its samples, in every encoding a WAV file commonly holds: linear PCM of
// 8, 16, 24 or 32 bits, IEEE float, A-law and µ-law, plain or as
// WAVE_FORMAT_EXTENSIBLE, with any number of channels at any rate.
// NewWriter streams 16-bit PCM to a file as it comes and patches the
// sizes in the header on Close, so a recording never waits in memory;
// Encode writes audio already in memory.
//
// The package uses the standard library only: the compiler checks audio
// files with it, and the runtime converts prompts and writes recordings
// with it.
package wav

import (
	"errors"
	"fmt"
)

// Encoding is a WAV format tag: how each sample is stored.
type Encoding uint16

// The encodings Reader decodes. A WAVE_FORMAT_EXTENSIBLE file is reported
// as the encoding of its sub-format.
const (
	PCM   Encoding = 1 // linear PCM: unsigned 8-bit, signed 16, 24 or 32-bit
	Float Encoding = 3 // IEEE float, 32 or 64-bit
	ALaw  Encoding = 6 // G.711 A-law, 8-bit
	ULaw  Encoding = 7 // G.711 µ-law, 8-bit

	extensible Encoding = 0xFFFE
)

// encodingNames names the format tags users meet, so that an error about
// an unsupported file says what the file is.
var encodingNames = map[Encoding]string{
	PCM:        "PCM",
	2:          "Microsoft ADPCM",
	Float:      "IEEE float",
	ALaw:       "A-law",
	ULaw:       "µ-law",
	0x11:       "IMA ADPCM",
	0x22:       "TrueSpeech",
	0x31:       "GSM 6.10",
	0x50:       "MPEG audio",
	0x55:       "MP3",
	0x161:      "Windows Media Audio",
	extensible: "WAVE_FORMAT_EXTENSIBLE",
}

func (e Encoding) String() string {
	if name, ok := encodingNames[e]; ok {
		return fmt.Sprintf("%s (format %d)", name, uint16(e))
	}
	return fmt.Sprintf("format %d", uint16(e))
}

// Format is what a WAV file's fmt chunk says about its samples.
type Format struct {
	Encoding Encoding
	Channels int // samples in each frame, interleaved; at least 1
	Rate     int // frames a second; at least 1
	Bits     int // bits each sample is stored in: 8, 16, 24, 32 or 64
}

// frameSize is the bytes of one frame: a sample of every channel.
func (f Format) frameSize() int { return f.Channels * f.Bits / 8 }

// The errors Reader returns wrap one of these, so that a caller can tell
// what to say: errors.Is(err, wav.ErrNotWAV).
var (
	// ErrNotWAV: the input does not start with a RIFF/WAVE header.
	ErrNotWAV = errors.New("not a WAV file")
	// ErrDamaged: the input has a RIFF/WAVE header, but its chunks are
	// cut short, missing or inconsistent.
	ErrDamaged = errors.New("damaged WAV file")
	// ErrUnsupported: the samples are in an encoding Reader does not
	// decode, such as ADPCM or MP3 in a WAV container.
	ErrUnsupported = errors.New("unsupported WAV encoding")
)

// convertHint is how to turn any audio file into one every reader takes:
// 16-bit PCM at 8 kHz mono, what calls play.
const convertHint = "convert it with: sox FILE -r 8000 -c 1 -b 16 OUT.wav"

// check reports whether f is a format Reader decodes.
func (f Format) check() error {
	if f.Channels < 1 {
		return fmt.Errorf("%w: the fmt chunk says it has no channels", ErrDamaged)
	}
	if f.Rate < 1 {
		return fmt.Errorf("%w: the fmt chunk says its sample rate is 0 Hz", ErrDamaged)
	}
	ok := false
	switch f.Encoding {
	case PCM:
		ok = f.Bits == 8 || f.Bits == 16 || f.Bits == 24 || f.Bits == 32
	case Float:
		ok = f.Bits == 32 || f.Bits == 64
	case ALaw, ULaw:
		ok = f.Bits == 8
	}
	if !ok {
		return &UnsupportedError{Format: f}
	}
	return nil
}

// UnsupportedError is the error for a file whose samples Reader does not
// decode. It wraps ErrUnsupported.
type UnsupportedError struct {
	Format Format // as the fmt chunk says
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%v: %s with %d-bit samples is not supported: %s", ErrUnsupported, e.Format.Encoding, e.Format.Bits, convertHint)
}

func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }
