package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/callflow/callflow/store"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func TestCalls(t *testing.T) {
	each(t, func(t *testing.T, s *store.Store, _ string) {
		ctx := context.Background()
		calls := []store.Call{
			{ID: "a", Direction: "incoming", From: "+12125550100", To: "+14155550100", NumberName: "sales", Flow: "sales", FlowVersion: 1,
				Path: []string{"ivr.menu", "transfer_user.dana"}, Agent: "dana", StartedAt: t0, AnsweredAt: t0.Add(10 * time.Second),
				EndedAt: t0.Add(3 * time.Minute), RecordingS: 170, Credits: 30000, Ending: "connected",
				QueueWait: 12345 * time.Millisecond, Note: "not recorded: the storage plan is full"},
			{ID: "b", Direction: "incoming", From: "+12125550101", To: "+18005550199", NumberName: "support", Flow: "support", FlowVersion: 2,
				Path: []string{"announce.welcome", "ivr.main", "voicemail.general"}, StartedAt: t0.Add(time.Hour),
				EndedAt: t0.Add(time.Hour + 40*time.Second), RecordingS: 25, Credits: 30000, Ending: "message"},
			{ID: "c", Direction: "outgoing", From: "alice", To: "+442071838750", NumberName: "support", Agent: "alice",
				StartedAt: t0.Add(2 * time.Hour), AnsweredAt: t0.Add(2*time.Hour + 5*time.Second), EndedAt: t0.Add(2*time.Hour + 65*time.Second), Ending: "connected"},
		}
		for _, c := range calls {
			if err := s.SaveCall(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		// A call still running when the server died.
		running := store.Call{ID: "d", Direction: "incoming", From: "+1", To: "+14155550100", Flow: "sales", StartedAt: t0.Add(3 * time.Hour), Path: []string{"ivr.menu"}, Node: "n1"}
		s.SaveCall(ctx, running)
		running.LastSeenAt = t0.Add(3*time.Hour + 20*time.Second)
		running.Path = append(running.Path, "transfer_user.dana")
		s.SaveCall(ctx, running)

		ids := func(f store.CallFilter) string {
			cs, err := s.Calls(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			out := ""
			for _, c := range cs {
				out += c.ID
			}
			return out
		}
		for _, tt := range []struct {
			f    store.CallFilter
			want string
		}{
			{store.CallFilter{}, "dcba"},
			{store.CallFilter{Type: "missed"}, "db"},
			{store.CallFilter{Type: "incoming"}, "a"},
			{store.CallFilter{Type: "outgoing"}, "c"},
			{store.CallFilter{Agent: "dana"}, "a"},
			{store.CallFilter{MinDuration: time.Minute}, "ca"},
			{store.CallFilter{MaxDuration: time.Minute}, "db"},
			{store.CallFilter{Since: t0.Add(30 * time.Minute), Until: t0.Add(150 * time.Minute)}, "cb"},
		} {
			if got := ids(tt.f); got != tt.want {
				t.Errorf("%+v: %s, want %s", tt.f, got, tt.want)
			}
		}
		if cs, _ := s.Calls(ctx, store.CallFilter{Agent: "dana"}); len(cs) != 1 || cs[0].QueueWait != 12345*time.Millisecond || cs[0].Note != "not recorded: the storage plan is full" {
			t.Errorf("queue wait and note not kept: %+v", cs)
		}
		// A call running on another node, which must be left alone.
		other := store.Call{ID: "e", Direction: "incoming", From: "+2", To: "+14155550100", Flow: "sales", StartedAt: t0.Add(4 * time.Hour), Node: "n2"}
		if err := s.SaveCall(ctx, other); err != nil {
			t.Fatal(err)
		}
		if open, err := s.OpenCalls(ctx); err != nil || len(open) != 2 || !open["d"] || !open["e"] {
			t.Fatalf("open calls: %v %v", open, err)
		}
		n, err := s.CloseUnfinished(ctx, "n1", t0)
		if err != nil || n != 1 {
			t.Fatalf("closed %d: %v", n, err)
		}
		if open, err := s.OpenCalls(ctx); err != nil || len(open) != 1 || !open["e"] {
			t.Fatalf("after n1 repaired its calls, open calls: %v %v; want n2's", open, err)
		}
		// n2's call, last seen at 4 h, is stale by 5 h: n2 is gone.
		if n, err := s.CloseUnfinished(ctx, "n1", t0.Add(5*time.Hour)); err != nil || n != 1 {
			t.Fatalf("closing stale calls: %d, %v; want n2's one", n, err)
		}
		if open, err := s.OpenCalls(ctx); err != nil || len(open) != 0 {
			t.Fatalf("open calls after closing the stale: %v %v", open, err)
		}
		cs, _ := s.Calls(ctx, store.CallFilter{Since: t0.Add(3 * time.Hour), Until: t0.Add(4 * time.Hour)})
		if len(cs) != 1 || cs[0].Node != "n1" || cs[0].Ending != "server-stopped" || cs[0].Duration() != 20*time.Second || len(cs[0].Path) != 2 {
			t.Errorf("the crashed call: %+v", cs)
		}
		if _, err := s.Recording(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a missing recording: %v", err)
		}
	})
}
