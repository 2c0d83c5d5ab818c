package billing_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callflow/callflow/billing"
	"github.com/callflow/callflow/internal/storetest"
	"github.com/callflow/callflow/store"
)

// clock is a settable clock for tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var start = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func ledger(s *store.Store) (*billing.Ledger, *clock) {
	c := &clock{now: start}
	return &billing.Ledger{Store: s, Clock: c, Payments: billing.Invoice{}}, c
}

// checkInvariants: the ledger sums to zero, and no organisation account
// (available, or any call's reservation) is negative.
func checkInvariants(t *testing.T, s *store.Store) {
	t.Helper()
	if err := s.CheckLedger(context.Background()); err != nil {
		t.Fatal(err)
	}
	all, err := s.Balances(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for a, b := range all {
		sum += b
		if strings.HasPrefix(a, "org:") && b < 0 {
			t.Fatalf("%s is negative: %d", a, b)
		}
	}
	if sum != 0 {
		t.Fatalf("the ledger does not balance: accounts sum to %d", sum)
	}
}

func credits(n int64) billing.Micro { return billing.Credits(n, 0) }

func TestBuyIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		l, _ := ledger(s)
		first, err := l.Buy(ctx, "buy-1", credits(50), "alice")
		if err != nil {
			t.Fatal(err)
		}
		again, err := l.Buy(ctx, "buy-1", credits(50), "alice")
		if err != nil || again.ID != first.ID {
			t.Fatalf("replaying a purchase: %+v %v", again, err)
		}
		if _, err := l.Buy(ctx, "buy-1", credits(70), "alice"); !errors.Is(err, store.ErrIdempotencyConflict) {
			t.Fatalf("the same key with another amount: %v", err)
		}
		if a, _, _ := l.Balance(ctx); a != credits(50) {
			t.Errorf("balance %s after one purchase of 50 bought three times", a)
		}
		ps, err := l.Purchases(ctx, start.Add(-time.Hour), start.Add(time.Hour))
		if err != nil || len(ps) != 1 || ps[0].User != "alice" || ps[0].Amount != credits(50) || !ps[0].Date.Equal(start) {
			t.Errorf("purchase history %+v %v", ps, err)
		}
		if _, err := l.Buy(ctx, "buy-0", 0, "alice"); err == nil {
			t.Error("buying zero credits must fail")
		}
		checkInvariants(t, s)
	})
}

func TestMeter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		l, c := ledger(s)
		l.Buy(ctx, "b", credits(10), "alice")
		m := &billing.Meter{Ledger: l, CallID: "c1", Rate: credits(2)}
		if err := m.Start(ctx, c.Now()); err != nil {
			t.Fatal(err)
		}
		if a, r, _ := l.Balance(ctx); a != credits(8) || r != credits(2) {
			t.Fatalf("after start: available %s reserved %s", a, r)
		}
		// 2m30s: two minutes charged, the third reserved.
		if err := m.Tick(ctx, start.Add(150*time.Second)); err != nil {
			t.Fatal(err)
		}
		if a, r, _ := l.Balance(ctx); a != credits(4) || r != credits(2) || m.Minutes() != 2 {
			t.Fatalf("at 2m30s: available %s reserved %s, %d minutes", a, r, m.Minutes())
		}
		// Ticking again at the same time, or retrying, charges nothing more.
		m.Tick(ctx, start.Add(150*time.Second))
		if err := m.Stop(ctx, start.Add(151*time.Second)); err != nil {
			t.Fatal(err)
		}
		if a, r, _ := l.Balance(ctx); a != credits(4) || r != 0 || m.Minutes() != 3 {
			t.Fatalf("after 2m31s: available %s reserved %s, %d minutes; want 3 minutes charged", a, r, m.Minutes())
		}
		u, err := l.Usage(ctx, start.Add(-time.Hour), start.Add(time.Hour))
		if err != nil || u.ByKind["calls"] != credits(6) || u.Bought != credits(10) {
			t.Errorf("usage %+v %v", u, err)
		}
		checkInvariants(t, s)
	})
}

// A call answered but never confirmed (its ACK never came, or a CANCEL
// raced the answer) holds its first minute while it waits and is never
// charged: Stop gives the minute back, and a tick before the
// confirmation charges nothing.
func TestMeterUnconfirmedCallCostsNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		l, c := ledger(s)
		l.Buy(ctx, "b", credits(10), "alice")
		m := &billing.Meter{Ledger: l, CallID: "c1", Rate: credits(2)}
		if err := m.Reserve(ctx, c.Now()); err != nil {
			t.Fatal(err)
		}
		if a, r, _ := l.Balance(ctx); a != credits(8) || r != credits(2) {
			t.Fatalf("after reserving: available %s reserved %s", a, r)
		}
		if err := m.Tick(ctx, start.Add(90*time.Second)); err != nil || m.Minutes() != 0 {
			t.Fatalf("a tick before confirmation charged %d minutes (%v)", m.Minutes(), err)
		}
		if err := m.Stop(ctx, start.Add(32*time.Second)); err != nil {
			t.Fatal(err)
		}
		if a, r, _ := l.Balance(ctx); a != credits(10) || r != 0 || m.Minutes() != 0 || m.Confirmed() {
			t.Fatalf("after an unconfirmed call: available %s reserved %s, %d minutes", a, r, m.Minutes())
		}
		// Confirmed 5 s after the reservation: minutes run from then.
		m2 := &billing.Meter{Ledger: l, CallID: "c2", Rate: credits(2)}
		if err := m2.Reserve(ctx, start); err != nil {
			t.Fatal(err)
		}
		m2.Confirm(start.Add(5 * time.Second))
		if err := m2.Tick(ctx, start.Add(62*time.Second)); err != nil || m2.Minutes() != 0 {
			t.Fatalf("62 s after the reservation, 57 s after the confirmation: %d minutes charged (%v)", m2.Minutes(), err)
		}
		if err := m2.Stop(ctx, start.Add(66*time.Second)); err != nil || m2.Minutes() != 2 {
			t.Fatalf("61 s after the confirmation: %d minutes charged (%v), want 2", m2.Minutes(), err)
		}
		checkInvariants(t, s)
	})
}

func TestMeterStopsWhenCreditsRunOut(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		l, _ := ledger(s)
		l.Buy(ctx, "b", credits(3), "alice")
		poor := &billing.Meter{Ledger: l, CallID: "too-dear", Rate: credits(5)}
		if err := poor.Start(ctx, start); !errors.Is(err, billing.ErrCreditsExhausted) {
			t.Fatalf("a call whose first minute is not covered must not start: %v", err)
		}
		m := &billing.Meter{Ledger: l, CallID: "c", Rate: credits(1)}
		if err := m.Start(ctx, start); err != nil {
			t.Fatal(err)
		}
		var err error
		for minute := 1; minute <= 5 && err == nil; minute++ {
			err = m.Tick(ctx, start.Add(time.Duration(minute)*time.Minute))
		}
		if !errors.Is(err, billing.ErrCreditsExhausted) || m.Minutes() != 3 {
			t.Fatalf("3 credits at 1 a minute: %v after %d minutes", err, m.Minutes())
		}
		if herr := m.OnEffect(nil, nil); !errors.Is(herr, billing.ErrCreditsExhausted) {
			t.Errorf("the hook must stop the call: %v", herr)
		}
		m.Stop(ctx, start.Add(3*time.Minute+time.Second))
		if a, r, _ := l.Balance(ctx); a != 0 || r != 0 {
			t.Errorf("after the call: available %s reserved %s", a, r)
		}
		checkInvariants(t, s)
	})
}

// Many calls racing for the last minutes: together they are charged at
// most the credit there was, and every balance stays at zero or above.
func TestConcurrentCallsNeverOverdraw(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store, dsn string) {
		ctx := context.Background()
		l, _ := ledger(s)
		const have = 17
		l.Buy(ctx, "b", credits(have), "alice")
		const calls = 8
		var wg sync.WaitGroup
		for i := 0; i < calls; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				own := storetest.Open(t, dsn) // as if on another node
				ml := &billing.Ledger{Store: own, Clock: l.Clock, Payments: billing.Invoice{}}
				m := &billing.Meter{Ledger: ml, CallID: fmt.Sprint("call-", i), Rate: credits(1)}
				if m.Start(ctx, start) != nil {
					return
				}
				for minute := 1; minute <= 10; minute++ {
					if m.Tick(ctx, start.Add(time.Duration(minute)*time.Minute)) != nil {
						break
					}
				}
				m.Stop(ctx, start.Add(10*time.Minute+time.Second))
			}(i)
		}
		wg.Wait()
		charged, _ := s.Balance(ctx, billing.Calls)
		if charged > int64(credits(have)) {
			t.Fatalf("calls were charged %s with only %d credits", billing.Micro(charged), have)
		}
		if charged != int64(credits(have)) {
			t.Errorf("the calls ran %s of %d credits; with 8 calls of 10 minutes they should use them all", billing.Micro(charged), have)
		}
		checkInvariants(t, s)
	})
}

func TestAutoRechargeOncePerCrossing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		l, _ := ledger(s)
		l.AutoRecharge = billing.AutoRecharge{Enabled: true, Threshold: credits(10), Amount: credits(20)}
		l.Buy(ctx, "b", credits(12), "alice")
		m := &billing.Meter{Ledger: l, CallID: "c", Rate: credits(1)}
		m.Start(ctx, start) // 11 available: no crossing yet
		m.Tick(ctx, start.Add(time.Minute))
		if a, _, _ := l.Balance(ctx); a != credits(10) {
			t.Fatalf("available %s", a)
		}
		m.Tick(ctx, start.Add(2*time.Minute)) // 10 → 9: crossing, +20
		m.Tick(ctx, start.Add(3*time.Minute)) // 29 → 28: no crossing
		m.Tick(ctx, start.Add(3*time.Minute)) // a retry: nothing
		ps, _ := l.Purchases(ctx, start.Add(-time.Hour), start.Add(time.Hour))
		auto := 0
		for _, p := range ps {
			if p.User == "auto-recharge" {
				auto++
			}
		}
		if auto != 1 {
			t.Fatalf("%d auto-recharges for one crossing: %+v", auto, ps)
		}
		notes, _ := s.Notifications(ctx)
		if len(notes) != 1 || notes[0].Kind != "auto-recharge" {
			t.Errorf("notifications %+v", notes)
		}
		checkInvariants(t, s)
	})
}

func TestMonthlyFees(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		l, c := ledger(s)
		l.Buy(ctx, "b", credits(3), "alice")
		items := []billing.FeeItem{
			{Key: "number:+18005550199", Item: "number.support", What: "toll_free US", Fee: credits(2)},
			{Key: "number:+14155550100", Item: "number.sales", What: "local US", Fee: credits(2)},
			{Key: "storage:free", Item: "recordings", What: "plan free", Fee: 0},
		}
		run := func(items []billing.FeeItem) string {
			rs, err := l.RunMonthly(ctx, items)
			if err != nil {
				t.Fatal(err)
			}
			out := ""
			for _, r := range rs {
				out += r.Item + "@" + r.Month + "=" + r.Outcome + " "
			}
			return out
		}
		if got := run(items); got != "number.support@2026-11=charged number.sales@2026-11=unpaid recordings@2026-11=free " {
			t.Fatalf("first run: %s", got)
		}
		// Running again, as after a crash, charges nothing twice.
		if got := run(items); got != "number.support@2026-11=already-charged number.sales@2026-11=unpaid recordings@2026-11=free " {
			t.Fatalf("second run: %s", got)
		}
		notes, _ := s.Notifications(ctx)
		if len(notes) != 1 || notes[0].Kind != "fee-unpaid" {
			t.Fatalf("one unpaid-fee notification, however often the job runs: %+v", notes)
		}
		// A number renamed, or retyped, in the month is not charged again,
		// and does not stop the run.
		renamed := []billing.FeeItem{{Key: "number:+18005550199", Item: "number.help", What: "toll_free US", Fee: credits(2)}, items[1]}
		retyped := []billing.FeeItem{{Key: "number:+18005550199", Item: "number.support", What: "local US", Fee: credits(1)}, items[1]}
		for _, variant := range [][]billing.FeeItem{renamed, retyped} {
			if got := run(variant); !strings.Contains(got, "@2026-11=already-charged ") || !strings.Contains(got, "number.sales@2026-11=unpaid") {
				t.Fatalf("a changed number in the month: %s", got)
			}
		}
		// The sales fee stays due into December, and is charged there
		// along with December's fees once credits arrive.
		c.Add(15 * 24 * time.Hour)
		l.Buy(ctx, "b2", credits(10), "alice")
		got := run(items)
		want := "number.sales@2026-11=charged number.support@2026-12=charged number.sales@2026-12=charged recordings@2026-12=free "
		if got != want {
			t.Fatalf("next month: %s\nwant        %s", got, want)
		}
		if got := run(items); strings.Contains(got, "2026-11") || strings.Contains(got, "=charged") {
			t.Fatalf("a paid fee is not charged again: %s", got)
		}
		// A plan chosen in the month is that plan's fee.
		up := []billing.FeeItem{{Key: "storage:50k", Item: "recordings", What: "plan 50k", Fee: credits(5)}}
		if got := run(up); got != "recordings@2026-12=charged " {
			t.Fatalf("a new storage plan: %s", got)
		}
		checkInvariants(t, s)
	})
}

// A seeded random workload of purchases, calls, retries and fee runs
// keeps every invariant, on every backend.
func TestRandomWorkload(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		l, c := ledger(s)
		l.AutoRecharge = billing.AutoRecharge{Enabled: true, Threshold: credits(5), Amount: credits(7)}
		rng := rand.New(rand.NewSource(1))
		var meters []*billing.Meter
		for step := 1; step <= 200; step++ {
			c.Add(time.Duration(rng.Intn(90)) * time.Second)
			switch rng.Intn(6) {
			case 0:
				l.Buy(ctx, fmt.Sprint("buy-", rng.Intn(40)), credits(int64(1+rng.Intn(3))), "alice")
			case 1:
				m := &billing.Meter{Ledger: l, CallID: fmt.Sprint("call-", step), Rate: credits(1)}
				if m.Start(ctx, c.Now()) == nil {
					meters = append(meters, m)
				}
			case 2, 3:
				if len(meters) > 0 {
					meters[rng.Intn(len(meters))].Tick(ctx, c.Now())
				}
			case 4:
				if len(meters) > 0 {
					i := rng.Intn(len(meters))
					meters[i].Stop(ctx, c.Now())
					meters = append(meters[:i], meters[i+1:]...)
				}
			case 5:
				l.RunMonthly(ctx, []billing.FeeItem{{Key: "number:+14155550100", Item: "number.x", What: "local US", Fee: credits(1)}})
			}
			if step%20 == 0 {
				checkInvariants(t, s)
			}
		}
	})
}

func TestPeriods(t *testing.T) {
	now := time.Date(2026, 11, 29, 15, 0, 0, 0, time.UTC) // a Sunday
	for name, want := range map[string]string{
		"this-month":   "2026-11-01 2026-12-01",
		"last-month":   "2026-10-01 2026-11-01",
		"this-quarter": "2026-10-01 2027-01-01",
		"last-quarter": "2026-07-01 2026-10-01",
		"this-week":    "2026-11-23 2026-11-30",
		"last-week":    "2026-11-16 2026-11-23",
	} {
		from, to, err := billing.PeriodRange(name, now)
		if got := from.Format("2006-01-02") + " " + to.Format("2006-01-02"); err != nil || got != want {
			t.Errorf("%s: %s %v, want %s", name, got, err, want)
		}
	}
	if _, _, err := billing.PeriodRange("yesterday", now); err == nil {
		t.Error("an unknown period must be an error")
	}
}

func TestLowBalanceOncePerCrossing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		l, c := ledger(s)
		l.LowBalance = credits(5)
		l.Buy(ctx, "b", credits(6), "alice")
		m := &billing.Meter{Ledger: l, CallID: "c", Rate: credits(1)}
		m.Start(ctx, c.Now())                  // 6 → 5: not below
		m.Tick(ctx, start.Add(1*time.Minute))  // 5 → 4: below, notify
		m.Tick(ctx, start.Add(2*time.Minute))  // 4 → 3: still below, no more
		l.Buy(ctx, "b2", credits(10), "alice") // 13
		m.Tick(ctx, start.Add(11*time.Minute)) // 9 more minutes reserved: 13 → 4, a second crossing
		notes, _ := s.Notifications(ctx)
		low := 0
		for _, n := range notes {
			if n.Kind == "low-balance" {
				low++
			}
		}
		if low != 2 {
			t.Errorf("%d low-balance notifications for two crossings: %+v", low, notes)
		}
	})
}

func TestMeterEdges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		l, _ := ledger(s)
		l.Buy(ctx, "b", credits(10), "alice")
		// A call of exactly 60 s is one minute; stopping again, or
		// ticking after the stop, charges nothing more.
		a := &billing.Meter{Ledger: l, CallID: "a", Rate: credits(1)}
		a.Start(ctx, start)
		if err := a.Stop(ctx, start.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		a.Stop(ctx, start.Add(3*time.Minute))
		a.Tick(ctx, start.Add(5*time.Minute))
		if a.Minutes() != 1 {
			t.Errorf("a 60 s call was charged %d minutes", a.Minutes())
		}
		if av, r, _ := l.Balance(ctx); av != credits(9) || r != 0 {
			t.Errorf("after a 60 s call: available %s, reserved %s", av, r)
		}
		// A failed reservation is tried again on the next tick.
		b := &billing.Meter{Ledger: l, CallID: "b", Rate: credits(1)}
		b.Start(ctx, start)
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if err := b.Tick(cancelled, start.Add(61*time.Second)); err == nil {
			t.Fatal("a tick whose store calls fail must say so")
		}
		if err := b.Tick(ctx, start.Add(62*time.Second)); err != nil {
			t.Fatal(err)
		}
		if b.Minutes() != 1 {
			t.Errorf("after the retry, %d minutes charged", b.Minutes())
		}
		if _, r, _ := l.Balance(ctx); r != credits(1) {
			t.Errorf("minute 2 of call b must be reserved: %s", r)
		}
		checkInvariants(t, s)
		// After a crash, the reservations of calls that no longer run go
		// back; those of running calls stay.
		c := &billing.Meter{Ledger: l, CallID: "c", Rate: credits(1)}
		c.Start(ctx, start)
		n, err := l.ReleaseReservations(ctx, func(call string) bool { return call == "c" })
		if err != nil || n != 1 {
			t.Fatalf("released %d: %v", n, err)
		}
		if _, r, _ := l.Balance(ctx); r != credits(1) {
			t.Errorf("only call c's minute stays reserved: %s", r)
		}
		checkInvariants(t, s)
	})
}

// flakyPayments is a payment provider that refuses the first payment, as
// a card processor may; the built-in Invoice provider never fails.
type flakyPayments struct{ calls int }

func (f *flakyPayments) Pay(_ context.Context, key string, _ billing.Micro, _ string) (string, error) {
	f.calls++
	if f.calls == 1 {
		return "", errors.New("card declined")
	}
	return "card:" + key, nil
}

// A recharge that fails stays due, and the next debit does it — once.
func TestAutoRechargeSurvivesFailure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		l, _ := ledger(s)
		l.Buy(ctx, "b", credits(6), "alice") // through Invoice
		pay := &flakyPayments{}
		l.Payments = pay
		l.AutoRecharge = billing.AutoRecharge{Enabled: true, Threshold: credits(5), Amount: credits(10)}
		m := &billing.Meter{Ledger: l, CallID: "c", Rate: credits(2)}
		if err := m.Start(ctx, start); err != nil { // 6 → 4: crossing; the payment fails
			t.Fatal(err)
		}
		if a, _, _ := l.Balance(ctx); a != credits(4) {
			t.Fatalf("available %s after a declined recharge", a)
		}
		m.Tick(ctx, start.Add(time.Minute)) // the next debit does the recharge
		m.Tick(ctx, start.Add(2*time.Minute))
		if a, _, _ := l.Balance(ctx); a != credits(10) { // 4 + 10 - 2 - 2
			t.Fatalf("available %s, want 10 after one recharge", a)
		}
		ps, _ := l.Purchases(ctx, start.Add(-time.Hour), start.Add(time.Hour))
		if len(ps) != 2 || pay.calls != 2 {
			t.Errorf("purchases %+v after %d payment attempts; want the first purchase and one recharge", ps, pay.calls)
		}
		notes, _ := s.Notifications(ctx)
		kinds := ""
		for _, n := range notes {
			kinds += n.Kind + " "
		}
		if !strings.Contains(kinds, "auto-recharge-failed") || !strings.Contains(kinds, "auto-recharge ") {
			t.Errorf("notifications: %s", kinds)
		}
		checkInvariants(t, s)
	})
}

// A call refused for credits while a failed auto-recharge is still due
// does the recharge first, and is then paid for, not refused.
func TestRefusedDebitDoesTheDueRecharge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		l, _ := ledger(s)
		l.Buy(ctx, "b", credits(6), "alice") // through Invoice
		pay := &flakyPayments{}
		l.Payments = pay
		l.AutoRecharge = billing.AutoRecharge{Enabled: true, Threshold: credits(5), Amount: credits(10)}
		first := &billing.Meter{Ledger: l, CallID: "c1", Rate: credits(4)}
		if err := first.Start(ctx, start); err != nil { // 6 → 2: crossing; the payment fails
			t.Fatal(err)
		}
		// 2 available, 4 needed: without the recharge this call is refused.
		second := &billing.Meter{Ledger: l, CallID: "c2", Rate: credits(4)}
		if err := second.Start(ctx, start); err != nil {
			t.Fatalf("a call refused though a due recharge would pay for it: %v", err)
		}
		if a, _, _ := l.Balance(ctx); a != credits(8) { // 2 + 10 - 4
			t.Fatalf("available %s, want 8 after the recharge and the second call's minute", a)
		}
		if pay.calls != 2 {
			t.Errorf("%d payment attempts; want the declined one and the one that paid", pay.calls)
		}
		checkInvariants(t, s)
	})
}
