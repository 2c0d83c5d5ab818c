package telephony

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/callflow/callflow/vm"
)

// TestBeginInTimeIsNeverLate: a Begin that returns at once is never taken
// for one the store held up, however the goroutines are scheduled. (Its
// return cancels the deadline's context right after it hands over its
// result, so a waiter that woke late saw both ready.)
func TestBeginInTimeIsNeverLate(t *testing.T) {
	s := &Server{opts: options{beginTimeout: 5 * time.Second}}
	live := &Live{Begin: func(context.Context, CallInfo, func(error)) ([]vm.Hook, func(vm.Effect, error), error) {
		return nil, func(vm.Effect, error) {}, nil
	}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// Goroutines that keep the scheduler busy, as a loaded server's do.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					runtime.Gosched()
				}
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()
	for i := range 3000 {
		_, _, late, err := s.beginCall(context.Background(), live, CallInfo{ID: "c"}, func(error) {}, log)
		if errors.Is(err, errStoreTimeout) {
			late()
			t.Fatalf("call %d: a Begin that returned at once was refused as late", i)
		}
	}
}
