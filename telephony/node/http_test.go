package node

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// /readyz is 200 while the node takes calls, and 503 with the reason once
// it stops; /healthz stays 200.
func TestReadyz(t *testing.T) {
	n := &node{}
	h := n.handler()
	get := func(path string) (int, string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w.Code, w.Body.String()
	}
	if code, _ := get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz while running: %d", code)
	}
	why := "stopping: listener died: tcp 127.0.0.1:5060: accept: too many open files"
	n.stopping.Store(&why)
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "too many open files") {
		t.Errorf("/readyz while stopping: %d %q; want 503 with the reason", code, body)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while stopping: %d", code)
	}
	if code, _ := get("/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("pprof served without Pprof: %d", code)
	}
}
