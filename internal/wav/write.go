package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Writer streams 16-bit linear PCM to a WAV file as it comes: each Write
// goes straight to the underlying writer, and Close seeks back and
// patches the two sizes in the header. It keeps no audio: an hour of
// recording uses the memory of one Write's samples.
//
// Until Close, the header says the RIFF and data sizes are unknown
// (0xFFFFFFFF). A file whose writer never closed it, because the process
// died, is therefore still a WAV file: Reader reads its data chunk to the
// end of the file, losing nothing a Write had handed to the writer.
//
// A Writer is not safe for concurrent use; one goroutine owns it. The
// caller keeps owning w: Close does not close it, and w must not be
// written by anyone else while the Writer lives. After an error from w,
// Write returns that error again, and Close still tries to patch the
// header.
type Writer struct {
	w         io.WriteSeeker
	start     int64 // where the header starts in w
	channels  int
	dataBytes int64  // written to the data chunk
	buf       []byte // one Write's samples as bytes, reused
	err       error  // the first error from w, returned by every later call
	closed    bool
}

const (
	headerSize  = 44
	unknownSize = 0xFFFFFFFF
	// maxData is the most a data chunk can hold while the RIFF size,
	// which counts the header's 36 bytes after it, fits in 32 bits.
	maxData = unknownSize - (headerSize - 8) - 1
)

// ErrTooLong is returned by Write when the data would no longer fit a
// WAV file's 32-bit sizes (4 GiB: about 37 hours of 8 kHz mono, 18 of
// stereo). What was written before stays valid.
var ErrTooLong = errors.New("wav: a WAV file holds at most 4 GiB of audio")

// ErrClosed is returned by Write and Close after Close.
var ErrClosed = errors.New("wav: writer is closed")

// NewWriter writes the header of a 16-bit PCM WAV file of channels
// interleaved channels at rate frames a second to w, at w's current
// offset, and returns the Writer for its frames.
func NewWriter(w io.WriteSeeker, rate, channels int) (*Writer, error) {
	if err := checkLayout(rate, channels); err != nil {
		return nil, err
	}
	start, err := w.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("wav: a writer needs to seek: %w", err)
	}
	h := header(rate, channels, unknownSize)
	if _, err := w.Write(h[:]); err != nil {
		return nil, err
	}
	return &Writer{w: w, start: start, channels: channels}, nil
}

// header is a 16-bit PCM WAV header for data bytes of audio.
func header(rate, channels int, data uint32) [headerSize]byte {
	riffSize := data
	if data != unknownSize {
		riffSize = headerSize - 8 + data
	}
	var h [headerSize]byte
	le := binary.LittleEndian
	copy(h[0:4], "RIFF")
	le.PutUint32(h[4:8], riffSize)
	copy(h[8:16], "WAVEfmt ")
	le.PutUint32(h[16:20], 16)
	le.PutUint16(h[20:22], uint16(PCM))
	le.PutUint16(h[22:24], uint16(channels))
	le.PutUint32(h[24:28], uint32(rate))
	le.PutUint32(h[28:32], uint32(rate*channels*2)) // bytes a second
	le.PutUint16(h[32:34], uint16(channels*2))      // bytes a frame
	le.PutUint16(h[34:36], 16)
	copy(h[36:40], "data")
	le.PutUint32(h[40:44], data)
	return h
}

// checkLayout reports whether a WAV header can describe rate and channels.
func checkLayout(rate, channels int) error {
	if channels < 1 || channels > 0xFFFF {
		return fmt.Errorf("wav: %d channels; a WAV file has 1 to 65535", channels)
	}
	if rate < 1 || int64(rate)*int64(channels)*2 > 0xFFFFFFFF {
		return fmt.Errorf("wav: %d Hz with %d channels does not fit a WAV header", rate, channels)
	}
	return nil
}

// Encode writes samples, whole frames of channels interleaved channels at
// rate, as one 16-bit PCM WAV file to w, which need not seek. It is for
// audio already in memory, such as a prepared prompt; a recording, whose
// length is not known until it ends, uses a Writer.
func Encode(w io.Writer, rate, channels int, samples []int16) error {
	if err := checkLayout(rate, channels); err != nil {
		return err
	}
	if len(samples)%channels != 0 {
		return fmt.Errorf("wav: %d samples are not whole frames of %d channels", len(samples), channels)
	}
	if 2*int64(len(samples)) > maxData {
		return ErrTooLong
	}
	h := header(rate, channels, uint32(2*len(samples)))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	var buf [4096]byte
	for len(samples) > 0 {
		n := min(len(samples), len(buf)/2)
		for i, s := range samples[:n] {
			binary.LittleEndian.PutUint16(buf[2*i:], uint16(s))
		}
		if _, err := w.Write(buf[:2*n]); err != nil {
			return err
		}
		samples = samples[n:]
	}
	return nil
}

// Write appends frames: samples holds whole frames, interleaved by
// channel (for a two-channel recording: caller, agent, caller, agent…).
// A slice that is not whole frames is refused and nothing is written.
func (w *Writer) Write(samples []int16) error {
	switch {
	case w.closed:
		return ErrClosed
	case w.err != nil:
		return w.err
	case len(samples)%w.channels != 0:
		return fmt.Errorf("wav: %d samples are not whole frames of %d channels", len(samples), w.channels)
	case w.dataBytes+2*int64(len(samples)) > maxData:
		return ErrTooLong
	}
	n := 2 * len(samples)
	if cap(w.buf) < n {
		w.buf = make([]byte, n)
	}
	b := w.buf[:n]
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	m, err := w.w.Write(b)
	w.dataBytes += int64(m)
	if err != nil {
		w.err = err
	}
	return err
}

// Frames is how many frames have been written.
func (w *Writer) Frames() int64 { return w.dataBytes / int64(2*w.channels) }

// Close writes the RIFF and data sizes into the header and leaves w's
// offset at the end of the audio. It does not close w.
func (w *Writer) Close() error {
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	// A failed Write may have written part of a frame: the sizes count
	// whole frames only.
	data := w.dataBytes - w.dataBytes%int64(2*w.channels)
	var size [4]byte
	for _, patch := range []struct {
		at    int64
		value int64
	}{{4, headerSize - 8 + data}, {40, data}} {
		if _, err := w.w.Seek(w.start+patch.at, io.SeekStart); err != nil {
			return errors.Join(w.err, err)
		}
		binary.LittleEndian.PutUint32(size[:], uint32(patch.value))
		if _, err := w.w.Write(size[:]); err != nil {
			return errors.Join(w.err, err)
		}
	}
	if _, err := w.w.Seek(w.start+headerSize+w.dataBytes, io.SeekStart); err != nil {
		return errors.Join(w.err, err)
	}
	return w.err
}
