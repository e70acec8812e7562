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
// A node with a Ready condition (kubelet's, kept by the node lifecycle
// controller) is judged by it instead: Ready is alive, whatever its
// last-seen (kgctl agents refresh it rarely when nobody needs it), unless
// its agent publishes how rarely (kilo.squat.ai/heartbeat-interval) and
// its heartbeat stayed unchanged for longer than three such intervals
// plus StaleAfter, aged up to the echo as above (kubelet runs, the agent
// is gone); not Ready is stale once this agent has seen it so for
// StaleAfter, on its own clock, unless the node's agent still heartbeats
// meanwhile (kubelet down, agent and tunnels up). The condition changes
// only on transitions, so the watch carries changes, not time.
//
// It does not decide anything for read-only commands on files or a
// one-shot list: those have no watch to observe and use the annotation
// and the condition's lastTransitionTime.
package liveness

import (
	"strconv"
	"sync"
	"time"

	"github.com/kgctl/kgctl/pkg/topology"
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
	// SetEchoGap changes it when the agent changes how often it writes.
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
	// nextGap, when set, is the echo gap for the next echo only: the one
	// before SetEchoGap shortened it (the heartbeat written rarely until
	// now may take that long once more).
	nextGap time.Duration
	// outages counts gaps longer than EchoGap, for metrics.
	outages int
}

type entry struct {
	value string
	// seen is when value was last seen to change, or first seen (local
	// clock).
	seen time.Time
	// first is set while value is the one first seen; firstAge is how old
	// it was then by the local clock (negative: not a Unix time), for
	// the first-seen check (longDead).
	first    bool
	firstAge time.Duration
	// dead marks a node judged stale before an outage: the grace period
	// after a gap is for the living only.
	dead bool
	// interval is the heartbeat interval the node publishes (the kgctl
	// marker); zero without one.
	interval time.Duration
	// ready is the Ready condition's status ("" none), readySince when
	// this agent saw it change (or, first seen not Ready for long, the
	// condition's lastTransitionTime).
	ready      string
	readySince time.Time
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

// SetEchoGap changes the longest expected interval between two echoes:
// the agent calls it before it starts writing its heartbeat more or less
// often (see agent.HeartbeatNeeded).
func (t *Tracker) SetEchoGap(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if d <= 0 || d == t.o.EchoGap {
		return
	}
	if d < t.o.EchoGap {
		t.nextGap = max(t.nextGap, t.o.EchoGap)
	}
	t.o.EchoGap = d
}

// Observe records a node's heartbeat value, the heartbeat interval it
// publishes (zero: none, a Kilo agent) and its Ready condition as the
// watch delivers them (on every add and update, changed or not). It
// reports whether the node's liveness changed with them (a stale node
// heartbeats or is Ready again): the watch wakes the reconciler then,
// and only then, for a heartbeat or a Ready change. A node turning stale
// does so with time, not with an update: the next resync drops it.
func (t *Tracker) Observe(node, lastSeen string, interval time.Duration, ready topology.Readiness) (changed bool) {
	now := t.o.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.nodes[node]
	if ok && node != t.o.Self {
		was := t.stale(e, now)
		defer func() { changed = was != t.stale(e, now) }()
	}
	if !ok {
		e = &entry{value: lastSeen, seen: now, first: true, firstAge: firstAge(lastSeen, now),
			interval: interval, ready: ready.Status, readySince: now}
		t.nodes[node] = e
		if node != t.o.Self {
			// Not Ready for long by the condition's own time (generously,
			// as for last-seen): no grace period at every agent restart.
			if ready.Status != "" && ready.Status != topology.ReadyTrue &&
				now.Sub(ready.Since) > t.o.StaleAfter+t.o.SkewTolerance {
				e.readySince = ready.Since
			}
		}
		if node == t.o.Self && lastSeen != "" {
			t.echoed(now)
		}
		return false
	}
	e.interval = interval
	if e.ready != ready.Status {
		e.ready, e.readySince = ready.Status, now
	}
	if e.value == lastSeen {
		return false
	}
	e.value, e.seen, e.dead, e.first = lastSeen, now, false, false
	if node == t.o.Self && lastSeen != "" {
		t.echoed(now)
	}
	return false
}

// firstAge is how old a heartbeat value is by the local clock; negative
// when it is not a Unix time.
func firstAge(v string, now time.Time) time.Duration {
	s, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return -1
	}
	return max(0, now.Sub(time.Unix(s, 0)))
}

// longDead reports whether a node's heartbeat, unchanged since it was
// first seen, was then older by the local clock than limit plus the
// skew tolerance (or absent: never alive). The one comparison of another
// node's clock with this one's: a node long dead is not let back in for
// a grace period every time this agent restarts.
func (t *Tracker) longDead(e *entry, limit time.Duration) bool {
	return e.first && (e.value == "" || e.firstAge > limit+t.o.SkewTolerance)
}

// limit is how long a node's heartbeat may stay unchanged, up to the
// echo, and whether it ages so at all: a node without a Ready condition
// for StaleAfter; a Ready one that publishes its heartbeat interval for
// topology.ReadyHeartbeatBound; other Ready nodes and nodes not Ready
// do not age up to the echo (see stale).
func (t *Tracker) limit(e *entry) (time.Duration, bool) {
	switch {
	case e.ready == "":
		return t.o.StaleAfter, true
	case e.ready == topology.ReadyTrue && e.interval > 0:
		return topology.ReadyHeartbeatBound(e.interval, t.o.StaleAfter), true
	}
	return 0, false
}

// echoed moves the aging clock to now. After a gap longer than EchoGap
// (an outage, or this agent's own absence) it restarts every living
// node's grace period: their heartbeats could not arrive meanwhile.
func (t *Tracker) echoed(now time.Time) {
	gap := max(t.o.EchoGap, t.nextGap)
	t.nextGap = 0
	if !t.echo.IsZero() && now.Sub(t.echo) > gap {
		t.outages++
		for name, e := range t.nodes {
			if name == t.o.Self || e.dead {
				continue
			}
			limit, aged := t.limit(e)
			if !aged || t.longDead(e, limit) {
				continue // does not age up to the echo, or was never alive
			}
			if t.echo.Sub(e.seen) > limit {
				e.dead = true // was already stale before the gap
				continue
			}
			e.seen, e.first = now, false
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

// Adjust replaces a node's liveness inputs (LastSeen, Ready) by this
// agent's observations, for the engine's check against Settings.Now = the
// local clock: a node alive by observation gets now; a stale one the
// local times its heartbeat and its Ready condition last changed (so the
// engine reports how long ago, on this node's clock). A node never
// observed keeps what it is annotated with.
func (t *Tracker) Adjust(n *topology.Node) {
	now := t.o.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.nodes[n.Name]
	if !ok {
		return
	}
	n.Ready.Status = e.ready
	if n.Name == t.o.Self || !t.stale(e, now) {
		n.LastSeen, n.Ready.Since = now, now
		return
	}
	n.LastSeen, n.Ready.Since = e.seen, e.readySince
	if e.first && e.firstAge >= 0 {
		n.LastSeen = e.seen.Add(-e.firstAge) // first seen long dead: its own time
	}
	if e.value == "" {
		n.LastSeen = time.Time{}
	}
}

// stale decides a node other than this agent's own.
//   - No Ready condition: its heartbeat stayed unchanged for longer than
//     StaleAfter up to the latest echo (without an echo yet, the agent
//     has just started, nobody ages).
//   - Ready, publishing its heartbeat interval (a kgctl agent): the same,
//     with three intervals plus StaleAfter for the limit (kubelet runs,
//     its agent is gone). Its agent writes at least every interval, so
//     the echo, which may come only every interval of this agent's own,
//     still ages it; and a frozen cache (an outage) ages nobody.
//   - Ready without a published interval (Kilo's agents): never.
//   - Not Ready: for longer than StaleAfter, and its heartbeat too, both
//     on the local clock. Not up to the echo: a kgctl agent echoes only
//     every --heartbeat-interval when nobody needs more, and a frozen
//     cache cannot make a Ready node stale (see docs/liveness.md).
func (t *Tracker) stale(e *entry, now time.Time) bool {
	if limit, aged := t.limit(e); aged {
		return e.dead || t.longDead(e, limit) || (!t.echo.IsZero() && t.echo.Sub(e.seen) > limit)
	}
	if e.ready == topology.ReadyTrue {
		return false
	}
	return now.Sub(e.readySince) > t.o.StaleAfter &&
		(e.dead || t.longDead(e, t.o.StaleAfter) || e.value == "" || now.Sub(e.seen) > t.o.StaleAfter)
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
		if name != t.o.Self && t.stale(e, now) {
			s.Stale++
		}
	}
	return s
}
