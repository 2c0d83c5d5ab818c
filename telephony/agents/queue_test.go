package agents

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// busyness is who the store says is busy, as the queue polls it.
type busyness struct{ busy atomic.Bool }

func (b *busyness) of(context.Context) (map[string]bool, error) {
	return map[string]bool{"dana": b.busy.Load()}, nil
}

func ready(w *Waiter) bool {
	select {
	case <-w.Ready():
		return true
	default:
		return false
	}
}

func TestQueueFirstInFirstOutAndFull(t *testing.T) {
	qs := &Queues{PollEvery: time.Hour} // only Free hands the user over here
	b := &busyness{}
	b.busy.Store(true)
	first, full := qs.Join("dana", 2, b.of)
	if full {
		t.Fatal("an empty queue is full")
	}
	second, _ := qs.Join("dana", 2, b.of)
	if _, full := qs.Join("dana", 2, b.of); !full {
		t.Fatal("a third caller joined a queue of at most 2")
	}
	if !qs.Holds("dana") {
		t.Fatal("a queue with callers does not hold its user")
	}
	qs.Free("dana")
	if !ready(first) || ready(second) {
		t.Fatalf("after the user turned free: first ready %v, second ready %v; want only the first", ready(first), ready(second))
	}
	// The first leaves to ring; until that ring is over the queue holds
	// the user, and turning free again hands nobody over.
	first.Leave()
	qs.Free("dana")
	if ready(second) {
		t.Fatal("the second caller was handed the user while the first still rang them")
	}
	if !qs.Holds("dana") {
		t.Fatal("the queue let go of the user during the hand-off")
	}
	qs.Rung("dana")
	qs.Free("dana")
	if !ready(second) {
		t.Fatal("the second caller was not handed the user once the first's ring ended and the user was free")
	}
	second.Leave()
	qs.Rung("dana")
	if qs.Holds("dana") {
		t.Fatal("an empty queue still holds its user")
	}
}

func TestQueueLeavingMakesRoom(t *testing.T) {
	qs := &Queues{PollEvery: time.Hour}
	b := &busyness{}
	w, _ := qs.Join("dana", 1, b.of)
	if _, full := qs.Join("dana", 1, b.of); !full {
		t.Fatal("a queue of one took two")
	}
	w.Leave() // the caller hung up
	w2, full := qs.Join("dana", 1, b.of)
	if full {
		t.Fatal("the place of a caller who hung up was not freed")
	}
	qs.Free("dana")
	if !ready(w2) {
		t.Fatal("the caller after one who left is not first")
	}
	w2.Leave()
	qs.Rung("dana")
}

func TestQueuePollsTheStore(t *testing.T) {
	// The user's call ends on another node: only the store says so.
	qs := &Queues{PollEvery: 10 * time.Millisecond}
	b := &busyness{}
	b.busy.Store(true)
	w, _ := qs.Join("dana", 5, b.of)
	defer w.Leave()
	select {
	case <-w.Ready():
		t.Fatal("handed a user the store says is busy")
	case <-time.After(50 * time.Millisecond): // several polls, all busy
	}
	b.busy.Store(false)
	select {
	case <-w.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("the caller was not handed the user once the store said they were free")
	}
}
