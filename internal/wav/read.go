package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/callflow/callflow/internal/g711"
)

// Reader reads the samples of one WAV file. NewReader has parsed the
// header by the time a Reader exists; ReadSamples then streams the data
// chunk through a buffer of its own of at most 16 KiB (or one frame, if
// a frame is larger), whatever the file's header says.
//
// A Reader is not safe for concurrent use. It reads from the io.Reader
// it was made from, which the caller keeps owning (and closes).
type Reader struct {
	// Format is the file's format, already checked: ReadSamples decodes
	// every format a Reader is made for.
	Format Format

	src       *source
	frames    int64 // of the data chunk, clipped to the input when its end is known
	remaining int64 // bytes of the data chunk not yet read
	buf       []byte
}

// readBuffer bounds the buffer ReadSamples reads the data chunk through.
const readBuffer = 16 << 10

// NewReader parses a WAV file's RIFF/WAVE header and its chunks up to the
// data chunk, and returns a Reader positioned at the first sample.
//
// It takes what real files do: chunks it does not know (LIST, fact, cue)
// are skipped, odd-sized chunks are padded, and a data chunk that runs
// past the end of the input (a file cut short, a stream written with an
// unknown length such as espeak-ng's --stdout, a recording whose writer
// never closed it) is read as far as the input goes. When r is also an
// io.Seeker (a file, a bytes.Reader), a data chunk before the fmt chunk
// is found too, and Frames is clipped to what the input holds.
//
// Errors wrap ErrNotWAV, ErrDamaged or ErrUnsupported, or are r's own
// read errors. NewReader never allocates by a size the header states.
func NewReader(r io.Reader) (*Reader, error) {
	src := newSource(r)
	var hdr [12]byte
	if _, err := io.ReadFull(src, hdr[:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("%w: no RIFF/WAVE header", ErrNotWAV)
		}
		return nil, err
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: no RIFF/WAVE header", ErrNotWAV)
	}
	var (
		format             Format
		haveFmt, haveData  bool
		dataStart, dataLen int64 // a data chunk seen before the fmt chunk
	)
	for {
		var chunk [8]byte
		if n, err := io.ReadFull(src, chunk[:]); err == io.EOF || (err == io.ErrUnexpectedEOF && n < 8) {
			break // the end of the chunks
		} else if err != nil {
			return nil, err
		}
		id, size := string(chunk[0:4]), int64(binary.LittleEndian.Uint32(chunk[4:8]))
		switch {
		case id == "fmt " && !haveFmt:
			f, err := readFmt(src, size)
			if err != nil {
				return nil, err
			}
			if err := f.check(); err != nil {
				return nil, err
			}
			format, haveFmt = f, true
			if haveData {
				if err := src.seekTo(dataStart); err != nil {
					return nil, err
				}
				return newDataReader(src, format, dataLen), nil
			}
			continue // readFmt has skipped the chunk's rest and its padding
		case id == "data" && haveFmt:
			return newDataReader(src, format, size), nil
		case id == "data" && !src.seekable():
			return nil, fmt.Errorf("%w: its data chunk comes before its fmt chunk", ErrDamaged)
		case id == "data" && !haveData:
			haveData, dataStart, dataLen = true, src.pos, size
			if src.pos+size >= src.end {
				// The data runs to the end of the input: no fmt can follow.
				return nil, fmt.Errorf("%w: it has no fmt chunk before its data", ErrDamaged)
			}
		}
		if err := src.skip(size); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("%w: chunk %q is %d bytes and runs past the end of the file", ErrDamaged, id, size)
			}
			return nil, err
		}
		if err := src.skipPad(size); err != nil {
			return nil, err
		}
	}
	if !haveFmt {
		return nil, fmt.Errorf("%w: it has no fmt chunk", ErrDamaged)
	}
	return nil, fmt.Errorf("%w: it has no data chunk", ErrDamaged)
}

// readFmt reads a fmt chunk of size bytes: the 16 bytes every WAV file
// has, and the sub-format of WAVE_FORMAT_EXTENSIBLE. It reads at most 40
// bytes, and skips the rest of the chunk and its padding.
func readFmt(src *source, size int64) (Format, error) {
	if size < 16 {
		return Format{}, fmt.Errorf("%w: its fmt chunk is %d bytes; it needs at least 16", ErrDamaged, size)
	}
	var body [40]byte
	n := min(size, int64(len(body)))
	if _, err := io.ReadFull(src, body[:n]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return Format{}, fmt.Errorf("%w: its fmt chunk runs past the end of the file", ErrDamaged)
		}
		return Format{}, err
	}
	le := binary.LittleEndian
	f := Format{
		Encoding: Encoding(le.Uint16(body[0:2])),
		Channels: int(le.Uint16(body[2:4])),
		Rate:     int(le.Uint32(body[4:8])),
		Bits:     int(le.Uint16(body[14:16])),
	}
	if f.Encoding == extensible {
		// cbSize, valid bits and the channel mask come first; the
		// sub-format GUID's first two bytes are the format tag.
		if n < 26 {
			return Format{}, fmt.Errorf("%w: its fmt chunk says WAVE_FORMAT_EXTENSIBLE but is %d bytes; it needs 40", ErrDamaged, size)
		}
		f.Encoding = Encoding(le.Uint16(body[24:26]))
	}
	if err := src.skip(size - n); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Format{}, fmt.Errorf("%w: its fmt chunk runs past the end of the file", ErrDamaged)
		}
		return Format{}, err
	}
	return f, src.skipPad(size)
}

func newDataReader(src *source, f Format, size int64) *Reader {
	if src.seekable() && src.pos+size > src.end {
		size = src.end - src.pos // cut short: read what there is
	}
	return &Reader{Format: f, src: src, frames: size / int64(f.frameSize()), remaining: size}
}

// Frames is the data chunk's length in frames (a sample of every channel).
// It is what the header says, clipped to the input's length when the
// input can seek. Read from a stream, a file cut short may end earlier.
func (r *Reader) Frames() int64 { return r.frames }

// ReadSamples decodes the next frames into dst, interleaved by channel
// and scaled so that full scale is [-1, 1). It reads whole frames only,
// as many as fit in dst (which must hold at least one), and returns how
// many samples it stored. At the end of the data, or of an input cut
// short, it returns 0 and io.EOF; an incomplete last frame is dropped.
func (r *Reader) ReadSamples(dst []float64) (int, error) {
	ch := r.Format.Channels
	if len(dst) < ch {
		return 0, fmt.Errorf("wav: ReadSamples needs room for one frame of %d samples, got %d", ch, len(dst))
	}
	size := int64(r.Format.frameSize())
	frames := min(int64(len(dst)/ch), r.remaining/size, max(1, readBuffer/size))
	if frames == 0 {
		r.remaining = 0
		return 0, io.EOF
	}
	want := int(frames * size)
	if len(r.buf) < want {
		r.buf = make([]byte, want)
	}
	n, err := io.ReadFull(r.src, r.buf[:want])
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		r.remaining = 0 // cut short: this is the end
		frames = int64(n) / size
		if frames == 0 {
			return 0, io.EOF
		}
	case err != nil:
		return 0, err
	default:
		r.remaining -= int64(n)
	}
	samples := int(frames) * ch
	decode(r.Format, dst[:samples], r.buf)
	return samples, nil
}

// decode scales each sample of b into dst.
func decode(f Format, dst []float64, b []byte) {
	le := binary.LittleEndian
	switch {
	case f.Encoding == PCM && f.Bits == 8:
		for i := range dst {
			dst[i] = float64(int(b[i])-128) / 128
		}
	case f.Encoding == PCM && f.Bits == 16:
		for i := range dst {
			dst[i] = float64(int16(le.Uint16(b[2*i:]))) / (1 << 15)
		}
	case f.Encoding == PCM && f.Bits == 24:
		for i := range dst {
			p := b[3*i:]
			dst[i] = float64(int32(uint32(p[0])<<8|uint32(p[1])<<16|uint32(p[2])<<24)>>8) / (1 << 23)
		}
	case f.Encoding == PCM && f.Bits == 32:
		for i := range dst {
			dst[i] = float64(int32(le.Uint32(b[4*i:]))) / (1 << 31)
		}
	case f.Encoding == Float && f.Bits == 32:
		for i := range dst {
			dst[i] = finite(float64(math.Float32frombits(le.Uint32(b[4*i:]))))
		}
	case f.Encoding == Float && f.Bits == 64:
		for i := range dst {
			dst[i] = finite(math.Float64frombits(le.Uint64(b[8*i:])))
		}
	case f.Encoding == ALaw:
		for i := range dst {
			dst[i] = float64(g711.DecodeALaw(b[i])) / (1 << 15)
		}
	case f.Encoding == ULaw:
		for i := range dst {
			dst[i] = float64(g711.DecodeULaw(b[i])) / (1 << 15)
		}
	}
}

// finite keeps a float sample usable: NaN is silence and an infinity is
// full scale. Finite values beyond full scale are kept; whoever converts
// them to integers clips them.
func finite(v float64) float64 {
	switch {
	case math.IsNaN(v):
		return 0
	case math.IsInf(v, 1):
		return 1
	case math.IsInf(v, -1):
		return -1
	}
	return v
}

// source reads the input and knows where it is in it, and where the input
// ends when it can seek.
type source struct {
	r   io.Reader
	s   io.Seeker // nil when the input cannot seek
	pos int64     // bytes from the start of the WAV file
	end int64     // the WAV file's length; meaningful when s != nil
}

func newSource(r io.Reader) *source {
	src := &source{r: r}
	if s, ok := r.(io.Seeker); ok {
		// A pipe is an *os.File that cannot seek: it reads as a stream.
		if start, err := s.Seek(0, io.SeekCurrent); err == nil {
			if end, err := s.Seek(0, io.SeekEnd); err == nil {
				if _, err := s.Seek(start, io.SeekStart); err == nil {
					src.s, src.end = s, end-start
				}
			}
		}
	}
	return src
}

func (s *source) seekable() bool { return s.s != nil }

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.pos += int64(n)
	return n, err
}

// skip moves n bytes on. It returns io.ErrUnexpectedEOF when the input
// ends first.
func (s *source) skip(n int64) error {
	if s.s == nil {
		m, err := io.CopyN(io.Discard, s, n)
		if m < n && (err == nil || err == io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if s.pos+n > s.end {
		return io.ErrUnexpectedEOF
	}
	return s.seekTo(s.pos + n)
}

// skipPad skips the byte that pads a chunk of odd size, if the input has
// it: some writers leave it off the last chunk.
func (s *source) skipPad(size int64) error {
	if size%2 == 0 {
		return nil
	}
	if err := s.skip(1); err != nil && err != io.ErrUnexpectedEOF {
		return err
	}
	return nil
}

// seekTo moves to pos bytes from the start of the WAV file; only for an
// input that can seek.
func (s *source) seekTo(pos int64) error {
	delta := pos - s.pos
	if _, err := s.s.Seek(delta, io.SeekCurrent); err != nil {
		return err
	}
	s.pos = pos
	return nil
}
