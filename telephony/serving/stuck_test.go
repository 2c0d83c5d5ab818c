package serving_test

import (
	"context"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/callflow/callflow/internal/siptest"
	"github.com/callflow/callflow/internal/storetest"
	"github.com/callflow/callflow/internal/tooltest"
	"github.com/callflow/callflow/telephony"
)

// freezer is a TCP proxy to a database that can stop answering: frozen,
// it keeps every connection open and forwards nothing, as a PostgreSQL
// that hangs (or a network that drops its packets) does.
type freezer struct {
	ln     net.Listener
	mu     sync.Mutex
	frozen bool
	thawed chan struct{} // closed while not frozen
	conns  []net.Conn
}

func newFreezer(t *testing.T, upstream string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, thawed: make(chan struct{})}
	close(f.thawed)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, c, u)
			f.mu.Unlock()
			go f.pipe(c, u)
			go f.pipe(u, c)
		}
	}()
	t.Cleanup(func() {
		f.thaw()
		ln.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
	})
	return f
}

func (f *freezer) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			f.mu.Lock()
			thawed := f.thawed
			f.mu.Unlock()
			<-thawed // frozen: what was read waits, and nothing answers
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

func (f *freezer) freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.frozen {
		f.frozen, f.thawed = true, make(chan struct{})
	}
}

func (f *freezer) thaw() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen {
		f.frozen = false
		close(f.thawed)
	}
}

// A store that does not answer (PostgreSQL behind a connection that has
// gone silent) never stalls the SIP stack: a call is refused with 503
// within its deadline, OPTIONS are answered all the while, and once the
// store answers again, calls are answered again.
func TestStoreThatDoesNotAnswer(t *testing.T) {
	tooltest.RequireSpeech(t)
	dsn := storetest.Postgres(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	fz := newFreezer(t, u.Host)
	u.Host = fz.ln.Addr().String()
	e := newEnv(t, setup{dsn: u.String(), opts: []telephony.Option{telephony.WithBeginTimeout(time.Second)}})
	t.Cleanup(fz.thaw) // before the server's shutdown, which waits for what the store holds up

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := e.dial(ctx, numHello)
	c.HangUp(ctx)
	<-e.ended

	fz.freeze()
	start := time.Now()
	status, _ := siptest.NewPhone(t, siptest.WithNumber(caller)).Dial(ctx, e.addr, numHello)
	took := time.Since(start)
	if status != 503 {
		t.Fatalf("a call while the store does not answer: %d, want 503", status)
	}
	if took > 3*time.Second {
		t.Errorf("the 503 took %s; the deadline is 1 s", took)
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		octx, ocancel := context.WithTimeout(ctx, 2*time.Second)
		res, err := cli.Do(octx, sip.NewRequest(sip.OPTIONS, sip.Uri{Host: e.addr.Addr().String(), Port: int(e.addr.Port())}))
		ocancel()
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("OPTIONS while the store does not answer: %v %v", res, err)
		}
	}

	fz.thaw()
	c = e.dial(ctx, numHello)
	c.HangUp(ctx)
}
