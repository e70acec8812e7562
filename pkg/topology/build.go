package topology

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/kgctl/kgctl/pkg/wireguard"
)

// Kilo's segment identifiers; their sort order fixes the WireGuard IPs.
const (
	locationPrefix = "location:"
	nodePrefix     = "node:"
)

// Build computes the whole mesh. It fails only on invalid settings;
// problems with individual nodes and peers are reported in Mesh.Problems
// and those objects (or the offending part of them) are left out.
func Build(c Cluster) (*Mesh, error) {
	s := c.Settings
	if err := s.Validate(); err != nil {
		return nil, err
	}
	m := &Mesh{Settings: s, nodes: make(map[string]nodeRef, len(c.Nodes)), unrouted: make(map[string]bool)}
	ready := m.readyNodes(c.Nodes)
	ready = m.claimNodes(ready, c.Peers)
	m.segment(ready)
	if m.allocate() {
		m.reclaimNodes(c.Peers)
	}
	m.claimLocations()
	m.acceptPeers(c.Peers)
	m.mergeDiscovered()
	m.prepareRoutes()
	m.warn()
	return m, nil
}

func (m *Mesh) problem(sev Severity, kind, name, field, value, format string, args ...any) {
	m.Problems = append(m.Problems, Problem{Severity: sev, Kind: kind, Name: name, Field: field, Value: value, Message: fmt.Sprintf(format, args...)})
}

// readyNodes drops nodes that cannot take part yet, saying why.
func (m *Mesh) readyNodes(nodes []Node) []*Node {
	seen := make(map[string]bool, len(nodes))
	ready := make([]*Node, 0, len(nodes))
	for i := range nodes {
		n := &nodes[i]
		switch {
		case n.Name == "":
			m.problem(Error, "Node", "", "metadata.name", "", "node has no name; left out of the mesh")
			continue
		case seen[n.Name]:
			m.problem(Error, "Node", n.Name, "metadata.name", n.Name, "duplicate node; only the first one is used")
			continue
		}
		seen[n.Name] = true
		switch {
		case n.Key == wireguard.Key{}:
			// Every node is in this state during a rollout, until its
			// agent starts: a warning, as Kilo leaves it out silently.
			m.problem(Warning, "Node", n.Name, "kilo.squat.ai/key", "", "no WireGuard public key (its agent has not started yet); left out of the mesh")
			continue
		case n.Endpoint.IsZero():
			m.problem(Error, "Node", n.Name, "kilo.squat.ai/endpoint", "", "no endpoint (set kilo.squat.ai/force-endpoint or wait for its agent); left out of the mesh")
			continue
		case len(n.PodCIDRs) == 0:
			m.problem(Error, "Node", n.Name, "spec.podCIDR", "", "no pod CIDR allocated; left out of the mesh")
			continue
		case m.stale(n):
			m.staleProblem(n)
			continue
		}
		if n.Granularity != "" && n.Granularity != m.Settings.Granularity {
			m.problem(Warning, "Node", n.Name, "kilo.squat.ai/granularity", string(n.Granularity),
				"its agent runs with granularity %q but the mesh is computed with %q", n.Granularity, m.Settings.Granularity)
		}
		ready = append(ready, n)
	}
	return ready
}

// stale decides liveness (see Settings.Now). A Ready node is alive
// whatever its last-seen (kgctl agents refresh it rarely when nobody
// needs it) unless it publishes how rarely and its last-seen is well
// past that (kubelet runs, its agent is gone). A node not Ready is stale
// once it has been so for the limit, unless its agent still checks in
// (kubelet down, agent and tunnels up: its pods still run and are
// reachable).
func (m *Mesh) stale(n *Node) bool {
	s := m.Settings
	if s.Now.IsZero() || s.StaleAfter <= 0 {
		return false
	}
	seenStale := n.LastSeen.IsZero() || s.Now.Sub(n.LastSeen) > s.StaleAfter
	switch n.Ready.Status {
	case "":
		return seenStale
	case ReadyTrue:
		return n.HeartbeatInterval > 0 &&
			(n.LastSeen.IsZero() || s.Now.Sub(n.LastSeen) > ReadyHeartbeatBound(n.HeartbeatInterval, s.StaleAfter))
	}
	return seenStale && (n.Ready.Since.IsZero() || s.Now.Sub(n.Ready.Since) > s.StaleAfter)
}

// ReadyHeartbeatBound is how old a Ready node's last-seen may get when
// its agent publishes that it refreshes it every interval: three of its
// intervals plus the staleness limit. Past it, the node's agent is taken
// for gone although kubelet keeps the node Ready (docs/liveness.md).
func ReadyHeartbeatBound(interval, staleAfter time.Duration) time.Duration {
	return 3*interval + staleAfter
}

// ReadyTrue is the Ready condition's status of a live node.
const ReadyTrue = "True"

func (m *Mesh) staleProblem(n *Node) {
	s := m.Settings
	ago := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return s.Now.Sub(t).Round(time.Second).String() + " before now"
	}
	seen := ""
	if !n.LastSeen.IsZero() {
		seen = n.LastSeen.UTC().Format(time.RFC3339)
	}
	if n.Ready.Status == "" {
		m.problem(Error, "Node", n.Name, "kilo.squat.ai/last-seen", seen,
			"agent last seen %s (limit %s); left out of the mesh", ago(n.LastSeen), s.StaleAfter)
		return
	}
	if n.Ready.Status == ReadyTrue {
		m.problem(Error, "Node", n.Name, "kilo.squat.ai/last-seen", seen,
			"Ready, but agent last seen %s (limit %s: 3 × its heartbeat-interval %s + %s); left out of the mesh",
			ago(n.LastSeen), ReadyHeartbeatBound(n.HeartbeatInterval, s.StaleAfter), n.HeartbeatInterval, s.StaleAfter)
		return
	}
	m.problem(Error, "Node", n.Name, "status.conditions[Ready]", n.Ready.Status,
		"not Ready since %s and agent last seen %s (limit %s); left out of the mesh", ago(n.Ready.Since), ago(n.LastSeen), s.StaleAfter)
}

// electLeader picks, in name order, the first node that asks to lead and
// has a public endpoint, else the first that asks, else the first with a
// public endpoint, else the first: stable as long as membership is.
// Nodes that gave up leading (Demoted) are left out of that choice while
// any other node remains; when all gave up, the one that gave up first
// leads (it has had the longest to recover), the usual order breaking ties.
func (m *Mesh) electLeader(seg *Segment) int {
	cands := make([]int, 0, len(seg.Nodes))
	var demoted []int
	for i := range seg.Nodes {
		if seg.Nodes[i].Demoted.IsZero() {
			cands = append(cands, i)
		} else {
			demoted = append(demoted, i)
		}
	}
	if len(cands) == 0 {
		cands = slices.Clone(demoted)
		slices.SortStableFunc(cands, func(a, b int) int { return seg.Nodes[a].Demoted.Compare(seg.Nodes[b].Demoted) })
		first := seg.Nodes[cands[0]].Demoted
		cands = slices.DeleteFunc(cands, func(i int) bool { return !seg.Nodes[i].Demoted.Equal(first) })
		slices.Sort(cands)
	}
	var asked []int
	public := -1
	for _, i := range cands {
		n := &seg.Nodes[i]
		if n.Leader {
			asked = append(asked, i)
		}
		if public < 0 && isPublic(n.Endpoint) {
			public = i
		}
	}
	leader := cands[0]
	switch {
	case len(asked) > 0:
		leader = asked[0]
		for _, i := range asked {
			if isPublic(seg.Nodes[i].Endpoint) {
				leader = i
				break
			}
		}
	case public >= 0:
		leader = public
	}
	if len(asked) > 1 {
		names := make([]string, len(asked))
		for i, a := range asked {
			names[i] = seg.Nodes[a].Name
		}
		m.problem(Warning, "Location", seg.Name, "kilo.squat.ai/leader", "",
			"%d nodes ask to lead (%s); %s was chosen", len(asked), strings.Join(names, ", "), seg.Nodes[leader].Name)
	}
	if len(demoted) > 0 {
		names := make([]string, len(demoted))
		for i, d := range demoted {
			names[i] = seg.Nodes[d].Name
		}
		m.problem(Warning, "Location", seg.Name, "kilo.squat.ai/status", "",
			"%s gave up leading (demoted: data path failed, see docs/failover.md); %s leads", strings.Join(names, ", "), seg.Nodes[leader].Name)
	}
	return leader
}

// isPublic reports whether an endpoint is reachable from other networks.
// A DNS name is taken to be public: it is published so others resolve it.
func isPublic(e wireguard.Endpoint) bool {
	if e.DNS != "" {
		return true
	}
	a := e.Addr
	return a.IsValid() && a.IsGlobalUnicast() && !a.IsPrivate()
}

// allocate gives segment leaders consecutive addresses from the subnet,
// in segment order, as Kilo does: no coordination, no state. It reports
// whether it had to drop segments.
func (m *Mesh) allocate() (dropped bool) {
	ip := m.Settings.Subnet.Addr()
	kept := m.Segments[:0]
	for _, seg := range m.Segments {
		ip = ip.Next()
		if !m.Settings.Subnet.Contains(ip) {
			for _, n := range seg.Nodes {
				delete(m.nodes, n.Name)
			}
			m.problem(Error, "Location", seg.Name, "--subnet", m.Settings.Subnet.String(),
				"the subnet has no address left for this segment; left out of the mesh")
			dropped = true
			continue
		}
		seg.WireGuardIP = ip
		seg.AllowedIPs = append(seg.AllowedIPs, hostPrefix(ip))
		kept = append(kept, seg)
	}
	m.Segments = kept
	if !dropped {
		return false
	}
	for si := range m.Segments {
		for i, n := range m.Segments[si].Nodes {
			m.nodes[n.Name] = nodeRef{segment: si, index: i}
		}
	}
	return dropped
}

func hostPrefix(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}
