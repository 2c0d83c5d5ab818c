package agents

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Queues are the queues of busy users on one node (S18): first in, first
// out, at most a state's max_waiting callers each. The first caller of a
// user's queue is handed the user the moment the user turns free — at
// once when the user's call ends on this node, within PollEvery when it
// ends on another — and until that caller's ring is over, nobody else
// rings the user, newcomers included: they queue behind. The zero Queues
// is ready to use.
type Queues struct {
	// PollEvery is how often the store is asked whether a user with
	// waiting callers is still busy; a second when zero.
	PollEvery time.Duration

	once    sync.Once
	waiting prometheus.Gauge
	waits   *prometheus.HistogramVec
	// transfers counts ring effects by kind (user, group) and result; it
	// lives here, with the queues, as the node's one set of agents'
	// metrics.
	transfers *prometheus.CounterVec

	mu     sync.Mutex
	byUser map[string]*queue // guarded by mu
}

// queue is one user's queue.
type queue struct {
	waiters []*Waiter
	// handoff is set while the first caller, handed the user, rings them:
	// until its ring ends, the queue holds the user.
	handoff bool
	busy    func(context.Context) (map[string]bool, error) // the latest joiner's view of who is busy
	polling bool
}

// Waiter is a caller's place in a user's queue.
type Waiter struct {
	qs     *Queues
	user   string
	joined time.Time
	ready  chan struct{}
	// guarded by qs.mu:
	readied, left bool
}

func (qs *Queues) init() {
	qs.once.Do(func() {
		qs.waiting = prometheus.NewGauge(prometheus.GaugeOpts{Name: "callflow_queue_waiting", Help: "Callers waiting in users' queues on this node."})
		qs.waits = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "callflow_queue_wait_seconds", Help: "How long callers waited in a queue, by how the wait ended (available, timeout, hung-up).",
			Buckets: []float64{1, 5, 10, 20, 30, 60, 120, 300, 600}}, []string{"result"})
		qs.transfers = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callflow_transfers_total", Help: "Transfers to users and groups, by kind (user, group) and result (answered, timeout, busy, unavailable, all-busy)."}, []string{"kind", "result"})
		qs.byUser = map[string]*queue{}
	})
}

// counted counts a transfer of kind that ended with result.
func (qs *Queues) counted(kind, result string) {
	qs.init()
	qs.transfers.WithLabelValues(kind, result).Inc()
}

// Collectors are the queues' metrics, for /metrics.
func (qs *Queues) Collectors() []prometheus.Collector {
	qs.init()
	return []prometheus.Collector{qs.waiting, qs.waits, qs.transfers}
}

// Join puts a caller at the end of user's queue, unless max callers wait
// in it already (full). busy tells who is busy on any node; the queue asks
// it while callers wait.
func (qs *Queues) Join(user string, max int, busy func(context.Context) (map[string]bool, error)) (w *Waiter, full bool) {
	qs.init()
	qs.mu.Lock()
	defer qs.mu.Unlock()
	q := qs.byUser[user]
	if q == nil {
		q = &queue{}
		qs.byUser[user] = q
	}
	if len(q.waiters) >= max {
		return nil, true
	}
	w = &Waiter{qs: qs, user: user, joined: time.Now(), ready: make(chan struct{})}
	q.waiters = append(q.waiters, w)
	q.busy = busy
	qs.waiting.Inc()
	if !q.polling {
		q.polling = true
		go qs.poll(user)
	}
	return w, false
}

// Ready is closed when the user is free and this caller is first.
func (w *Waiter) Ready() <-chan struct{} { return w.ready }

// Leave takes the caller out of the queue. A caller who was handed the
// user (Ready) keeps the user until Rung is called for them.
func (w *Waiter) Leave() {
	qs := w.qs
	qs.mu.Lock()
	defer qs.mu.Unlock()
	if w.left {
		return
	}
	w.left = true
	q := qs.byUser[w.user]
	for i, x := range q.waiters {
		if x == w {
			q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
			break
		}
	}
	qs.waiting.Dec()
	result := "timeout"
	if w.readied {
		result = "available"
	}
	qs.waits.WithLabelValues(result).Observe(time.Since(w.joined).Seconds())
	qs.gc(w.user, q)
}

// Waited is how long the caller has waited, or waited in all.
func (w *Waiter) Waited() time.Duration { return time.Since(w.joined) }

// Holds reports whether user's queue holds the user: callers wait for
// them, or the first was handed them and is ringing. Anyone else who
// rings the user then finds them busy.
func (qs *Queues) Holds(user string) bool {
	qs.init()
	qs.mu.Lock()
	defer qs.mu.Unlock()
	q := qs.byUser[user]
	return q != nil && (len(q.waiters) > 0 || q.handoff)
}

// Free says that user has turned free on this node: the first caller of
// their queue is handed them at once.
func (qs *Queues) Free(user string) {
	qs.init()
	qs.mu.Lock()
	defer qs.mu.Unlock()
	if q := qs.byUser[user]; q != nil {
		qs.handTo(q)
	}
}

// Rung ends the hand-off of user to the caller who left the queue to ring
// them: the user answered (and is busy), or did not (and is free: the
// next caller is handed them when the store says so).
func (qs *Queues) Rung(user string) {
	qs.init()
	qs.mu.Lock()
	defer qs.mu.Unlock()
	if q := qs.byUser[user]; q != nil {
		q.handoff = false
		qs.gc(user, q)
	}
}

// handTo hands the user to the first caller, unless a hand-off is under
// way. Called with qs.mu held, once the user is known to be free.
func (qs *Queues) handTo(q *queue) {
	if q.handoff || len(q.waiters) == 0 {
		return
	}
	w := q.waiters[0]
	if w.readied {
		return
	}
	w.readied = true
	q.handoff = true
	close(w.ready)
}

// gc forgets an empty queue that holds nobody. Called with qs.mu held.
func (qs *Queues) gc(user string, q *queue) {
	if len(q.waiters) == 0 && !q.handoff && !q.polling {
		delete(qs.byUser, user)
	}
}

// poll asks, while callers wait for user, whether the user is still busy
// on any node, and hands them over when not.
func (qs *Queues) poll(user string) {
	every := qs.PollEvery
	if every == 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for range t.C {
		qs.mu.Lock()
		q := qs.byUser[user]
		if len(q.waiters) == 0 {
			q.polling = false
			qs.gc(user, q)
			qs.mu.Unlock()
			return
		}
		busy, handoff := q.busy, q.handoff
		qs.mu.Unlock()
		if handoff {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		b, err := busy(ctx)
		cancel()
		if err != nil || b[user] {
			continue
		}
		qs.Free(user)
	}
}
