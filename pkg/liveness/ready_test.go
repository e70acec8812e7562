package liveness

import (
	"testing"
	"time"

	"github.com/kgctl/kgctl/pkg/topology"
)

// readySim is a cluster of kubelet nodes as one agent's watch sees it:
// each node's Ready condition (set by the node lifecycle controller) and
// its agent's heartbeat, written every interval (10 minutes when nobody
// needs more, the resync period when someone does).
type readySim struct {
	c     *clock
	tr    *Tracker
	ready map[string]topology.Readiness
	// every is each node's heartbeat interval; 0: its agent is gone.
	every map[string]time.Duration
	// marker is the interval each node publishes (kgctl agents: 10
	// minutes); 0: none, a Kilo agent.
	marker map[string]time.Duration
	last   map[string]time.Time
	down   bool // the API server is away: nothing reaches the watch
}

func newReadySim(nodes ...string) *readySim {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := &readySim{c: c, ready: map[string]topology.Readiness{}, every: map[string]time.Duration{}, marker: map[string]time.Duration{},
		last: map[string]time.Time{},
		tr:   New(Options{Self: "self", StaleAfter: time.Minute, EchoGap: 25 * time.Minute, Now: c.now})}
	for _, n := range append([]string{"self"}, nodes...) {
		s.ready[n] = topology.Readiness{Status: "True", Since: c.t.Add(-time.Hour)}
		s.every[n], s.marker[n] = 10*time.Minute, 10*time.Minute
		s.observe(n, true)
	}
	return s
}

// kilo makes n a Kilo node: no marker (its agent would heartbeat every
// 30 s; the cases stop it).
func (s *readySim) kilo(n string) {
	s.marker[n] = 0
	s.observe(n, false)
}

func (s *readySim) observe(n string, beat bool) {
	if beat {
		s.last[n] = s.c.t
	}
	s.tr.Observe(n, unix(s.last[n], 0), s.marker[n], s.ready[n])
}

// set changes a node's Ready condition, as the controller does.
func (s *readySim) set(n, status string) { s.setSkewed(n, status, 0) }

// setSkewed is set by a controller whose clock is skew off the agent's:
// the condition's lastTransitionTime is on its clock.
func (s *readySim) setSkewed(n, status string, skew time.Duration) {
	s.ready[n] = topology.Readiness{Status: status, Since: s.c.t.Add(skew)}
	if !s.down {
		s.observe(n, false)
	}
}

// run advances d in steps of 10 seconds; nodes heartbeat when due.
func (s *readySim) run(d time.Duration) {
	for end := s.c.t.Add(d); s.c.t.Before(end); {
		s.c.add(10 * time.Second)
		for n, every := range s.every {
			if !s.down && every > 0 && s.c.t.Sub(s.last[n]) >= every {
				s.observe(n, true)
			}
		}
	}
}

func (s *readySim) stale(n string) bool {
	return engineStaleMarked(s.tr, s.c.t, n, s.last[n], s.ready[n], s.marker[n])
}

func TestTrackerReady(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps func(s *readySim)
		want  map[string]bool // node -> stale
		// outages: echo gaps the tracker counts (the API server back).
		outages int
	}{{
		name:  "Ready nodes heartbeating every 10 minutes stay for hours",
		steps: func(s *readySim) { s.run(3 * time.Hour) },
		want:  map[string]bool{"a": false, "b": false},
	}, {
		name: "a Ready Kilo node (no marker) whose heartbeat stopped stays (Ready decides)",
		steps: func(s *readySim) {
			s.kilo("a")
			s.every["a"] = 0
			s.run(3 * time.Hour)
		},
		want: map[string]bool{"a": false, "b": false},
	}, {
		// Its agent is gone, kubelet runs. Bound: 3 × 10m + 1m = 31m,
		// aged up to this agent's echoes (every 10 minutes).
		name: "a Ready kgctl node whose agent is gone stays for 3 of its intervals plus the limit",
		steps: func(s *readySim) {
			s.every["a"] = 0
			s.run(30 * time.Minute)
		},
		want: map[string]bool{"a": false, "b": false},
	}, {
		name: "a Ready kgctl node whose agent is gone is stale at the first echo past the bound",
		steps: func(s *readySim) {
			s.every["a"] = 0
			s.run(41 * time.Minute)
		},
		want: map[string]bool{"a": true, "b": false},
	}, {
		name: "a Ready kgctl node writing every 2 minutes: a bound of 7 minutes",
		steps: func(s *readySim) {
			s.every["a"], s.marker["a"] = 2*time.Minute, 2*time.Minute
			s.observe("a", true)
			s.run(time.Hour)
			s.every["a"] = 0
			s.run(21 * time.Minute) // two echoes of self past the bound
		},
		want: map[string]bool{"a": true, "b": false},
	}, {
		name: "its agent back after it was dropped: alive again",
		steps: func(s *readySim) {
			s.every["a"] = 0
			s.run(time.Hour)
			s.every["a"] = 10 * time.Minute
			s.run(10 * time.Second)
		},
		want: map[string]bool{"a": false, "b": false},
	}, {
		name: "the API server away for an hour with Ready kgctl nodes: nobody is pruned",
		steps: func(s *readySim) {
			s.run(5 * time.Minute)
			s.down = true
			s.run(time.Hour)
		},
		want: map[string]bool{"a": false, "b": false},
	}, {
		name: "the API server back after an hour: the echo gap gives everyone a full bound again",
		steps: func(s *readySim) {
			s.run(5 * time.Minute)
			s.down = true
			s.every["a"] = 0 // a's agent dies during the outage
			s.run(time.Hour)
			s.down = false
			s.run(30 * time.Minute)
		},
		want:    map[string]bool{"a": false, "b": false},
		outages: 1,
	}, {
		name: "... and a node whose agent died during it goes a bound after the outage",
		steps: func(s *readySim) {
			s.run(5 * time.Minute)
			s.down = true
			s.every["a"] = 0
			s.run(time.Hour)
			s.down = false
			s.run(45 * time.Minute)
		},
		want:    map[string]bool{"a": true, "b": false},
		outages: 1,
	}, {
		name: "a node already past the bound before an outage stays dropped after it",
		steps: func(s *readySim) {
			s.every["a"] = 0
			s.run(45 * time.Minute)
			s.down = true
			s.run(time.Hour)
			s.down = false
			s.run(time.Minute)
		},
		want:    map[string]bool{"a": true, "b": false},
		outages: 1,
	}, {
		name: "a node Unknown for less than the limit stays",
		steps: func(s *readySim) {
			s.run(5 * time.Minute)
			s.every["a"] = 0
			s.set("a", "Unknown")
			s.run(50 * time.Second)
		},
		want: map[string]bool{"a": false, "b": false},
	}, {
		name: "a node Unknown for longer than the limit is stale, without waiting for an echo",
		steps: func(s *readySim) {
			s.run(5 * time.Minute)
			s.every["a"] = 0
			s.set("a", "Unknown")
			s.run(70 * time.Second)
		},
		want: map[string]bool{"a": true, "b": false},
	}, {
		name: "NotReady long but its agent heartbeats every resync (kubelet down) stays",
		steps: func(s *readySim) {
			s.run(5 * time.Minute)
			s.set("a", "False")
			s.every["a"] = 30 * time.Second
			s.observe("a", true) // its agent switches at once
			s.run(10 * time.Minute)
		},
		want: map[string]bool{"a": false, "b": false},
	}, {
		name: "Ready again after a blip shorter than the limit stays",
		steps: func(s *readySim) {
			s.set("a", "Unknown")
			s.run(30 * time.Second)
			s.set("a", "True")
			s.run(30 * time.Second)
			s.set("a", "Unknown")
			s.run(30 * time.Second)
		},
		want: map[string]bool{"a": false, "b": false},
	}, {
		name: "the controller's clock 5 minutes behind: a fresh Unknown is not stale at once",
		steps: func(s *readySim) {
			s.run(5 * time.Minute)
			s.every["a"] = 0
			s.setSkewed("a", "Unknown", -5*time.Minute)
			s.run(20 * time.Second)
		},
		want: map[string]bool{"a": false, "b": false},
	}, {
		name: "the controller's clock 5 minutes ahead: Unknown for 2 minutes is stale",
		steps: func(s *readySim) {
			s.run(5 * time.Minute)
			s.every["a"] = 0
			s.setSkewed("a", "Unknown", 5*time.Minute)
			s.run(2 * time.Minute)
		},
		want: map[string]bool{"a": true, "b": false},
	}, {
		name: "a control-plane outage of an hour drops no Ready node",
		steps: func(s *readySim) {
			s.run(5 * time.Minute)
			s.down = true
			s.run(time.Hour)
		},
		want: map[string]bool{"a": false, "b": false},
	}, {
		name: "a node that went NotReady for good before the outage is dropped during it",
		steps: func(s *readySim) {
			s.every["a"] = 0
			s.set("a", "Unknown")
			s.down = true
			s.run(5 * time.Minute)
		},
		want: map[string]bool{"a": true, "b": false},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newReadySim("a", "b")
			tc.steps(s)
			checkStale(t, s.stale, s.tr, tc.want)
			if got := s.tr.Status().Outages; got != tc.outages {
				t.Errorf("%d outages counted, want %d: echoes every 10 minutes are within EchoGap", got, tc.outages)
			}
		})
	}
}

func TestTrackerReadyFirstSight(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	tr := New(Options{Self: "self", StaleAfter: time.Minute, Now: c.now})
	tr.Observe("self", unix(c.t, 0), 0, topology.Readiness{Status: "True"})
	for _, tc := range []struct {
		name     string
		lastSeen time.Duration // before now
		ready    topology.Readiness
		stale    bool
	}{
		{"Ready, heartbeat a day old", 24 * time.Hour, topology.Readiness{Status: "True", Since: c.t.Add(-48 * time.Hour)}, false},
		{"NotReady for a day, heartbeat a day old", 24 * time.Hour, topology.Readiness{Status: "False", Since: c.t.Add(-24 * time.Hour)}, true},
		{"Unknown for 5 minutes by a skewed clock", 10 * time.Minute, topology.Readiness{Status: "Unknown", Since: c.t.Add(-5 * time.Minute)}, false},
		{"Unknown since a time in the future (skew)", 10 * time.Minute, topology.Readiness{Status: "Unknown", Since: c.t.Add(time.Hour)}, false},
		{"NotReady for a day, heartbeat fresh", 0, topology.Readiness{Status: "False", Since: c.t.Add(-24 * time.Hour)}, false},
		{"Unknown for a day, no heartbeat ever", -1, topology.Readiness{Status: "Unknown", Since: c.t.Add(-24 * time.Hour)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, at := unix(c.t, -tc.lastSeen), c.t.Add(-tc.lastSeen)
			if tc.lastSeen < 0 {
				v, at = "", time.Time{}
			}
			tr.Observe(tc.name, v, 0, tc.ready)
			if got := engineStale(tr, c.t, tc.name, at, tc.ready); got != tc.stale {
				t.Errorf("stale = %v, want %v", got, tc.stale)
			}
			// A grace period is a grace period: a minute on, the ones
			// let in with an old heartbeat go.
			if !tc.stale && tc.ready.Status != "True" && tc.lastSeen > 0 {
				c.add(61 * time.Second)
				defer c.add(-61 * time.Second)
				if !engineStale(tr, c.t, tc.name, at, tc.ready) {
					t.Error("still not stale a minute after first sight")
				}
			}
		})
	}
}

// TestTrackerEchoGap: an agent that writes its heartbeat every 10 minutes
// sets the echo gap to match, or every echo would count as an outage.
func TestTrackerEchoGap(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	tr := New(Options{Self: "self", StaleAfter: time.Minute, EchoGap: 75 * time.Second, Now: c.now})
	for i := range 3 {
		tr.Observe("self", unix(c.t, 0), 0, topology.Readiness{Status: "True"})
		c.add(10 * time.Minute)
		_ = i
	}
	if got := tr.Status().Outages; got != 2 {
		t.Fatalf("outages = %d before SetEchoGap, want 2", got)
	}
	tr.SetEchoGap(25 * time.Minute)
	for range 3 {
		tr.Observe("self", unix(c.t, 0), 0, topology.Readiness{Status: "True"})
		c.add(10 * time.Minute)
	}
	if got := tr.Status().Outages; got != 2 {
		t.Errorf("outages = %d after SetEchoGap(25m), want still 2", got)
	}
	// Back to every resync: the first echo may still take the long
	// interval once; then a long gap is an outage again.
	tr.SetEchoGap(75 * time.Second)
	tr.Observe("self", unix(c.t, 0), 0, topology.Readiness{Status: "True"})
	if got := tr.Status().Outages; got != 2 {
		t.Errorf("outages = %d on the first echo after shortening the gap, want still 2", got)
	}
	c.add(3 * time.Minute)
	tr.Observe("self", unix(c.t, 0), 0, topology.Readiness{Status: "True"})
	if got := tr.Status().Outages; got != 3 {
		t.Errorf("outages = %d after a 3-minute gap, want 3", got)
	}
}

// TestTrackerObserveChanged: Observe reports a change of liveness (what
// wakes the reconciler), not every change of a value.
func TestTrackerObserveChanged(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	tr := New(Options{Self: "self", StaleAfter: time.Minute, EchoGap: 90 * time.Second, Now: c.now})
	ready := topology.Readiness{Status: "True", Since: c.t}
	unknown := topology.Readiness{Status: "Unknown", Since: c.t}
	none := topology.Readiness{}
	for _, step := range []struct {
		name, node, lastSeen string
		ready                topology.Readiness
		wait                 time.Duration // before the observation
		want                 bool
	}{
		{"self first seen", "self", "1", ready, 0, false},
		{"a first seen Ready", "a", "1", ready, 0, false},
		{"b first seen without a condition", "b", "1", none, 0, false},
		{"a heartbeats", "a", "2", ready, 10 * time.Second, false},
		{"a turns Unknown: still alive", "a", "2", unknown, 0, false},
		{"self echoes", "self", "2", ready, 30 * time.Second, false},
		{"self echoes again: b is stale now, by time", "self", "3", ready, 50 * time.Second, false},
		{"a Ready again after going stale", "a", "2", ready, 0, true},
		{"a turns Unknown again", "a", "2", unknown, 0, false},
		{"b heartbeats again after going stale", "b", "2", none, 0, true},
		{"b heartbeats, alive already", "b", "3", none, 10 * time.Second, false},
		{"a heartbeats while Unknown but not yet stale", "a", "3", unknown, 0, false},
	} {
		c.add(step.wait)
		if got := tr.Observe(step.node, step.lastSeen, 0, step.ready); got != step.want {
			t.Errorf("%s: Observe = %v, want %v", step.name, got, step.want)
		}
	}
}

// TestTrackerReadyMarkerFirstSight: a Ready kgctl node first seen (this
// agent starting) with an old heartbeat is let in for a full bound
// unless the heartbeat is older than the bound plus the skew tolerance
// by the local clock (3 × 10m + 1m + 15m = 46m); a Ready node without
// the marker is let in whatever its heartbeat.
func TestTrackerReadyMarkerFirstSight(t *testing.T) {
	const every = 10 * time.Minute
	ready := topology.Readiness{Status: "True", Since: time.Unix(1_700_000_000, 0)}
	for _, tc := range []struct {
		name     string
		lastSeen time.Duration // before now; <0: none
		marker   time.Duration
		stale    bool
		// staleLater: after 32 minutes and an echo, no heartbeat since.
		staleLater bool
	}{
		{"heartbeat 10 minutes old", 10 * time.Minute, every, false, true},
		{"heartbeat 40 minutes old (a clock off, or nearly dead)", 40 * time.Minute, every, false, true},
		{"heartbeat 50 minutes old", 50 * time.Minute, every, true, true},
		{"heartbeat a day old", 24 * time.Hour, every, true, true},
		{"no heartbeat", -1, every, true, true},
		{"heartbeat ahead of the local clock", -time.Hour + 1, every, false, true},
		{"no marker (Kilo), heartbeat a day old", 24 * time.Hour, 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: time.Unix(1_800_000_000, 0)}
			tr := New(Options{Self: "self", StaleAfter: time.Minute, EchoGap: 25 * time.Minute, Now: c.now})
			tr.Observe("self", unix(c.t, 0), every, ready)
			v, at := unix(c.t, -tc.lastSeen), c.t.Add(-tc.lastSeen)
			if tc.lastSeen == -1 {
				v, at = "", time.Time{}
			}
			tr.Observe("n", v, tc.marker, ready)
			if got := engineStaleMarked(tr, c.t, "n", at, ready, tc.marker); got != tc.stale {
				t.Errorf("stale at first sight = %v, want %v", got, tc.stale)
			}
			for range 4 { // echoes every 8 minutes
				c.add(8 * time.Minute)
				tr.Observe("self", unix(c.t, 0), every, ready)
			}
			if got := engineStaleMarked(tr, c.t, "n", at, ready, tc.marker); got != tc.staleLater {
				t.Errorf("stale 32 minutes on = %v, want %v", got, tc.staleLater)
			}
			if got := tr.Status().Stale; got != map[bool]int{true: 1}[tc.staleLater] {
				t.Errorf("Status().Stale = %d", got)
			}
		})
	}
}

// TestTrackerObserveChangedMarker: a Ready kgctl node dropped for its
// heartbeat wakes the reconciler when it heartbeats again; a change of
// its published interval that makes it alive does too.
func TestTrackerObserveChangedMarker(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	tr := New(Options{Self: "self", StaleAfter: time.Minute, EchoGap: 25 * time.Minute, Now: c.now})
	ready := topology.Readiness{Status: "True", Since: c.t}
	const every = 10 * time.Minute
	for _, step := range []struct {
		name, node, lastSeen string
		marker               time.Duration
		wait                 time.Duration // before the observation
		want                 bool
	}{
		{"self first seen", "self", "1", every, 0, false},
		{"a first seen", "a", "1", every, 0, false},
		{"self echoes", "self", "2", every, 10 * time.Minute, false},
		{"self echoes", "self", "3", every, 10 * time.Minute, false},
		{"self echoes: a past the bound now, by time", "self", "4", every, 12 * time.Minute, false},
		{"a heartbeats again", "a", "2", every, 10 * time.Second, true},
		{"self echoes", "self", "5", every, 10 * time.Minute, false},
		{"self echoes", "self", "6", every, 10 * time.Minute, false},
		{"self echoes: a past the bound again", "self", "7", every, 12 * time.Minute, false},
		{"a publishes an hour: within its bound again", "a", "2", time.Hour, 0, true},
		{"a drops the marker (Kilo): Ready is alive, no change", "a", "2", 0, 0, false},
	} {
		c.add(step.wait)
		if got := tr.Observe(step.node, step.lastSeen, step.marker, ready); got != step.want {
			t.Errorf("%s: Observe = %v, want %v", step.name, got, step.want)
		}
	}
}
