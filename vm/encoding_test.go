package vm_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/callflow/callflow/vm"
)

// testPrograms returns valid programs of several shapes, verified.
func testPrograms(t testing.TB) map[string]*vm.Program {
	t.Helper()
	progs := map[string]*vm.Program{}
	p, err := supportFlow()
	if err != nil {
		t.Fatal(err)
	}
	progs["support"] = p

	// The smallest program: one hang-up, no constants, an empty flow name.
	progs["minimal"] = &vm.Program{Code: ins(vm.HANGUP, 0), States: []vm.StateInfo{{Ref: "s", PC: 0}}}

	// Every constant kind, large operands and a long jump whose target
	// needs a three-byte varint.
	long := []byte{byte(vm.ANSWER)}
	long = append(long, ins(vm.JUMP, 20001)...) // five bytes, so the PLAYs start at odd offsets
	for len(long) < 20000 {
		long = append(long, ins(vm.PLAY, cPlay)...)
	}
	long = append(long, ins(vm.RECORD, vm.NoPrompt, vm.MaxSeconds, vm.MaxSeconds)...)
	long = append(long, ins(vm.HANGUP, 3)...)
	progs["long"] = &vm.Program{
		Flow:   "long ☎ flow",
		Consts: pool(),
		Code:   long,
		States: []vm.StateInfo{
			{Ref: "announce.start", PC: 0, Range: vm.Range{Filename: "a.hcl", StartLine: 1<<32 - 1, StartColumn: 2, StartByte: 3, EndLine: 4, EndColumn: 5, EndByte: 1 << 31}},
			{Ref: "voicemail.end", PC: 20001},
		},
	}
	for name, p := range progs {
		if err := p.Verify(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return progs
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for name, p := range testPrograms(t) {
		t.Run(name, func(t *testing.T) {
			data := p.Encode()
			q, err := vm.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			// DeepEqual also compares what Verify computed.
			if !reflect.DeepEqual(p, q) {
				t.Errorf("decoded program differs:\n got %+v\nwant %+v", q, p)
			}
			if q.LongestPath() != p.LongestPath() {
				t.Errorf("longest path %d, want %d", q.LongestPath(), p.LongestPath())
			}
			want, err := p.Disassemble()
			if err != nil {
				t.Fatal(err)
			}
			got, err := q.Disassemble()
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("disassembly differs after the round trip:\n%s", lineDiff(want, got))
			}
			if again := q.Encode(); !bytes.Equal(again, data) {
				t.Errorf("encoding the decoded program gives different bytes")
			}
			var m vm.Machine
			if err := m.Init(q, nil); err != nil {
				t.Errorf("decoded program: Init: %v", err)
			}
			// The program must not alias the input, which a loader may
			// reuse.
			for i := range data {
				data[i] = 0xaa
			}
			if after, _ := q.Disassemble(); after != want || !reflect.DeepEqual(p, q) {
				t.Error("overwriting the input changed the decoded program")
			}
		})
	}
}

// TestEncodeLayout pins the layout the comment in encoding.go describes,
// so that a change to it must bump Version.
func TestEncodeLayout(t *testing.T) {
	p := &vm.Program{
		Flow: "f",
		Consts: []vm.Const{
			{Kind: vm.ConstSay, Text: "hi"},
			{Kind: vm.ConstQueue, MaxWaiting: 2, Repeat: 3, Announcement: vm.NoPrompt},
		},
		Code:   cat(ins(vm.QUEUE, 1), ins(vm.HANGUP, 0)),
		States: []vm.StateInfo{{Ref: "q", PC: 0, Range: vm.Range{Filename: "x", StartLine: 1, StartColumn: 2, StartByte: 3, EndLine: 4, EndColumn: 5, EndByte: 300}}},
	}
	body := []byte("CFVM")
	body = append(body, vm.Version)
	body = append(body, 1, 'f')
	body = append(body, 2, byte(vm.ConstSay), 2, 'h', 'i', byte(vm.ConstQueue), 0, 2, 3, 0xff, 0xff, 0xff, 0xff, 0x0f)
	body = append(body, 4, byte(vm.QUEUE), 1, byte(vm.HANGUP), 0)
	body = append(body, 1, 1, 'q', 0, 1, 'x', 1, 2, 3, 4, 5, 0xac, 0x02)
	if got, want := p.Encode(), withCRC(body); !bytes.Equal(got, want) {
		t.Errorf("Encode:\n got % x\nwant % x", got, want)
	}
	if _, err := vm.Decode(withCRC(body)); err != nil {
		t.Errorf("Decode: %v", err)
	}
}

// valid returns the encoding of the support flow without its checksum.
func validBody(t *testing.T) []byte {
	t.Helper()
	p, err := supportFlow()
	if err != nil {
		t.Fatal(err)
	}
	data := p.Encode()
	return data[:len(data)-4]
}

// header is magic, version and a flow name, the start of every body.
func header(version uint64) []byte {
	b := binary.AppendUvarint([]byte("CFVM"), version)
	return append(b, 1, 'f')
}

func TestDecodeDamaged(t *testing.T) {
	body := validBody(t)
	huge := uint64(1) << 62
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "bad magic"},
		{"shorter than magic and checksum", []byte("CFVM123"), "bad magic"},
		{"bad magic", withCRC(append([]byte("CFVX"), body[4:]...)), "bad magic"},
		{"lower-case magic", withCRC(append([]byte("cfvm"), body[4:]...)), "bad magic"},
		{"checksum mismatch", append(append([]byte(nil), body...), 0, 0, 0, 0), "checksum mismatch"},
		{"checksum byte flipped", flip(withCRC(body), len(body)+2), "checksum mismatch"},
		{"code byte flipped", flip(withCRC(body), len(body)/2), "checksum mismatch"},
		{"file cut short", withCRC(body)[:len(body)], "checksum mismatch"},
		{"nothing after magic", withCRC([]byte("CFVM")), "truncated or overlong number"},
		{"overlong version", withCRC(append([]byte("CFVM"), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)), "truncated or overlong number"},
		{"truncated", withCRC(body[:len(body)-1]), "decode at byte"},
		{"trailing data", withCRC(append(append([]byte(nil), body...), 0)), "1 bytes of trailing data"},
		{"more trailing data", withCRC(append(append([]byte(nil), body...), "junk"...)), "4 bytes of trailing data"},
		{"huge flow name", withCRC(binary.AppendUvarint(header(vm.Version)[:5], huge)), "count 4611686018427387904 exceeds the remaining 0 bytes"},
		{"huge constant count", withCRC(binary.AppendUvarint(header(vm.Version), huge)), "count 4611686018427387904 exceeds"},
		{"constant count beyond input", withCRC(append(header(vm.Version), 3, byte(vm.ConstSay), 0, byte(vm.ConstSay), 0)), "count 3 exceeds the remaining 4 bytes"},
		{"huge text", withCRC(binary.AppendUvarint(append(header(vm.Version), 1, byte(vm.ConstSay)), huge)), "exceeds"},
		{"huge code count", withCRC(binary.AppendUvarint(append(header(vm.Version), 0), huge)), "exceeds"},
		{"code count beyond input", withCRC(append(header(vm.Version), 0, 3, byte(vm.HANGUP), 0)), "count 3 exceeds the remaining 2 bytes"},
		{"huge state count", withCRC(binary.AppendUvarint(append(header(vm.Version), 0, 2, byte(vm.HANGUP), 0), huge)), "exceeds"},
		{"state count beyond input", withCRC(append(header(vm.Version), 0, 2, byte(vm.HANGUP), 0, 2, 1, 's', 0, 0, 0, 0, 0, 0, 0, 0)), "count 2 exceeds the remaining 10 bytes"},
		{"state pc past 32 bits", withCRC(append(binary.AppendUvarint(append(header(vm.Version), 0, 2, byte(vm.HANGUP), 0, 1, 1, 's'), 1<<32), 0, 0, 0, 0, 0, 0, 0)), "number 4294967296 out of range"},
		{"queue field past 32 bits", withCRC(binary.AppendUvarint(append(header(vm.Version), 1, byte(vm.ConstQueue), 0, 1, 1), 1<<40)), "out of range"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := vm.Decode(c.data)
			if err == nil {
				t.Fatalf("Decode accepted it: %+v", p)
			}
			if p != nil {
				t.Errorf("Decode returned a program with the error %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "vm: ") {
				t.Errorf("error %q does not start with vm:", err)
			}
			if errors.Is(err, vm.ErrVersion) {
				t.Errorf("error %q wraps ErrVersion", err)
			}
			var ve *vm.VerifyError
			if errors.As(err, &ve) {
				t.Errorf("a damaged encoding gave a verify error: %v", err)
			}
		})
	}
}

func TestDecodeEveryTruncation(t *testing.T) {
	body := validBody(t)
	for n := len("CFVM"); n < len(body); n++ {
		_, err := vm.Decode(withCRC(body[:n]))
		if err == nil || !strings.Contains(err.Error(), "vm: decode at byte") {
			t.Errorf("body cut to %d of %d bytes: got %v, want a decode error", n, len(body), err)
		}
	}
}

func TestDecodeEveryFlippedByte(t *testing.T) {
	data := withCRC(validBody(t))
	for i := range data {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			d := append([]byte(nil), data...)
			d[i] ^= mask
			_, err := vm.Decode(d)
			want := "checksum mismatch"
			if i < 4 {
				want = "bad magic"
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("byte %d ^ %#x: got %v, want %q", i, mask, err, want)
			}
		}
	}
}

func TestDecodeVersion(t *testing.T) {
	body := validBody(t)
	if body[4] != vm.Version {
		t.Fatalf("version byte is %d, want %d", body[4], vm.Version)
	}
	for _, v := range []uint64{0, vm.Version + 1, 1 << 40} {
		d := binary.AppendUvarint([]byte("CFVM"), v)
		d = append(d, body[5:]...)
		_, err := vm.Decode(withCRC(d))
		if !errors.Is(err, vm.ErrVersion) {
			t.Errorf("version %d: got %v, want an error wrapping ErrVersion", v, err)
			continue
		}
		for _, want := range []string{"version " + strconv.FormatUint(v, 10), "version " + strconv.Itoa(vm.Version)} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("version %d: error %q does not mention %q", v, err, want)
			}
		}
	}
}

// TestDecodeVerifies checks that a well-formed encoding of an invalid
// program is refused with the verifier's error.
func TestDecodeVerifies(t *testing.T) {
	for _, c := range []struct {
		name string
		p    *vm.Program
		want string
	}{
		{"backward jump", rawProgram(cat(ins(vm.ANSWER), ins(vm.JUMP, 0))), "backward jump"},
		{"no code", &vm.Program{States: []vm.StateInfo{{Ref: "s"}}}, "no code"},
		{"unknown constant kind", &vm.Program{Consts: []vm.Const{{Kind: 9, Text: "x"}}, Code: ins(vm.HANGUP, 0), States: []vm.StateInfo{{Ref: "s"}}}, "unknown kind 9"},
		{"no states", &vm.Program{Code: ins(vm.HANGUP, 0)}, "no state table"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := vm.Decode(c.p.Encode())
			var ve *vm.VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a *VerifyError", err)
			}
			if !strings.Contains(ve.Msg, c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	b = append([]byte(nil), b...)
	b[i] ^= 0x55
	return b
}
