// Command bridgecmp is the diago side of the bridge comparison: a child
// process for bench/relay's load generator that bridges each call with
// github.com/emiago/diago's Bridge (v0.42.1) instead of callflow's
// media.Bridge. It is a module of its own, so that diago and its
// dependencies never enter callflow's go.mod. See README.md for how to
// run it and what it measured.
//
// It speaks bench/relay's child protocol on standard input and output:
//
//	echo                    → ADDR           a plain Go UDP echo loop
//	bridge GEN_A GEN_B REC  → LEG_A LEG_B    a call bridged by diago (REC must be 0)
//	mark                    → JSON           counters, as bench/relay's child
//	stop                    → ok             ends every bridge
//
// Each leg is what diago's DialogMedia builds for an answered call, less
// the SIP: a MediaSession (an RTP and an RTCP socket), an RTPSession
// with its RTCP monitor (two goroutines), and an RTPPacketReader and
// RTPPacketWriter over it; the two legs go to diago.Bridge.AddAudioMedia
// and Bridge.ProxyMedia, diago's own media path for a bridged call
// (bridge.go: proxyMediaChannels, one goroutine a direction copying the
// reader into the writer).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"

	cfmedia "github.com/callflow/callflow/telephony/media"
)

// mark is bench/relay's child report.
type mark struct {
	CPU        time.Duration
	Goroutines int
	HeapInuse  uint64
	Mallocs    uint64
	Echoed     int64
	Stats      cfmedia.LegStats
}

type child struct {
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	relayed atomic.Int64
	closers []func()
}

func main() {
	// diago logs every proxy start and RTCP event at debug; keep it quiet.
	media.SetDefaultLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bridgecmp:", err)
		os.Exit(1)
	}
}

func run() error {
	c := &child{}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		var reply string
		var err error
		switch f[0] {
		case "bridge":
			if f[3] != "0" {
				return fmt.Errorf("diago's Bridge has no two-channel recorder of the legs' audio")
			}
			reply, err = c.bridge(f[1], f[2])
		case "mark":
			b, _ := json.Marshal(c.mark(len(f) > 1 && f[1] == "gc"))
			reply = string(b)
		case "stop":
			c.stop()
			reply = "ok"
		default:
			err = fmt.Errorf("unknown command %q", f[0])
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(out, reply)
		out.Flush()
	}
	c.stop()
	return in.Err()
}

// countingWriter counts the payloads diago's proxy writes.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	if err == nil {
		c.n.Add(1)
	}
	return n, err
}

// leg builds one answered leg as diago's DialogMedia does.
func (c *child) leg(gen string) (*diago.BridgeAudioMedia, string, error) {
	raddr, err := net.ResolveUDPAddr("udp", gen)
	if err != nil {
		return nil, "", err
	}
	rtpConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, "", err
	}
	rtcpConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, "", err
	}
	for _, conn := range []*net.UDPConn{rtpConn, rtcpConn} {
		conn.SetReadBuffer(4 << 20)
		conn.SetWriteBuffer(4 << 20)
	}
	sess := &media.MediaSession{Codecs: []media.Codec{media.CodecAudioUlaw, media.CodecTelephoneEvent8000}}
	sess.InitWithListeners(rtpConn, rtcpConn, raddr)
	rtpSess := media.NewRTPSession(sess)
	if err := rtpSess.MonitorBackground(); err != nil {
		return nil, "", err
	}
	m := &diago.BridgeAudioMedia{
		Reader: media.NewRTPPacketReaderSession(rtpSess),
		Writer: countingWriter{media.NewRTPPacketWriterSession(rtpSess), &c.relayed},
	}
	m.ReaderProps.Codec = media.CodecAudioUlaw
	m.WriterProps.Codec = media.CodecAudioUlaw
	// Stopping the bridge stops reading, as DialogMedia.StopRTP does.
	m.StopRTP = func() error { return rtpConn.SetReadDeadline(time.Now()) }
	m.StartRTP = func() error { return rtpConn.SetReadDeadline(time.Time{}) }
	c.closers = append(c.closers, func() { rtpSess.Close(); sess.Close() })
	return m, rtpConn.LocalAddr().String(), nil
}

func (c *child) bridge(genA, genB string) (string, error) {
	a, addrA, err := c.leg(genA)
	if err != nil {
		return "", err
	}
	b, addrB, err := c.leg(genB)
	if err != nil {
		return "", err
	}
	br := diago.NewBridge()
	br.WaitDialogsNum = 3 // start the proxy with ProxyMedia, under our context
	if err := br.AddAudioMedia(a); err != nil {
		return "", err
	}
	if err := br.AddAudioMedia(b); err != nil {
		return "", err
	}
	ctx := c.ctx
	c.wg.Go(func() {
		br.ProxyMedia(ctx)
	})
	stopB := b.StopRTP
	// ProxyMedia stops only the first leg's RTP; stop the second's too.
	c.closers = append([]func(){func() { stopB() }}, c.closers...)
	return addrA + " " + addrB, nil
}

func (c *child) mark(gc bool) mark {
	if gc {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return mark{
		CPU:        time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		Goroutines: runtime.NumGoroutine(),
		HeapInuse:  ms.HeapInuse,
		Mallocs:    ms.Mallocs,
		Stats:      cfmedia.LegStats{Relayed: c.relayed.Load()},
	}
}

func (c *child) stop() {
	c.cancel()
	for _, f := range c.closers {
		f()
	}
	c.wg.Wait()
	c.closers = nil
	c.ctx, c.cancel = context.WithCancel(context.Background())
}
