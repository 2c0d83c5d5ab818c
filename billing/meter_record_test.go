package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/internal/storetest"
	"github.com/callflow/callflow/store"
)

// A call's record opens in the commit of its first reservation and
// closes in the commit of its last posting: two writes for a short call,
// its meter's and its record's, with nothing held without a record and no
// record left open once its credit is settled.
func TestMeterWritesTheRecordWithItsPostings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		l, c := ledger(s)
		l.Buy(ctx, "b", credits(10), "alice")
		calls := func() map[string]store.Call {
			cs, err := s.Calls(ctx, store.CallFilter{})
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]store.Call{}
			for _, c := range cs {
				out[c.ID] = c
			}
			return out
		}
		writes := func() int64 { w, _ := s.WriteStats(); return w }
		open := func(id string) store.Call {
			return store.Call{ID: id, Direction: "incoming", StartedAt: start, LastSeenAt: start, Node: "n"}
		}
		closing := func(rec store.Call, rate billing.Micro) func(int) store.Call {
			return func(minutes int) store.Call {
				rec.EndedAt, rec.Ending, rec.Credits = start.Add(30*time.Second), "flow-end", int64(rate)*int64(minutes)
				return rec
			}
		}

		// Confirmed, 30 s: one write to open, one to charge and close.
		rec := open("short")
		m := &billing.Meter{Ledger: l, CallID: "short", Rate: credits(2), Open: &rec}
		before := writes()
		if err := m.Reserve(ctx, c.Now()); err != nil {
			t.Fatal(err)
		}
		if got := calls()["short"]; got.ID != "short" || !got.EndedAt.IsZero() {
			t.Fatalf("after the first reservation the record is %+v; want it open", got)
		}
		m.Confirm(start)
		if err := m.StopRecord(ctx, start.Add(30*time.Second), closing(rec, credits(2))); err != nil {
			t.Fatal(err)
		}
		if n := writes() - before; n != 2 {
			t.Errorf("a short call took %d writes; want 2", n)
		}
		if got := calls()["short"]; got.EndedAt.IsZero() || got.Credits != int64(credits(2)) || got.Ending != "flow-end" {
			t.Errorf("closed record %+v; want ended, 2 credits", got)
		}

		// Never confirmed: its minute goes back with the record's close.
		rec = open("unconfirmed")
		m = &billing.Meter{Ledger: l, CallID: "unconfirmed", Rate: credits(2), Open: &rec}
		before = writes()
		if err := m.Reserve(ctx, c.Now()); err != nil {
			t.Fatal(err)
		}
		if err := m.StopRecord(ctx, start.Add(32*time.Second), closing(rec, credits(2))); err != nil {
			t.Fatal(err)
		}
		if n := writes() - before; n != 2 {
			t.Errorf("an unconfirmed call took %d writes; want 2", n)
		}
		if got := calls()["unconfirmed"]; got.EndedAt.IsZero() || got.Credits != 0 {
			t.Errorf("closed record %+v; want ended, nothing charged", got)
		}

		// Refused for credits: neither the reservation nor the record is
		// written.
		rec = open("poor")
		m = &billing.Meter{Ledger: l, CallID: "poor", Rate: credits(100), Open: &rec}
		if err := m.Reserve(ctx, c.Now()); err == nil {
			t.Fatal("a minute of 100 credits was reserved out of 6")
		}
		if _, ok := calls()["poor"]; ok {
			t.Error("a refused reservation wrote its record")
		}
		if a, r, _ := l.Balance(ctx); a != credits(8) || r != 0 {
			t.Errorf("available %s reserved %s; want 8 and 0", a, r)
		}
		checkInvariants(t, s)
	})
}
