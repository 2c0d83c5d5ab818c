package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/callflow/callflow/internal/wav"
	"github.com/callflow/callflow/telephony/media"
)

// The child is the process under measurement: it runs echo loops or
// bridges on commands read from standard input, one a line, and answers
// each on standard output, so that its CPU, goroutines and heap are its
// own and not the load generator's.
//
//	echo                    → ADDR           a plain Go UDP echo loop
//	bridge GEN_A GEN_B REC  → LEG_A LEG_B    a bridged call; REC 1 records it
//	mark                    → JSON           counters (see mark)
//	stop                    → ok             ends every bridge and echo loop
type child struct {
	pacer   media.Pacer
	dir     string // recordings, removed on exit
	echoed  atomic.Int64
	wg      sync.WaitGroup // the bridges' Runs
	echoes  sync.WaitGroup // the echo loops
	cancel  context.CancelFunc
	ctx     context.Context
	bridges []*media.Bridge
	closers []func()
}

// mark is what the child reports: its CPU since it started, and what it
// holds now.
type mark struct {
	CPU        time.Duration // utime+stime, getrusage(RUSAGE_SELF)
	Goroutines int
	HeapInuse  uint64 // after a GC when asked for: what is live
	Mallocs    uint64
	Echoed     int64
	Stats      media.LegStats // summed over every leg of every bridge
}

func runChild() error {
	dir, err := os.MkdirTemp("", "relay-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	c := &child{dir: dir}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		var reply string
		switch f[0] {
		case "echo":
			reply, err = c.echo()
		case "bridge":
			reply, err = c.bridge(f[1], f[2], f[3] == "1")
		case "mark":
			m := c.mark(len(f) > 1 && f[1] == "gc")
			b, _ := json.Marshal(m)
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
	c.pacer.Close()
	return in.Err()
}

func listenLoopback() (*net.UDPConn, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err == nil {
		// Room for a scheduling hiccup's worth of packets at full rate.
		conn.SetReadBuffer(4 << 20)
		conn.SetWriteBuffer(4 << 20)
	}
	return conn, err
}

// echo starts a plain Go UDP echo loop: read a datagram, write it back
// to its sender, in one goroutine.
func (c *child) echo() (string, error) {
	conn, err := listenLoopback()
	if err != nil {
		return "", err
	}
	c.closers = append(c.closers, func() { conn.Close() })
	c.echoes.Go(func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			conn.WriteToUDPAddrPort(buf[:n], from)
			c.echoed.Add(1)
		}
	})
	return conn.LocalAddr().String(), nil
}

// bridge starts a bridged call between the generator's endpoints genA
// and genB: two local sockets, two Streams on the shared pacer, two
// latches, and (when rec) a two-channel WAV file.
func (c *child) bridge(genA, genB string, rec bool) (string, error) {
	var legs [2]media.Leg
	var local [2]string
	for i, gen := range []string{genA, genB} {
		remote, err := net.ResolveUDPAddr("udp", gen)
		if err != nil {
			return "", err
		}
		conn, err := listenLoopback()
		if err != nil {
			return "", err
		}
		s := media.NewStream(conn, remote, media.PayloadPCMU, nil)
		c.pacer.Add(s)
		c.closers = append(c.closers, func() { s.Close(); <-s.Done(); conn.Close() })
		legs[i] = media.Leg{Conn: conn, Stream: s, Latch: media.NewLatch(remote.AddrPort(), remote.AddrPort().Addr()), Codec: media.PayloadPCMU, DTMFType: 101}
		local[i] = conn.LocalAddr().String()
	}
	var opts media.BridgeOptions
	if rec {
		f, err := os.Create(filepath.Join(c.dir, fmt.Sprintf("call%d.wav", len(c.bridges))))
		if err != nil {
			return "", err
		}
		w, err := wav.NewWriter(f, media.SampleRate, 2)
		if err != nil {
			return "", err
		}
		r := media.NewRecorder(w)
		opts.Recorder = r
		c.closers = append(c.closers, func() { r.Close(); w.Close(); f.Close(); os.Remove(f.Name()) })
	}
	br := media.NewBridge(legs[0], legs[1], opts)
	c.bridges = append(c.bridges, br)
	started := make(chan struct{})
	c.wg.Go(func() {
		close(started)
		br.Run(c.ctx)
	})
	<-started
	return local[0] + " " + local[1], nil
}

func (c *child) mark(gc bool) mark {
	var m mark
	if gc {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.HeapInuse, m.Mallocs = ms.HeapInuse, ms.Mallocs
	m.Goroutines = runtime.NumGoroutine()
	m.Echoed = c.echoed.Load()
	for _, br := range c.bridges {
		st := br.Stats()
		for _, l := range []media.LegStats{st.A, st.B} {
			m.Stats.In += l.In
			m.Stats.Relayed += l.Relayed
			m.Stats.Dropped += l.Dropped
			m.Stats.Rejected += l.Rejected
			m.Stats.Held += l.Held
		}
	}
	m.CPU = selfCPU()
	return m
}

func (c *child) stop() {
	c.cancel()
	c.wg.Wait() // bridges end on ctx
	for _, f := range c.closers {
		f()
	}
	c.echoes.Wait() // echo loops end once their sockets close
	c.closers, c.bridges = nil, nil
	c.ctx, c.cancel = context.WithCancel(context.Background())
}

// selfCPU is the process's user and system CPU so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
