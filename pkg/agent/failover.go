package agent

import (
	"context"
	"slices"
	"time"

	"github.com/kgctl/kgctl/pkg/health"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
)

// Leader failover on a dead data path (docs/failover.md). A segment
// leader whose probes show it received nothing from any other segment's
// leader for the probe timeout, while another segment's leader (a
// witness) reports it down and still has a tunnel up, gives up leading:
// it publishes "demoted" in its status, and the engine then elects
// another node of its segment. The flag stays while another node leads,
// so a link that comes back moves nothing back.

// maxStrikes bounds the back-off: after k demotions without the node
// ever receiving as a leader in between, it waits timeout << k (at most
// 32 × timeout) before giving up again. A location whose every node is
// cut would otherwise pass leadership round every few seconds.
const maxStrikes = 5

// failoverState is the agent's side of the demoted flag.
type failoverState struct {
	// loaded: the flag was read back from the node's own status
	// annotation (an agent restart keeps it).
	loaded bool
	// seen: the node's status annotation was present at the last
	// reconcile; its removal afterwards is an operator's reset.
	seen    bool
	demoted time.Time
	strikes int
	// leaderSince is when this node last became its segment's leader, as
	// the probe tick saw it: silence counts from then at the earliest (a
	// follower's tunnels carry nothing, whatever its path).
	leaderSince time.Time
}

// witness is another segment's leader and its published status.
type witness struct {
	Name   string
	Status string // the kilo.squat.ai/status annotation; "" none
}

// demotion is what decideDemotion looks at.
type demotion struct {
	Self    string
	Leader  bool // Self leads its segment
	Demoted bool // Self already gave up
	// Others is how many other nodes its segment has (someone to take over).
	Others int
	// Probed is how many other segments' leaders are probed and tracked.
	Probed int
	// Silent is how long nothing came from any of them.
	Silent time.Duration
	// Window is how long Silent must last (the probe timeout, backed off).
	Window    time.Duration
	Witnesses []witness
}

// decideDemotion says whether the node gives up leading, and why (or
// why not, for the logs).
func decideDemotion(d demotion) (bool, string) {
	switch {
	case !d.Leader:
		return false, "not a leader"
	case d.Demoted:
		return false, "already demoted"
	case d.Others == 0:
		return false, "no other node in the segment to take over"
	case d.Probed == 0:
		return false, "no other segment's leader to probe"
	case d.Silent < d.Window:
		return false, "received from another leader within the window"
	}
	for _, w := range d.Witnesses {
		if w.Name == d.Self {
			continue
		}
		if ok, _ := witnesses(w.Status, d.Self); ok {
			return true, "nothing received from any other leader for " + d.Silent.Round(time.Second).String() + "; " + w.Name + " reports this node down and has a tunnel up"
		}
	}
	return false, "no witness: no other leader reports this node down while having a tunnel up (failover needs 3 segments, or a VPN peer)"
}

// witnesses reports whether a status says its node's data path works
// (a tunnel up) while it does not hear self (self down or never up, or
// its lists were cut to their bound).
func witnesses(status, self string) (bool, error) {
	if status == "" {
		return false, nil
	}
	s, err := health.Decode(status)
	if err != nil {
		return false, err
	}
	hearsNothing := slices.Contains(s.Down, self) || slices.Contains(s.Never, self) || s.DownMore > 0 || s.NeverMore > 0
	return s.Up >= 1 && hearsNothing, nil
}

// loadFailover reads the flag back from the node's own status at the
// first reconcile, and notices an operator removing the annotation
// (kubectl annotate node NAME kilo.squat.ai/status-): that clears it.
func (a *Agent) loadFailover(current map[string]string) {
	f := &a.failover
	v, has := current[health.Key]
	defer func() { f.seen = has }()
	if !f.loaded {
		f.loaded = true
		if d, err := translate.Demoted(v); err == nil && !d.IsZero() {
			f.demoted = d
			a.o.Logger.Info("still demoted (read back from the node's status)", "since", d.UTC().Format(time.RFC3339))
		}
		return
	}
	if f.seen && !has && !f.demoted.IsZero() {
		a.o.Logger.Info("status annotation removed: demotion cleared")
		f.demoted = time.Time{}
	}
}

// clearIfLeading clears the flag of a demoted node that leads anyway:
// every other node of its segment gave up too, or left.
func (a *Agent) clearIfLeading(view topology.NodeView) {
	if !a.failover.demoted.IsZero() && view.Leader {
		a.o.Logger.Info("leading again (every other node of the segment is demoted or gone): demotion cleared")
		a.failover.demoted = time.Time{}
	}
}

// checkFailover runs on each probe tick, after the sample: it demotes
// the node when decideDemotion says so, reading the witnesses' status
// from the cache only then (rarely).
func (a *Agent) checkFailover(m *topology.Mesh, view topology.NodeView, probed map[string]bool, now time.Time) {
	f := &a.failover
	if !view.Leader {
		f.leaderSince = time.Time{}
		return
	}
	if f.leaderSince.IsZero() {
		f.leaderSince = now
	}
	if !f.demoted.IsZero() {
		return
	}
	latest := f.leaderSince
	tracked, receiving := 0, false
	for k := range probed {
		at, grew, ok := a.health.tracker.LastReceived(k)
		if !ok {
			continue
		}
		tracked++
		if at.After(latest) {
			latest = at
		}
		if grew && now.Sub(at) < a.o.Probe.Timeout {
			receiving = true
		}
	}
	if receiving {
		f.strikes = 0 // this node's data path works as a leader
		return
	}
	d := demotion{
		Self: a.o.Self.Name, Leader: true, Others: len(view.Segment.Nodes) - 1, Probed: tracked,
		Silent: now.Sub(latest), Window: a.o.Probe.Timeout << min(f.strikes, maxStrikes),
	}
	if tracked == 0 || d.Others == 0 || d.Silent < d.Window {
		return
	}
	leaders := make(map[string]bool, len(m.Segments))
	for i := range m.Segments {
		if s := &m.Segments[i]; s != view.Segment {
			leaders[s.LeaderNode().Name] = true
		}
	}
	for _, n := range a.o.Cluster.Objects().Nodes {
		if leaders[n.Name] {
			d.Witnesses = append(d.Witnesses, witness{Name: n.Name, Status: n.Annotations[health.Key]})
		}
	}
	ok, why := decideDemotion(d)
	if !ok {
		if why != a.lastNoDemote {
			a.o.Logger.Warn("data path silent, not giving up leadership", "why", why)
			a.lastNoDemote = why
		}
		return
	}
	a.lastNoDemote = ""
	f.demoted = now.Truncate(time.Second)
	f.strikes++
	a.o.Logger.Warn("giving up leadership of the segment (demoted)", "segment", view.Segment.Name, "why", why, "strikes", f.strikes)
}

// probeTick probes the other leaders, samples the device, and demotes the
// node when its data path died; a changed status is published at once
// (through a reconcile, which also applies the new leadership).
func (a *Agent) probeTick(ctx context.Context) {
	m, view := a.mesh, a.view
	if m == nil {
		return
	}
	now := a.o.Now()
	leaders, probed := probeTargets(m, view)
	// Silent leaders are probed rarely (probegate.go): WireGuard keeps
	// what is sent to a peer without a session.
	targets := a.probes.due(leaders, now, a.o.Probe.Timeout, a.health.tracker.LastReceived)
	if len(targets) > 0 && a.o.Probe.Prober != nil {
		if err := a.o.Probe.Prober.Probe(targets); err != nil && !a.probeFailed {
			a.o.Logger.Warn("probing other leaders", "err", err)
			a.probeFailed = true
		} else if err == nil {
			a.probeFailed = false
		}
	}
	if !a.observeTunnels(probed, now) {
		return
	}
	a.checkFailover(m, view, probed, now)
	before := a.health.value
	a.renderStatus()
	if a.health.value != before {
		if err := a.Reconcile(ctx); err != nil && ctx.Err() == nil {
			a.o.Logger.Error("reconcile failed", "trigger", "status", "err", err)
		}
	}
}
