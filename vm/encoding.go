package vm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// The binary layout, all integers unsigned varints unless noted:
//
//	"CFVM" version
//	flow-name
//	nconsts { kind text [maxwaiting repeat announcement if kind=queue] }
//	ncode code-bytes
//	nstates { ref pc filename startline startcol startbyte endline endcol endbyte }
//	crc32-IEEE of everything before it, 4 bytes little-endian
//
// A string is its length and its bytes.

var magic = []byte("CFVM")

// Encode returns the binary form of p.
func (p *Program) Encode() []byte {
	b := append([]byte(nil), magic...)
	b = binary.AppendUvarint(b, Version)
	b = appendString(b, p.Flow)
	b = binary.AppendUvarint(b, uint64(len(p.Consts)))
	for _, c := range p.Consts {
		b = append(b, byte(c.Kind))
		b = appendString(b, c.Text)
		if c.Kind == ConstQueue {
			b = binary.AppendUvarint(b, uint64(c.MaxWaiting))
			b = binary.AppendUvarint(b, uint64(c.Repeat))
			b = binary.AppendUvarint(b, uint64(c.Announcement))
		}
	}
	b = binary.AppendUvarint(b, uint64(len(p.Code)))
	b = append(b, p.Code...)
	b = binary.AppendUvarint(b, uint64(len(p.States)))
	for _, s := range p.States {
		b = appendString(b, s.Ref)
		b = binary.AppendUvarint(b, uint64(s.PC))
		b = appendString(b, s.Range.Filename)
		for _, v := range [...]uint32{s.Range.StartLine, s.Range.StartColumn, s.Range.StartByte, s.Range.EndLine, s.Range.EndColumn, s.Range.EndByte} {
			b = binary.AppendUvarint(b, uint64(v))
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// ErrVersion is returned (wrapped) by Decode for a program written by a
// different version of the encoding.
var ErrVersion = errors.New("program encoding version not supported")

// Decode reads a program from its binary form and verifies it. Any input,
// however damaged, yields either a verified program or an error.
func Decode(data []byte) (*Program, error) {
	if len(data) < len(magic)+4 || string(data[:len(magic)]) != string(magic) {
		return nil, errors.New("vm: not a callflow program (bad magic)")
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, errors.New("vm: program checksum mismatch: the program is damaged")
	}
	d := decoder{b: body[len(magic):]}
	if v := d.uvarint(); d.err == nil && v != Version {
		return nil, fmt.Errorf("vm: %w: program is version %d, this build runs version %d", ErrVersion, v, Version)
	}
	p := &Program{Flow: d.string()}
	n := d.count(2)
	for i := 0; i < n && d.err == nil; i++ {
		c := Const{Kind: ConstKind(d.byte()), Text: d.string()}
		if c.Kind == ConstQueue {
			c.MaxWaiting, c.Repeat, c.Announcement = d.uint32(), d.uint32(), d.uint32()
		}
		p.Consts = append(p.Consts, c)
	}
	if n := d.count(1); d.err == nil {
		p.Code = append([]byte(nil), d.bytes(n)...)
	}
	n = d.count(9)
	for i := 0; i < n && d.err == nil; i++ {
		s := StateInfo{Ref: d.string(), PC: d.uint32()}
		s.Range.Filename = d.string()
		s.Range.StartLine, s.Range.StartColumn, s.Range.StartByte = d.uint32(), d.uint32(), d.uint32()
		s.Range.EndLine, s.Range.EndColumn, s.Range.EndByte = d.uint32(), d.uint32(), d.uint32()
		p.States = append(p.States, s)
	}
	if d.err == nil && len(d.b) > 0 {
		d.fail("%d bytes of trailing data", len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	if err := p.Verify(); err != nil {
		return nil, err
	}
	return p, nil
}

// decoder reads from b and remembers the first error; later reads return
// zero values, so decoding code reads straight through.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("vm: decode at byte %d: %s", d.off+len(magic), fmt.Sprintf(format, args...))
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("truncated or overlong number")
		return 0
	}
	d.b, d.off = d.b[n:], d.off+n
	return v
}

func (d *decoder) uint32() uint32 {
	v := d.uvarint()
	if v > 1<<32-1 {
		d.fail("number %d out of range", v)
		return 0
	}
	return uint32(v)
}

// count reads a length whose items take at least minSize bytes each, and
// refuses one that the remaining input cannot hold, so that a damaged
// length cannot make the decoder allocate without bound.
func (d *decoder) count(minSize int) int {
	v := d.uvarint()
	if v > uint64(len(d.b)/minSize) {
		d.fail("count %d exceeds the remaining %d bytes", v, len(d.b))
		return 0
	}
	return int(v)
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.fail("truncated")
		return nil
	}
	v := d.b[:n]
	d.b, d.off = d.b[n:], d.off+n
	return v
}

func (d *decoder) byte() byte {
	if v := d.bytes(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) string() string { return string(d.bytes(d.count(1))) }
