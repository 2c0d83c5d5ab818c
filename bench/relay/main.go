// Command relay measures the media relay of bridged calls
// (telephony/media.Bridge), in a child process of its own so that the
// load generator's CPU is not counted as the relay's:
//
//	go run ./bench/relay [-mode all|throughput|calls] [-repeat 3] [-pps-time 2s]
//	    [-calls 500,1000,2000] [-record both|off|on] [-warm 2s] [-measure 10s]
//	    [-gen-sockets 0] [-timeout 20m]
//
// Throughput. A plain Go UDP echo loop (read a datagram, write it back to
// its sender, one goroutine) and a bridged call (one leg's socket read by
// the bridge, relayed out on the other leg's Stream) are each loaded by
// the generator with 172-byte RTP packets (20 ms of G.711), 64 in flight,
// for -pps-time; each is measured in a fresh child process, alternating
// echo, relay, echo, relay… -repeat times. Packets per second per core
// is packets handled over the child's CPU time (utime+stime, getrusage);
// the report gives the median of each and their ratio. Both do one
// recvfrom and one sendto a packet; the relay adds parsing, the latch,
// the counters and the Stream's lock.
//
// Calls. For each number of calls, with and without recording, a fresh
// child bridges that many calls; the generator has two endpoints per
// call, each sending a 172-byte packet every 20 ms (in 10 staggered
// shards) and checking that every packet the other endpoint sent comes
// back, by a counter in the payload, and how long the relay took, by the
// time of sending in the payload (the median and 99th percentile, in
// 100 µs steps). After -warm it measures -measure:
// the child's CPU per call (utime+stime over the time, per call, in % of
// a core), its goroutines and live heap (after a GC) per call above the
// idle child's, the packets lost (sent and never received, after a
// drain), and the generator's own CPU, since it shares the machine's
// cores with the relay. -gen-sockets 0 gives every endpoint a socket of
// its own (a phone each); N > 0 shares N sockets a side among the calls,
// which costs the generator far less (one reader goroutine a socket
// instead of one an endpoint), while the relay still has two sockets a
// call. Recordings go to two-channel WAV files in a temporary directory,
// removed at the end.
//
// Everything runs on 127.0.0.1 with ports from port 0, and ends within
// -timeout.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	isChild := flag.Bool("child", false, "run as the measured child (internal)")
	mode := flag.String("mode", "all", "all, throughput or calls")
	repeat := flag.Int("repeat", 3, "throughput trials of each, alternating")
	ppsTime := flag.Duration("pps-time", 2*time.Second, "each throughput trial's measured time")
	callsFlag := flag.String("calls", "500,1000,2000", "numbers of concurrent bridged calls")
	record := flag.String("record", "both", "calls recorded: off, on or both")
	warm := flag.Duration("warm", 2*time.Second, "load before measuring calls")
	measure := flag.Duration("measure", 10*time.Second, "each calls run's measured time")
	genSockets := flag.Int("gen-sockets", 0, "generator sockets a side; 0 is one an endpoint")
	timeout := flag.Duration("timeout", 20*time.Minute, "the whole run's limit")
	diagoBin := flag.String("diago", "", "bench/bridgecmp's binary: measure diago's bridge too")
	flag.Parse()
	if *isChild {
		if err := runChild(); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		return
	}
	time.AfterFunc(*timeout, func() {
		fmt.Fprintln(os.Stderr, "relay: timed out")
		os.Exit(2)
	})
	self, err := os.Executable()
	if err != nil {
		fail(err)
	}
	impls := []impl{{"callflow", []string{self, "-child"}}}
	if *diagoBin != "" {
		impls = append(impls, impl{"diago", []string{*diagoBin}})
	}
	if *mode == "all" || *mode == "throughput" {
		if err := throughputs(impls, *repeat, *ppsTime); err != nil {
			fail(err)
		}
	}
	if *mode == "all" || *mode == "calls" {
		var recs []bool
		switch *record {
		case "off":
			recs = []bool{false}
		case "on":
			recs = []bool{true}
		default:
			recs = []bool{false, true}
		}
		fmt.Printf("\nimpl      calls  rec  child CPU  per call   gen CPU  goroutines/call  heap/call  allocs/pkt  delay p50/p99  sent pps  lost  late  dropped  rejected\n")
		for _, f := range strings.Split(*callsFlag, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				fail(err)
			}
			for _, rec := range recs {
				for _, im := range impls {
					if rec && im.name == "diago" {
						continue // diago's Bridge records nothing
					}
					r, err := calls(im, n, rec, *warm, *measure, *genSockets)
					if err != nil {
						fail(err)
					}
					fmt.Println(r)
				}
			}
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "relay:", err)
	os.Exit(1)
}

// proc is the child process.
type proc struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

// impl is a relay to measure: the command of its child process.
type impl struct {
	name string
	argv []string
}

func startChild(im impl) (*proc, error) {
	cmd := exec.Command(im.argv[0], im.argv[1:]...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return &proc{cmd: cmd, in: in, out: sc}, nil
}

func (p *proc) do(line string) (string, error) {
	if _, err := fmt.Fprintln(p.in, line); err != nil {
		return "", err
	}
	if !p.out.Scan() {
		return "", fmt.Errorf("the child ended (%v) after %q", p.out.Err(), line)
	}
	return p.out.Text(), nil
}

func (p *proc) mark(gc bool) (mark, error) {
	cmd := "mark"
	if gc {
		cmd = "mark gc"
	}
	var m mark
	line, err := p.do(cmd)
	if err == nil {
		err = json.Unmarshal([]byte(line), &m)
	}
	return m, err
}

func (p *proc) close() error {
	p.in.Close()
	return p.cmd.Wait()
}

// The generator's packets: an RTP header, then a payload of 160 bytes
// that begins with a magic word, the call, the sending side and a
// counter.
const (
	packetSize = 12 + 160
	magic      = 0xCF0B1D6E
)

// epoch is the generator's clock: a packet carries when it was sent, on
// the monotonic clock, so that its reader measures the relay's delay.
var epoch = time.Now()

// delays is a histogram of the relay's delays in 100 µs buckets, the
// last one 50 ms and more.
type delays [501]atomic.Int64

func (d *delays) add(sent time.Duration) {
	d[min(int((time.Since(epoch)-sent)/(100*time.Microsecond)), len(d)-1)].Add(1)
}

// quantile is the delay below which q of the packets came.
func (d *delays) quantile(q float64) time.Duration {
	var total int64
	for i := range d {
		total += d[i].Load()
	}
	var seen int64
	for i := range d {
		if seen += d[i].Load(); float64(seen) >= q*float64(total) {
			return time.Duration(i+1) * 100 * time.Microsecond
		}
	}
	return 0
}

func fillPacket(b []byte, seq uint16, ts, ssrc uint32, call uint32, side byte, counter uint32) {
	binary.BigEndian.PutUint64(b[12+13:], uint64(time.Since(epoch)))
	b[0], b[1] = 0x80, 0 // version 2, PCMU
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	p := b[12:]
	binary.BigEndian.PutUint32(p[0:], magic)
	binary.BigEndian.PutUint32(p[4:], call)
	p[8] = side
	binary.BigEndian.PutUint32(p[9:], counter)
}

func listen() (*net.UDPConn, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err == nil {
		conn.SetReadBuffer(4 << 20)
		conn.SetWriteBuffer(4 << 20)
	}
	return conn, err
}

// throughputs alternates echo and relay trials and reports the medians.
func throughputs(impls []impl, repeat int, d time.Duration) error {
	fmt.Printf("throughput: 172-byte RTP packets, 64 in flight, %s a trial, median of %d\n", d, repeat)
	var perCore = map[string][]float64{}
	kinds := []string{"echo"}
	for _, im := range impls {
		kinds = append(kinds, im.name)
	}
	for i := range repeat {
		for k, kind := range kinds {
			im, what := impls[0], "relay"
			if k == 0 {
				what = "echo"
			} else {
				im = impls[k-1]
			}
			t, err := throughput(im, what, d)
			if err != nil {
				return err
			}
			perCore[kind] = append(perCore[kind], t.perCore)
			fmt.Printf("  trial %d %-8s %8.0f packets/s, child %.2f cores, %8.0f packets/s per core, %.2f allocs/packet, gen %.2f cores\n",
				i+1, kind, t.pps, t.cores, t.perCore, t.allocs, t.genCores)
		}
	}
	echo := median(perCore["echo"])
	fmt.Printf("median packets/s per core: echo %.0f", echo)
	for _, k := range kinds[1:] {
		fmt.Printf(", %s %.0f (%.2f× echo)", k, median(perCore[k]), median(perCore[k])/echo)
	}
	fmt.Printf("; target for callflow ≥ 0.70× echo\n")
	return nil
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v) == 0 {
		return 0
	}
	return v[len(v)/2]
}

type trial struct{ pps, cores, perCore, allocs, genCores float64 }

// throughput loads one fresh child's echo loop or bridged call.
func throughput(im impl, kind string, d time.Duration) (trial, error) {
	p, err := startChild(im)
	if err != nil {
		return trial{}, err
	}
	defer p.close()
	tx, err := listen()
	if err != nil {
		return trial{}, err
	}
	defer tx.Close()
	rx := tx
	var target string
	if kind == "echo" {
		target, err = p.do("echo")
	} else {
		if rx, err = listen(); err != nil {
			return trial{}, err
		}
		defer rx.Close()
		var legs string
		legs, err = p.do(fmt.Sprintf("bridge %s %s 0", tx.LocalAddr(), rx.LocalAddr()))
		target, _, _ = strings.Cut(legs, " ")
	}
	if err != nil {
		return trial{}, err
	}
	dst, err := netip.ParseAddrPort(target)
	if err != nil {
		return trial{}, err
	}
	const window = 64
	tokens := make(chan struct{}, window)
	for range window {
		tokens <- struct{}{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var received atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() { // the receiver gives back a token for each packet
		buf := make([]byte, 1500)
		for ctx.Err() == nil {
			rx.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			if _, _, err := rx.ReadFromUDPAddrPort(buf); err != nil {
				for len(tokens) < window/2 { // lost: put the window back
					tokens <- struct{}{}
				}
				continue
			}
			received.Add(1)
			select {
			case tokens <- struct{}{}:
			default:
			}
		}
	})
	wg.Go(func() {
		b := make([]byte, packetSize)
		for i := uint32(0); ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tokens:
			}
			fillPacket(b, uint16(i), i*160, 0x5EED, 0, 0, i)
			tx.WriteToUDPAddrPort(b, dst)
		}
	})
	defer func() { cancel(); wg.Wait() }()
	time.Sleep(300 * time.Millisecond) // warm up
	m1, err := p.mark(false)
	if err != nil {
		return trial{}, err
	}
	r1, g1, t1 := received.Load(), selfCPU(), time.Now()
	time.Sleep(d)
	m2, err := p.mark(false)
	if err != nil {
		return trial{}, err
	}
	r2, g2, t2 := received.Load(), selfCPU(), time.Now()
	n := float64(r2 - r1)
	cpu := (m2.CPU - m1.CPU).Seconds()
	wall := t2.Sub(t1).Seconds()
	return trial{
		pps: n / wall, cores: cpu / wall, perCore: n / cpu,
		allocs: float64(m2.Mallocs-m1.Mallocs) / n, genCores: (g2 - g1).Seconds() / wall,
	}, nil
}

// endpoint is one side of one call in the generator.
type endpoint struct {
	conn     *net.UDPConn
	connIdx  int            // into conns, when the generator's sockets are shared
	dst      netip.AddrPort // the relay's leg socket it sends to
	ssrc     uint32
	sent     atomic.Uint32 // packets sent (its counter)
	expect   uint32        // the next counter from the other side; its reader's only
	received atomic.Int64
	lost     atomic.Int64 // counters skipped
	late     atomic.Int64 // counters that came after a later one
}

type callsResult struct {
	impl                       string
	allocs                     float64 // per relayed packet
	n                          int
	rec                        bool
	childCores, genCores       float64
	goroutines, heap           float64
	sentPPS                    float64
	sent, received, lost, late int64
	dropped, rejected          int64
	p50, p99                   time.Duration // the relay's delay
	machine                    float64       // cores busy on the whole machine
	load                       string        // the 1-minute load average after
}

func (r callsResult) String() string {
	rec := "off"
	if r.rec {
		rec = "on"
	}
	perCall := 100 * r.childCores / float64(r.n)
	return fmt.Sprintf("%-8s  %5d  %-3s  %5.2f cores  %6.4f%%  %5.2f cores  %15.2f  %6.1f KiB  %10.2f  %5.1f/%5.1f ms  %8.0f  %4d  %4d  %7d  %8d   machine %.2f cores busy, load %s (sent %d, received %d)",
		r.impl, r.n, rec, r.childCores, perCall, r.genCores, r.goroutines, r.heap/1024, r.allocs, float64(r.p50)/1e6, float64(r.p99)/1e6, r.sentPPS, r.lost, r.late, r.dropped, r.rejected, r.machine, r.load, r.sent, r.received)
}

// calls runs n bridged calls in a fresh child and measures them.
func calls(im impl, n int, rec bool, warm, measure time.Duration, genSockets int) (callsResult, error) {
	res := callsResult{impl: im.name, n: n, rec: rec}
	p, err := startChild(im)
	if err != nil {
		return res, err
	}
	defer p.close()
	base, err := p.mark(true)
	if err != nil {
		return res, err
	}
	// The generator's sockets.
	var conns []*net.UDPConn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	shared := [2][]*net.UDPConn{}
	for side := range 2 {
		for range genSockets {
			c, err := listen()
			if err != nil {
				return res, err
			}
			conns = append(conns, c)
			shared[side] = append(shared[side], c)
		}
	}
	eps := make([]endpoint, 2*n) // call i's sides are 2i and 2i+1
	byConn := map[*net.UDPConn]bool{}
	for i := range eps {
		e := &eps[i]
		e.ssrc = uint32(i + 1)
		if genSockets > 0 {
			e.conn = shared[i%2][(i/2)%genSockets]
			e.connIdx = (i%2)*genSockets + (i/2)%genSockets
		} else {
			if e.conn, err = listen(); err != nil {
				return res, fmt.Errorf("endpoint %d: %w", i, err)
			}
			conns = append(conns, e.conn)
		}
		byConn[e.conn] = true
	}
	recFlag := "0"
	if rec {
		recFlag = "1"
	}
	for i := range n {
		legs, err := p.do(fmt.Sprintf("bridge %s %s %s", eps[2*i].conn.LocalAddr(), eps[2*i+1].conn.LocalAddr(), recFlag))
		if err != nil {
			return res, err
		}
		a, b, _ := strings.Cut(legs, " ")
		if eps[2*i].dst, err = netip.ParseAddrPort(a); err != nil {
			return res, err
		}
		if eps[2*i+1].dst, err = netip.ParseAddrPort(b); err != nil {
			return res, err
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var readers sync.WaitGroup
	var total atomic.Int64
	var delay delays
	for c := range byConn {
		readers.Go(func() { readEndpoints(c, eps, &total, &delay, genSockets > 0) })
	}
	defer func() {
		for c := range byConn {
			c.SetReadDeadline(time.Now())
		}
		readers.Wait()
	}()
	// Senders: 10 shards, 2 ms apart, each sending one packet of each of
	// its endpoints every 20 ms.
	const shards = 10
	var senders sync.WaitGroup
	for s := range shards {
		senders.Go(func() {
			t := time.NewTimer(time.Duration(s) * 2 * time.Millisecond)
			<-t.C
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			b := make([]byte, packetSize)
			var batches []*batch // by shared socket
			for range conns {
				batches = append(batches, newBatch(256, packetSize))
			}
			for {
				for i := s; i < len(eps); i += shards {
					e := &eps[i]
					k := e.sent.Load()
					if genSockets == 0 {
						fillPacket(b, uint16(k), k*160, e.ssrc, uint32(i/2), byte(i%2), k)
						if _, err := e.conn.WriteToUDPAddrPort(b, e.dst); err == nil {
							e.sent.Add(1)
						}
						continue
					}
					bt := batches[e.connIdx]
					buf, ok := bt.add(e.dst, packetSize)
					if !ok {
						bt.send(e.conn)
						buf, _ = bt.add(e.dst, packetSize)
					}
					fillPacket(buf, uint16(k), k*160, e.ssrc, uint32(i/2), byte(i%2), k)
					e.sent.Add(1) // a batch that fails is the run's failure, seen as lost
				}
				for j, bt := range batches {
					if bt.n > 0 {
						bt.send(conns[j])
					}
				}
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		})
	}
	sentTotal := func() int64 {
		var s int64
		for i := range eps {
			s += int64(eps[i].sent.Load())
		}
		return s
	}
	time.Sleep(warm)
	m1, err := p.mark(false)
	if err != nil {
		return res, err
	}
	g1, s1, t1, busy1 := selfCPU(), sentTotal(), time.Now(), machineBusy()
	time.Sleep(measure)
	m2, err := p.mark(false)
	if err != nil {
		return res, err
	}
	g2, s2, t2, busy2 := selfCPU(), sentTotal(), time.Now(), machineBusy()
	// Stop sending before the GC of the heap's reading, which an
	// overloaded child may take long over; the calls stay up.
	cancel()
	senders.Wait()
	// Drain: wait until nothing more arrives for 300 ms (at most 5 s).
	for deadline, last := time.Now().Add(5*time.Second), int64(-1); time.Now().Before(deadline); {
		cur := total.Load()
		if cur == last {
			break
		}
		last = cur
		time.Sleep(300 * time.Millisecond)
	}
	live, err := p.mark(true)
	if err != nil {
		return res, err
	}
	wall := t2.Sub(t1).Seconds()
	res.machine = (busy2 - busy1).Seconds() / wall
	res.load = loadAverage()
	res.childCores = (m2.CPU - m1.CPU).Seconds() / wall
	res.genCores = (g2 - g1).Seconds() / wall
	res.sentPPS = float64(s2-s1) / wall
	res.goroutines = float64(live.Goroutines-base.Goroutines) / float64(n)
	res.heap = (float64(live.HeapInuse) - float64(base.HeapInuse)) / float64(n)
	res.dropped, res.rejected = live.Stats.Dropped, live.Stats.Rejected
	if relayed := m2.Stats.Relayed - m1.Stats.Relayed; relayed > 0 {
		res.allocs = float64(m2.Mallocs-m1.Mallocs) / float64(relayed)
	}
	for i := range eps {
		e, other := &eps[i], &eps[i^1]
		res.sent += int64(other.sent.Load())
		res.received += e.received.Load()
		res.late += e.late.Load()
	}
	res.lost = res.sent - res.received
	res.p50, res.p99 = delay.quantile(0.5), delay.quantile(0.99)
	if _, err := p.do("stop"); err != nil {
		return res, err
	}
	return res, nil
}

// readEndpoints reads what the relay sends to c and checks, for each
// endpoint, that the other side's counters arrive one after another.
func readEndpoints(c *net.UDPConn, eps []endpoint, total *atomic.Int64, delay *delays, batched bool) {
	if batched {
		bt := newBatch(64, 1500)
		for {
			n, err := bt.receive(c)
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() || errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			for i := range n {
				check(bt.bufs[i][:bt.msgs[i].len], eps, total, delay)
			}
		}
	}
	buf := make([]byte, 1500)
	for {
		n, _, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return // the run is over
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		check(buf[:n], eps, total, delay)
	}
}

// check counts one packet the relay sent to an endpoint.
func check(buf []byte, eps []endpoint, total *atomic.Int64, delay *delays) {
	{
		if len(buf) != packetSize || binary.BigEndian.Uint32(buf[12:]) != magic {
			return // the pacer's silence before the bridge started
		}
		call, side, counter := binary.BigEndian.Uint32(buf[16:]), buf[20], binary.BigEndian.Uint32(buf[21:])
		i := int(2*call) + int(side^1) // the receiving endpoint
		if i >= len(eps) {
			return
		}
		e := &eps[i]
		switch {
		case counter == e.expect:
			e.expect++
		case counter > e.expect:
			e.lost.Add(int64(counter - e.expect))
			e.expect = counter + 1
		default:
			e.late.Add(1)
		}
		e.received.Add(1)
		total.Add(1)
		delay.add(time.Duration(binary.BigEndian.Uint64(buf[12+13:])))
	}
}

// machineBusy is the CPU time every core of the machine has spent on
// anything but idling, from /proc/stat: the relay's, the generator's and
// everyone else's.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal
	var busy int64
	for i, v := range f[1:min(len(f), 9)] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return time.Duration(busy) * 10 * time.Millisecond // USER_HZ is 100
}

// loadAverage is the 1-minute load average.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return f[0]
}
