// Package liveness decides which nodes' agents are alive from what one
// agent observes through its watch, never by comparing another node's
// clock with its own.
//
// A node's `kilo.squat.ai/last-seen` is treated as an opaque heartbeat:
// what matters is when this agent saw it change, on this agent's clock.
// Elapsed time only counts while the watch is known to deliver: the proof
// is the agent's own heartbeat coming back through it (its echo). So
//   - clock skew between nodes cannot drop anyone (values are never
//     compared with the local clock, except once, generously, for a
//     node first seen long dead);
//   - a control-plane outage prunes nothing: the echo stops, and with it
//     the clock that ages the others; after a gap, every node that was
//     alive gets a full grace period again, so nobody is dropped before
//     its first heartbeat after the outage arrives.
//
// It does not decide anything for read-only commands on files or a
// one-shot list: those have no watch to observe and use the annotation.
package liveness

import (
	"strconv"
	"sync"
	"time"
)

// Options configure a Tracker.
type Options struct {
	// Self is the node whose heartbeats prove the watch is live.
	Self string
	// StaleAfter is how long a node's heartbeat may stay unchanged,
	// measured up to this agent's latest echo, before it is stale.
	StaleAfter time.Duration
	// EchoGap is the longest expected interval between two echoes (a few
	// of the agent's own heartbeat periods); a longer gap was an outage.
	EchoGap time.Duration
	// SkewTolerance bounds how far another node's clock may be off: a node
	// whose heartbeat, when first seen, is older than StaleAfter plus this
	// by the local clock starts out stale (a node long dead is not let
	// back in for a grace period whenever this agent restarts).
	SkewTolerance time.Duration
	// Now is the agent's clock.
	Now func() time.Time
}

// DefaultSkewTolerance is generous: clocks off by minutes are common on
// hosts without NTP; a node dead for longer than this plus StaleAfter
// starts out stale.
const DefaultSkewTolerance = 15 * time.Minute

// Tracker records heartbeat observations. It is safe for concurrent use:
// the watch's handlers observe while the reconciler reads.
type Tracker struct {
	o Options

	mu    sync.Mutex
	nodes map[string]*entry
	// echo is when the agent's own heartbeat last came back; zero before
	// the first. Ages are measured up to it, not up to Now.
	echo time.Time
	// outages counts gaps longer than EchoGap, for metrics.
	outages int
}

type entry struct {
	value string
	// seen is when value was last seen to change (local clock), or, for
	// a node first seen long dead, the annotated time.
	seen time.Time
	// dead marks a node judged stale before an outage, or first seen long
	// dead: the grace period after a gap is for the living only.
	dead bool
}

// New returns a Tracker; zero options get defaults (StaleAfter 1m, EchoGap
// 3×StaleAfter/2, SkewTolerance DefaultSkewTolerance, time.Now).
func New(o Options) *Tracker {
	if o.StaleAfter <= 0 {
		o.StaleAfter = time.Minute
	}
	if o.EchoGap <= 0 {
		o.EchoGap = 3 * o.StaleAfter / 2
	}
	if o.SkewTolerance <= 0 {
		o.SkewTolerance = DefaultSkewTolerance
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Tracker{o: o, nodes: map[string]*entry{}}
}

// Observe records a node's heartbeat value as the watch delivers it (on
// every add and update, changed or not).
func (t *Tracker) Observe(node, lastSeen string) {
	now := t.o.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.nodes[node]
	if ok && e.value == lastSeen {
		return
	}
	if !ok {
		e = &entry{}
		t.nodes[node] = e
	}
	e.value, e.seen, e.dead = lastSeen, now, false
	if !ok && node != t.o.Self {
		if at, long := t.longDead(lastSeen, now); long {
			e.seen, e.dead = at, true
		}
	}
	if node == t.o.Self && lastSeen != "" {
		t.echoed(now)
	}
}

// longDead reports whether a heartbeat first seen is older, by the local
// clock, than StaleAfter plus the skew tolerance, and its time.
func (t *Tracker) longDead(v string, now time.Time) (time.Time, bool) {
	s, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, v == "" // no heartbeat at all: never alive
	}
	at := time.Unix(s, 0)
	return at, now.Sub(at) > t.o.StaleAfter+t.o.SkewTolerance
}

// echoed moves the aging clock to now. After a gap longer than EchoGap
// (an outage, or this agent's own absence) it restarts every living
// node's grace period: their heartbeats could not arrive meanwhile.
func (t *Tracker) echoed(now time.Time) {
	if !t.echo.IsZero() && now.Sub(t.echo) > t.o.EchoGap {
		t.outages++
		for name, e := range t.nodes {
			if name == t.o.Self || e.dead {
				continue
			}
			if t.echo.Sub(e.seen) > t.o.StaleAfter {
				e.dead = true // was already stale before the gap
				continue
			}
			e.seen = now
		}
	}
	t.echo = now
}

// Forget drops a deleted node.
func (t *Tracker) Forget(node string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.nodes, node)
}

// LastSeen is the node's heartbeat time for the engine's readiness check
// against Settings.Now = the local clock: now for a node alive by
// observation, and the local time its heartbeat last changed for a stale
// one (so the engine reports how long ago, on this node's clock). A node
// never observed keeps the annotated time.
func (t *Tracker) LastSeen(node string, annotated time.Time) time.Time {
	now := t.o.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.nodes[node]
	switch {
	case !ok || annotated.IsZero():
		return annotated
	case node == t.o.Self:
		return now
	case t.stale(e):
		return e.seen
	}
	return now
}

// stale: dead, or unchanged for longer than StaleAfter up to the latest
// echo. Without an echo yet (the agent has just started) nobody ages.
func (t *Tracker) stale(e *entry) bool {
	return e.dead || (!t.echo.IsZero() && t.echo.Sub(e.seen) > t.o.StaleAfter)
}

// Status is what the tracker knows, for metrics and logs.
type Status struct {
	// EchoAge is how long ago the agent's own heartbeat came back; -1
	// before the first.
	EchoAge time.Duration
	// Outages counts echo gaps longer than EchoGap.
	Outages int
	// Stale counts nodes judged stale now.
	Stale int
}

// Status reports the tracker's state.
func (t *Tracker) Status() Status {
	now := t.o.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	s := Status{EchoAge: -1, Outages: t.outages}
	if !t.echo.IsZero() {
		s.EchoAge = now.Sub(t.echo)
	}
	for name, e := range t.nodes {
		if name != t.o.Self && t.stale(e) {
			s.Stale++
		}
	}
	return s
}
