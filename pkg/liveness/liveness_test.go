package liveness

import (
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// clock is a fake agent clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func unix(t time.Time, skew time.Duration) string {
	return strconv.FormatInt(t.Add(skew).Unix(), 10)
}

// sim drives a tracker the way an agent's watch does: every node
// heartbeats every period with its own (possibly skewed) clock, unless it
// is dead or the API server is down.
type sim struct {
	c      *clock
	tr     *Tracker
	skew   map[string]time.Duration
	dead   map[string]bool
	down   bool
	period time.Duration
}

func newSim(nodes ...string) *sim {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := &sim{c: c, skew: map[string]time.Duration{}, dead: map[string]bool{}, period: 30 * time.Second,
		tr: New(Options{Self: "self", StaleAfter: time.Minute, EchoGap: 90 * time.Second, Now: c.now})}
	for _, n := range append([]string{"self"}, nodes...) {
		s.skew[n] = 0
	}
	s.beat()
	return s
}

// beat: every live node writes its heartbeat, if the API server is up.
func (s *sim) beat() {
	if s.down {
		return
	}
	for n, skew := range s.skew {
		if !s.dead[n] {
			s.tr.Observe(n, unix(s.c.t, skew), 0, topology.Readiness{})
		}
	}
}

// run advances d in heartbeat periods (the phases of the nodes' writes
// do not matter to the tracker: it only sees changes).
func (s *sim) run(d time.Duration) {
	for end := s.c.t.Add(d); s.c.t.Before(end); {
		s.c.add(s.period)
		s.beat()
	}
}

func (s *sim) stale(n string) bool { return engineStale(s.tr, s.c.t, n, s.c.t, topology.Readiness{}) }

// engineStale is the engine's verdict, with the agent's clock as
// Settings.Now, on a node annotated with lastSeen and ready after the
// tracker adjusted it: whether it is left out of the mesh.
func engineStale(tr *Tracker, now time.Time, name string, lastSeen time.Time, ready topology.Readiness) bool {
	return engineStaleMarked(tr, now, name, lastSeen, ready, 0)
}

// engineStaleMarked is engineStale for a node that publishes its
// heartbeat interval (a kgctl agent's marker).
func engineStaleMarked(tr *Tracker, now time.Time, name string, lastSeen time.Time, ready topology.Readiness, interval time.Duration) bool {
	n := topology.Node{
		Name: name, Key: wireguard.Key{1}, LastSeen: lastSeen, Ready: ready, HeartbeatInterval: interval,
		Endpoint: wireguard.Endpoint{Addr: netip.MustParseAddr("198.51.100.1"), Port: 51820},
		PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.2.0.0/24")},
	}
	tr.Adjust(&n)
	s := topology.DefaultSettings()
	s.Now = now
	m, err := topology.Build(topology.Cluster{Settings: s, Nodes: []topology.Node{n}})
	if err != nil {
		panic(err)
	}
	return len(m.Segments) == 0
}

func TestTracker(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps func(s *sim)
		want  map[string]bool // node -> stale
	}{{
		name:  "all alive",
		steps: func(s *sim) { s.run(10 * time.Minute) },
		want:  map[string]bool{"a": false, "b": false},
	}, {
		name: "a dies and is pruned after StaleAfter",
		steps: func(s *sim) {
			s.run(2 * time.Minute)
			s.dead["a"] = true
			s.run(2 * time.Minute)
		},
		want: map[string]bool{"a": true, "b": false},
	}, {
		name: "a dies, not yet pruned within StaleAfter",
		steps: func(s *sim) {
			s.run(2 * time.Minute)
			s.dead["a"] = true
			s.run(30 * time.Second)
		},
		want: map[string]bool{"a": false, "b": false},
	}, {
		name: "three-minute outage prunes nobody, during or after",
		steps: func(s *sim) {
			s.run(time.Minute)
			s.down = true
			s.run(3 * time.Minute)
		},
		want: map[string]bool{"a": false, "b": false},
	}, {
		name: "after an outage, self echoes first: the others get a grace period",
		steps: func(s *sim) {
			s.run(time.Minute)
			s.down = true
			s.run(3 * time.Minute)
			s.down = false
			s.tr.Observe("self", unix(s.c.t, 0), 0, topology.Readiness{}) // only our own write so far
			s.c.add(20 * time.Second)
		},
		want: map[string]bool{"a": false, "b": false},
	}, {
		name: "a node dead before the outage stays dead after it",
		steps: func(s *sim) {
			s.run(time.Minute)
			s.dead["a"] = true
			s.run(2 * time.Minute)
			s.down = true
			s.run(3 * time.Minute)
			s.down = false
			s.run(time.Minute)
		},
		want: map[string]bool{"a": true, "b": false},
	}, {
		name: "a node that died during the outage is pruned after it",
		steps: func(s *sim) {
			s.run(time.Minute)
			s.down = true
			s.dead["a"] = true
			s.run(3 * time.Minute)
			s.down = false
			s.run(2 * time.Minute)
		},
		want: map[string]bool{"a": true, "b": false},
	}, {
		name: "clocks five minutes off either way drop nobody",
		steps: func(s *sim) {
			s.skew["a"] = -5 * time.Minute
			s.skew["b"] = 5 * time.Minute
			s.run(10 * time.Minute)
		},
		want: map[string]bool{"a": false, "b": false},
	}, {
		name: "our own clock five minutes ahead drops nobody",
		steps: func(s *sim) {
			s.skew["self"] = 0 // the agent's clock is the sim's clock
			for n := range s.skew {
				if n != "self" {
					s.skew[n] = -5 * time.Minute
				}
			}
			s.run(10 * time.Minute)
		},
		want: map[string]bool{"a": false, "b": false},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim("a", "b")
			tc.steps(s)
			checkStale(t, s.stale, s.tr, tc.want)
		})
	}
}

func TestTrackerFirstSight(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	tr := New(Options{Self: "self", StaleAfter: time.Minute, Now: c.now})
	none := topology.Readiness{}
	tr.Observe("self", unix(c.t, 0), 0, none)
	tr.Observe("recent", unix(c.t, -10*time.Minute), 0, none) // within the skew tolerance
	tr.Observe("ancient", unix(c.t, -24*time.Hour), 0, none)  // long dead
	tr.Observe("never", "", 0, none)                          // no heartbeat at all
	stale := func(n string, annotated time.Time) bool { return engineStale(tr, c.t, n, annotated, none) }
	if stale("recent", c.t.Add(-10*time.Minute)) {
		t.Error("a node 10 minutes behind is stale at first sight")
	}
	if !stale("ancient", c.t.Add(-24*time.Hour)) {
		t.Error("a node dead for a day is not stale at first sight")
	}
	if !stale("never", time.Time{}) {
		t.Error("a node without heartbeat is not stale")
	}
	// The dead one comes back: alive at once.
	tr.Observe("ancient", unix(c.t, 0), 0, none)
	if stale("ancient", c.t) {
		t.Error("a node that heartbeats again is still stale")
	}
	if got, want := tr.Status().Stale, 1; got != want { // "never"
		t.Errorf("Status().Stale = %d, want %d", got, want)
	}
	tr.Forget("never")
	if got := tr.Status().Stale; got != 0 {
		t.Errorf("after Forget, Status().Stale = %d", got)
	}
}

func TestTrackerNoEchoNoAging(t *testing.T) {
	// An agent whose own writes never come back (its watch is stuck or
	// its patches fail) ages nobody.
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	tr := New(Options{Self: "self", StaleAfter: time.Minute, Now: c.now})
	tr.Observe("a", unix(c.t, 0), 0, topology.Readiness{})
	c.add(time.Hour)
	n := topology.Node{Name: "a", LastSeen: c.t.Add(-time.Hour)}
	tr.Adjust(&n)
	if n.LastSeen != c.t {
		t.Errorf("LastSeen = %v, want now (%v)", n.LastSeen, c.t)
	}
}

// checkStale checks each node's verdict against want, and that the
// agent's own node ("self") is never stale.
func checkStale(t *testing.T, stale func(string) bool, tr *Tracker, want map[string]bool) {
	t.Helper()
	for n, w := range want {
		if got := stale(n); got != w {
			t.Errorf("%s stale = %v, want %v (status %+v)", n, got, w, tr.Status())
		}
	}
	if stale("self") {
		t.Error("self is stale")
	}
}
