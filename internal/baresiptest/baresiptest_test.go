package baresiptest

import (
	"bufio"
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestNetstring(t *testing.T) {
	r := bufio.NewReader(bytes.NewReader(append(netstring([]byte(`{"a":1}`)), netstring(nil)...)))
	for _, want := range []string{`{"a":1}`, ""} {
		got, err := readNetstring(r)
		if err != nil || string(got) != want {
			t.Errorf("read %q, %v; want %q", got, err, want)
		}
	}
	for _, bad := range []string{"x:", "3:abc;", "-1:,"} {
		if _, err := readNetstring(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("%q read without an error", bad)
		}
	}
}

func TestTone(t *testing.T) {
	w := Tone(time.Second)
	if len(w) != 44+16000 || string(w[:4]) != "RIFF" || string(w[36:40]) != "data" {
		t.Errorf("a second of tone is %d bytes, header %q", len(w), w[:44])
	}
}

// A phone starts, answers commands, and reports a call that fails: the
// server it dials is not there.
func TestPhone(t *testing.T) {
	p := New(t, Options{SIPPort: 16290, CtrlPort: 16295, RTPPorts: [2]int{47200, 47209}, Server: "127.0.0.1:16299", Transport: "tcp"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Do(ctx, "dial", "sip:+14155550100@127.0.0.1:16299"); err != nil {
		t.Fatal(err)
	}
	if e, err := p.Wait(ctx, "CALL_CLOSED"); err != nil {
		t.Fatal(err)
	} else if e.Param == "" {
		t.Errorf("CALL_CLOSED %+v: no reason", e)
	}
	if err := p.Do(ctx, "nosuchcommand", ""); err == nil {
		t.Error("an unknown command succeeded")
	}
}
