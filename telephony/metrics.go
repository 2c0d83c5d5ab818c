package telephony

import (
	"bytes"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"

	"github.com/callflow/callflow/vm"
)

// Metrics counts what a server does, in a Prometheus registry of its own
// (prometheus/client_golang); WritePrometheus writes it in the text
// exposition format, for /metrics. The counters on the media path are
// plain atomics that the registry reads when scraped, so a packet costs
// an atomic add and nothing more. The zero Metrics is ready to use.
type Metrics struct {
	CallsActive     atomic.Int64 // calls answered and not yet ended
	VMSteps         atomic.Int64 // effects the calls' machines returned
	PacketsSent     atomic.Int64 // RTP packets sent to callers
	PacketsReceived atomic.Int64 // RTP packets received from callers
	Errors          atomic.Int64 // calls that failed through no fault of the caller's

	once      sync.Once
	reg       *prometheus.Registry
	outcomes  *prometheus.CounterVec // by outcome: an ending, or refused-STATUS
	responses *prometheus.CounterVec // SIP responses sent, by code
	refusals  *prometheus.CounterVec // calls refused, by cause
	answer    prometheus.Histogram   // INVITE to 200 OK
	duration  prometheus.Histogram   // confirmed to ended
	store     prometheus.Histogram   // a store write, queued to durable

	mu     sync.Mutex
	counts map[string]int64 // guarded by mu: outcomes, for Outcomes
}

func (m *Metrics) init() {
	m.once.Do(func() {
		m.reg = prometheus.NewRegistry()
		m.outcomes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callflow_calls_total", Help: "Calls ended or refused, by outcome."}, []string{"outcome"})
		m.responses = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callflow_sip_responses_total", Help: "SIP responses sent, by status code (retransmissions not counted)."}, []string{"code"})
		m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callflow_calls_refused_total", Help: "Calls refused before they were answered, by cause."}, []string{"cause"})
		m.answer = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "callflow_answer_seconds", Help: "Time from an INVITE to its 200 OK.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}})
		m.duration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "callflow_call_duration_seconds", Help: "Length of confirmed calls, from the ACK to the end.",
			Buckets: []float64{1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}})
		m.store = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "callflow_store_write_seconds", Help: "Time a store write takes, from queued to durable.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5}})
		gauge := func(name, help string, v *atomic.Int64) prometheus.Collector {
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return float64(v.Load()) })
		}
		counter := func(name, help string, v *atomic.Int64) prometheus.Collector {
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v.Load()) })
		}
		m.reg.MustRegister(
			gauge("callflow_calls_active", "Calls answered and not yet ended.", &m.CallsActive),
			counter("callflow_vm_steps_total", "Effects the calls' machines returned.", &m.VMSteps),
			counter("callflow_rtp_packets_sent_total", "RTP packets sent to callers.", &m.PacketsSent),
			counter("callflow_rtp_packets_received_total", "RTP packets received from callers.", &m.PacketsReceived),
			counter("callflow_errors_total", "Calls that failed through no fault of the caller's.", &m.Errors),
			m.outcomes, m.responses, m.refusals, m.answer, m.duration, m.store,
			collectors.NewGoCollector(), // go_goroutines, go_memstats_heap_inuse_bytes…
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		)
	})
}

// Register adds collectors of the caller's (the store's, say) to what
// WritePrometheus writes.
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	m.init()
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Registry is the registry the metrics are in, for an HTTP handler of
// its own (promhttp.HandlerFor).
func (m *Metrics) Registry() *prometheus.Registry {
	m.init()
	return m.reg
}

// outcome counts one call that ended or was refused: its ending, such
// as caller-hung-up, or refused-403.
func (m *Metrics) outcome(o string) {
	m.init()
	m.outcomes.WithLabelValues(o).Inc()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.counts == nil {
		m.counts = map[string]int64{}
	}
	m.counts[o]++
}

// refused counts a call refused before it was answered, by cause.
func (m *Metrics) refused(cause string) {
	m.init()
	m.refusals.WithLabelValues(cause).Inc()
}

// response counts one SIP response sent.
func (m *Metrics) response(status int) {
	m.init()
	m.responses.WithLabelValues(strconv.Itoa(status)).Inc()
}

// answered records the time from an INVITE to its 200 OK.
func (m *Metrics) answered(d time.Duration) {
	m.init()
	m.answer.Observe(d.Seconds())
}

// lasted records a confirmed call's length.
func (m *Metrics) lasted(d time.Duration) {
	m.init()
	m.duration.Observe(d.Seconds())
}

// StoreWrite records how long a store write took; give it to the store
// (store.Store.OnWrite).
func (m *Metrics) StoreWrite(d time.Duration) {
	m.init()
	m.store.Observe(d.Seconds())
}

// Outcomes returns the number of calls by outcome.
func (m *Metrics) Outcomes() map[string]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int64, len(m.counts))
	for k, v := range m.counts {
		out[k] = v
	}
	return out
}

// WritePrometheus writes the metrics in the Prometheus text format.
func (m *Metrics) WritePrometheus(out io.Writer) error {
	m.init()
	families, err := m.reg.Gather()
	if err != nil {
		return err
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	_, err = out.Write(b.Bytes())
	return err
}

// stepCounter is a hook that counts the machine's effects.
type stepCounter struct{ n *atomic.Int64 }

func (c stepCounter) OnEffect(*vm.Machine, *vm.Effect) error { c.n.Add(1); return nil }

func (stepCounter) OnResult(*vm.Machine, *vm.Effect, vm.Result) error { return nil }
