package node

import (
	"testing"
	"time"
)

// The heap is given back once, 40 s after the last packet of a load, and
// not while calls send, nor again while the server stays idle.
func TestIdleRelease(t *testing.T) {
	released := 0
	r := idleRelease{release: func() { released++ }}
	t0 := time.Now()
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	r.tick(0, at(0))    // idle from the start: nothing to give back
	r.tick(0, at(60))   // still nothing
	r.tick(500, at(62)) // a load
	r.tick(900, at(64))
	r.tick(900, at(100)) // 36 s quiet
	if released != 0 {
		t.Fatalf("released %d times before 40 s of quiet, or with no load", released)
	}
	r.tick(900, at(104)) // 40 s quiet
	r.tick(900, at(200))
	if released != 1 {
		t.Fatalf("released %d times after a load and 40 s of quiet; want once", released)
	}
	r.tick(1000, at(202))
	r.tick(1000, at(243))
	if released != 2 {
		t.Fatalf("released %d times after a second load; want twice in all", released)
	}
}
