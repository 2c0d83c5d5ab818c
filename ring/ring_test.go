package ring

import (
	"slices"
	"testing"
	"time"

	"github.com/callflow/callflow/vm"
)

func TestClassify(t *testing.T) {
	for status, want := range map[int]Phone{
		200: PhoneAnswered, 202: PhoneAnswered,
		486: PhoneBusy, 600: PhoneBusy, 603: PhoneBusy,
		404: PhoneFailed, 408: PhoneFailed, 480: PhoneFailed, 500: PhoneFailed, 503: PhoneFailed,
		302: PhoneFailed, 401: PhoneFailed, 487: PhoneFailed, 0: PhoneFailed,
	} {
		if got := Classify(status); got != want {
			t.Errorf("Classify(%d) = %d, want %d", status, got, want)
		}
	}
}

func TestUser(t *testing.T) {
	for _, c := range []struct {
		busy   bool
		phones []Phone
		want   Outcome
		result vm.Result
	}{
		{false, nil, Unavailable, vm.ResultUnavailable},
		{true, nil, Busy, vm.ResultBusy},
		{true, []Phone{PhoneAnswered}, Busy, vm.ResultBusy},
		{false, []Phone{PhoneFailed, PhoneAnswered, PhoneBusy}, Answered, vm.ResultAnswered},
		{false, []Phone{PhoneRang, PhoneBusy}, Busy, vm.ResultBusy},
		{false, []Phone{PhoneFailed, PhoneRang}, NoAnswer, vm.ResultTimeout},
		{false, []Phone{PhoneFailed, PhoneFailed}, Unavailable, vm.ResultUnavailable},
	} {
		got := User(c.busy, c.phones)
		if got != c.want || UserResult(got) != c.result {
			t.Errorf("User(%v, %v) = %s (%s), want %s (%s)", c.busy, c.phones, got, UserResult(got), c.want, c.result)
		}
	}
}

func TestOrderAndGroup(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	members := []Member{
		{Name: "ann", LoggedIn: true, LoginAt: t0.Add(2 * time.Minute)},
		{Name: "bob"}, // not logged in
		{Name: "cat", LoggedIn: true, LoginAt: t0, Busy: true},
		{Name: "dan", LoggedIn: true, LoginAt: t0.Add(time.Minute)},
		{Name: "eve", LoggedIn: true, LoginAt: t0.Add(time.Minute)},
	}
	seq, g := Order(members, true)
	if want := []string{"dan", "eve", "ann"}; !slices.Equal(seq, want) {
		t.Errorf("sequential order %v, want %v (login order, ties in configuration order, busy and logged-out skipped)", seq, want)
	}
	par, _ := Order(members, false)
	if want := []string{"ann", "dan", "eve"}; !slices.Equal(par, want) {
		t.Errorf("parallel order %v, want %v", par, want)
	}
	// Nobody rung answers: members rang, so the result is timeout.
	for range seq {
		g.Add(NoAnswer)
	}
	if r := g.Result(); r != vm.ResultTimeout {
		t.Errorf("rung, nobody answered: %s, want timeout", r)
	}
	g.Add(Answered)
	if r := g.Result(); r != vm.ResultAnswered {
		t.Errorf("one answered: %s", r)
	}

	_, none := Order([]Member{{Name: "a"}, {Name: "b"}}, true)
	if r := none.Result(); r != vm.ResultUnavailable {
		t.Errorf("nobody logged in: %s, want unavailable", r)
	}
	order, busy := Order([]Member{{Name: "a", LoggedIn: true, Busy: true}, {Name: "b"}, {Name: "c", LoggedIn: true, Busy: true}}, false)
	if len(order) != 0 || busy.Result() != vm.ResultAllBusy {
		t.Errorf("every logged-in member busy: order %v result %s, want none and all-busy", order, busy.Result())
	}
	// Logged in, but every phone failed: nobody could be reached.
	_, failed := Order(nil, false)
	failed.Add(Unavailable)
	if r := failed.Result(); r != vm.ResultUnavailable {
		t.Errorf("every phone failed: %s, want unavailable", r)
	}
}
