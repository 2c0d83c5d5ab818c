package telephony

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/callflow/callflow/vm"
)

// Metrics counts what a server does. WritePrometheus writes them in the
// Prometheus text exposition format, for /metrics.
type Metrics struct {
	CallsActive     atomic.Int64 // calls answered and not yet ended
	VMSteps         atomic.Int64 // effects the calls' machines returned
	PacketsSent     atomic.Int64 // RTP packets sent to callers
	PacketsReceived atomic.Int64 // RTP packets received from callers
	Errors          atomic.Int64 // calls that failed through no fault of the caller's

	mu        sync.Mutex
	outcomes  map[string]int64 // guarded by mu
	responses map[int]int64    // guarded by mu: SIP responses sent, by status
}

// response counts one SIP response sent.
func (m *Metrics) response(status int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.responses == nil {
		m.responses = map[int]int64{}
	}
	m.responses[status]++
}

// outcome counts one call that ended or was refused: its ending, such
// as caller-hung-up, or refused-403.
func (m *Metrics) outcome(o string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.outcomes == nil {
		m.outcomes = map[string]int64{}
	}
	m.outcomes[o]++
}

// Outcomes returns the number of calls by outcome.
func (m *Metrics) Outcomes() map[string]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int64, len(m.outcomes))
	for k, v := range m.outcomes {
		out[k] = v
	}
	return out
}

// WritePrometheus writes the metrics in the Prometheus text format.
func (m *Metrics) WritePrometheus(out io.Writer) error {
	w := new(strings.Builder)
	metric := func(name, kind, help string, v int64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", name, help, name, kind, name, v)
	}
	metric("callflow_calls_active", "gauge", "Calls answered and not yet ended.", m.CallsActive.Load())
	fmt.Fprintf(w, "# HELP callflow_calls_total Calls ended or refused, by outcome.\n# TYPE callflow_calls_total counter\n")
	outcomes := m.Outcomes()
	keys := make([]string, 0, len(outcomes))
	for k := range outcomes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "callflow_calls_total{outcome=%q} %d\n", k, outcomes[k])
	}
	fmt.Fprintf(w, "# HELP callflow_sip_responses_total SIP responses sent, by status code.\n# TYPE callflow_sip_responses_total counter\n")
	m.mu.Lock()
	codes := make([]int, 0, len(m.responses))
	for c := range m.responses {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		fmt.Fprintf(w, "callflow_sip_responses_total{code=\"%d\"} %d\n", c, m.responses[c])
	}
	m.mu.Unlock()
	metric("callflow_vm_steps_total", "counter", "Effects the calls' machines returned.", m.VMSteps.Load())
	metric("callflow_rtp_packets_sent_total", "counter", "RTP packets sent to callers.", m.PacketsSent.Load())
	metric("callflow_rtp_packets_received_total", "counter", "RTP packets received from callers.", m.PacketsReceived.Load())
	metric("callflow_errors_total", "counter", "Calls that failed through no fault of the caller's.", m.Errors.Load())
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	metric("go_goroutines", "gauge", "Goroutines that currently exist.", int64(runtime.NumGoroutine()))
	metric("go_memstats_heap_inuse_bytes", "gauge", "Bytes in in-use heap spans.", int64(mem.HeapInuse))
	_, err := io.WriteString(out, w.String())
	return err
}

// stepCounter is a hook that counts the machine's effects.
type stepCounter struct{ n *atomic.Int64 }

func (c stepCounter) OnEffect(*vm.Machine, *vm.Effect) error { c.n.Add(1); return nil }

func (stepCounter) OnResult(*vm.Machine, *vm.Effect, vm.Result) error { return nil }
