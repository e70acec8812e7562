package topology

import (
	"strings"
	"testing"
	"time"
)

// TestReadyCondition: a node with a Ready condition is judged by it, not
// by how old its last-seen is (kgctl agents refresh last-seen rarely
// when no reader needs it); a node not Ready stays in while its agent
// still checks in, or for the limit after the change.
func TestReadyCondition(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	old, recent := now.Add(-10*time.Minute), now.Add(-20*time.Second)
	for _, tc := range []struct {
		name     string
		ready    Readiness
		lastSeen time.Time
		stale    bool
		field    string
	}{
		{"no condition, fresh heartbeat", Readiness{}, recent, false, ""},
		{"no condition, old heartbeat", Readiness{}, old, true, "kilo.squat.ai/last-seen"},
		{"no condition, no heartbeat", Readiness{}, time.Time{}, true, "kilo.squat.ai/last-seen"},
		{"Ready, old heartbeat", Readiness{Status: "True", Since: old}, old, false, ""},
		{"Ready, no heartbeat", Readiness{Status: "True"}, time.Time{}, false, ""},
		{"NotReady just now, old heartbeat", Readiness{Status: "False", Since: recent}, old, false, ""},
		{"NotReady long, old heartbeat", Readiness{Status: "False", Since: old}, old, true, "status.conditions[Ready]"},
		{"Unknown long, old heartbeat", Readiness{Status: "Unknown", Since: old}, old, true, "status.conditions[Ready]"},
		{"Unknown long, agent still checks in", Readiness{Status: "Unknown", Since: old}, recent, false, ""},
		{"Unknown, no transition time, old heartbeat", Readiness{Status: "Unknown"}, old, true, "status.conditions[Ready]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := tnode(1, "n", "x", true)
			n.Ready, n.LastSeen = tc.ready, tc.lastSeen
			s := DefaultSettings()
			s.Now, s.StaleAfter = now, time.Minute
			m := build(t, Cluster{Settings: s, Nodes: []Node{n}})
			if got := len(m.Segments) == 0; got != tc.stale {
				t.Fatalf("stale = %v, want %v (problems %v)", got, tc.stale, m.Problems)
			}
			if !tc.stale {
				return
			}
			if len(m.Problems) != 1 || m.Problems[0].Field != tc.field || m.Problems[0].Name != "n" {
				t.Fatalf("problems = %v, want one on Node/n field %s", m.Problems, tc.field)
			}
			if msg := m.Problems[0].Message; !strings.Contains(msg, "limit 1m0s") {
				t.Errorf("message %q does not name the limit", msg)
			}
			// Without a clock (files from Git) nothing is stale.
			s.Now = time.Time{}
			if m := build(t, Cluster{Settings: s, Nodes: []Node{n}}); len(m.Segments) != 1 {
				t.Errorf("without a clock: %v", m.Problems)
			}
		})
	}
}
