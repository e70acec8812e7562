package topology

import (
	"strings"
	"testing"
	"time"
)

// TestReadyHeartbeatBound: a Ready node whose agent publishes its
// heartbeat interval is stale once its last-seen is older than three
// intervals plus the limit (kubelet runs, the agent is gone); without
// the marker (Kilo's agents) Ready stays alive whatever last-seen says;
// a node not Ready or without a condition is judged as before.
func TestReadyHeartbeatBound(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	const every = 10 * time.Minute // bound: 3 × 10m + 1m = 31m
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	ready := Readiness{Status: "True", Since: ago(24 * time.Hour)}
	for _, tc := range []struct {
		name     string
		ready    Readiness
		interval time.Duration
		lastSeen time.Time
		stale    bool
		field    string
	}{
		{"Ready, marker, heartbeat one interval old", ready, every, ago(every), false, ""},
		{"Ready, marker, heartbeat at the bound", ready, every, ago(31 * time.Minute), false, ""},
		{"Ready, marker, heartbeat past the bound", ready, every, ago(31*time.Minute + time.Second), true, "kilo.squat.ai/last-seen"},
		{"Ready, marker, heartbeat a day old", ready, every, ago(24 * time.Hour), true, "kilo.squat.ai/last-seen"},
		{"Ready, marker, no heartbeat", ready, every, time.Time{}, true, "kilo.squat.ai/last-seen"},
		{"Ready, marker every resync, heartbeat 2m old", ready, 30 * time.Second, ago(2 * time.Minute), false, ""},
		{"Ready, marker every resync, heartbeat 3m old", ready, 30 * time.Second, ago(3 * time.Minute), true, "kilo.squat.ai/last-seen"},
		{"Ready, heartbeat ahead of the clock", ready, every, now.Add(time.Hour), false, ""},
		{"Ready, no marker (Kilo), heartbeat a day old", ready, 0, ago(24 * time.Hour), false, ""},
		{"Ready, no marker (Kilo), no heartbeat", ready, 0, time.Time{}, false, ""},
		{"Unknown long, marker, heartbeat 5m old", Readiness{Status: "Unknown", Since: ago(time.Hour)}, every, ago(5 * time.Minute), true, "status.conditions[Ready]"},
		{"Unknown long, marker, agent checks in", Readiness{Status: "Unknown", Since: ago(time.Hour)}, every, ago(10 * time.Second), false, ""},
		{"no condition, marker, heartbeat 5m old", Readiness{}, every, ago(5 * time.Minute), true, "kilo.squat.ai/last-seen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := tnode(1, "n", "x", true)
			n.Ready, n.LastSeen, n.HeartbeatInterval = tc.ready, tc.lastSeen, tc.interval
			s := DefaultSettings()
			s.Now, s.StaleAfter = now, time.Minute
			m := build(t, Cluster{Settings: s, Nodes: []Node{n}})
			if got := len(m.Segments) == 0; got != tc.stale {
				t.Fatalf("stale = %v, want %v (problems %v)", got, tc.stale, m.Problems)
			}
			if got := s.Alive(&n); got == tc.stale {
				t.Errorf("Alive = %v, Build's verdict stale = %v", got, tc.stale)
			}
			if !tc.stale {
				return
			}
			if len(m.Problems) != 1 || m.Problems[0].Field != tc.field || m.Problems[0].Name != "n" {
				t.Fatalf("problems = %v, want one on Node/n field %s", m.Problems, tc.field)
			}
			if tc.ready.Status == "True" {
				msg := m.Problems[0].Message
				want := "limit " + ReadyHeartbeatBound(tc.interval, time.Minute).String()
				if !strings.Contains(msg, want) || !strings.Contains(msg, "heartbeat-interval "+tc.interval.String()) {
					t.Errorf("message %q does not name the bound (%s) and the interval", msg, want)
				}
			}
			// Without a clock (files from Git) nothing is stale.
			s.Now = time.Time{}
			if m := build(t, Cluster{Settings: s, Nodes: []Node{n}}); len(m.Segments) != 1 {
				t.Errorf("without a clock: %v", m.Problems)
			}
		})
	}
}
