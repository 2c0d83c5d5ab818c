package node

import (
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
)

// handler serves /healthz, 200 while the process runs; /readyz, 200 while
// the node takes calls and 503, with the reason, once it stops taking
// them; /metrics, for Prometheus; and with Pprof, Go's profiles under
// /debug/pprof/.
func (n *node) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		n.srv.Metrics.WritePrometheus(w)
		writes, commits := n.st.WriteStats()
		fmt.Fprintf(w, "# HELP callflow_store_writes_total Store writes committed.\n# TYPE callflow_store_writes_total counter\ncallflow_store_writes_total %d\n", writes)
		fmt.Fprintf(w, "# HELP callflow_store_commits_total Store commits; writes that arrive together share one.\n# TYPE callflow_store_commits_total counter\ncallflow_store_commits_total %d\n", commits)
	})
	if n.cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if why := n.stopping.Load(); why != nil {
			http.Error(w, *why, http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	return mux
}
