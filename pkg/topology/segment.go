package topology

import (
	"net/netip"
	"slices"
	"strings"
)

// segKey places a node the way Kilo does: by location, or alone when the
// granularity asks for it or when it has no internal IP to reach its
// location's leader with. Kilo names segments "location:NAME" and
// "node:NAME" and sorts them by that id, which fixes the WireGuard IPs:
// locations first, by name, then single nodes, by name.
type segKey struct {
	byNode bool
	name   string
}

func compareSegKey(a, b segKey) int {
	if a.byNode != b.byNode {
		if a.byNode {
			return 1
		}
		return -1
	}
	return strings.Compare(a.name, b.name)
}

// segmentOf returns the node's segment and its logical location.
func (m *Mesh) segmentOf(n *Node) (segKey, string) {
	loc := segKey{name: n.Location}
	if !n.InternalIP.IsValid() {
		loc = segKey{byNode: true, name: n.Name}
	}
	if m.Settings.Granularity == LocationGranularity {
		return loc, loc.name
	}
	return segKey{byNode: true, name: n.Name}, loc.name
}

// segment groups the nodes into sorted segments, elects their leaders
// and lists what other segments route to each. Members are copied into
// one array, and every segment's allowed IPs into another (each with
// room for the WireGuard IP allocate adds).
func (m *Mesh) segment(nodes []*Node) {
	// Group by segment (a map of the few locations, or every node its
	// own), then order the groups and each group's members by name;
	// indices are sorted, not nodes, and lists already in order (an API
	// server lists by name) are left as they are.
	byName := func(a, b int32) int { return strings.Compare(nodes[a].Name, nodes[b].Name) }
	type group struct {
		key     segKey
		loc     string
		members []int32
	}
	var groups []group
	prefixes := 0
	if m.Settings.Granularity == LocationGranularity {
		index := make(map[segKey]int)
		for i, n := range nodes {
			k, loc := m.segmentOf(n)
			g, ok := index[k]
			if !ok {
				g = len(groups)
				index[k] = g
				groups = append(groups, group{key: k, loc: loc})
			}
			groups[g].members = append(groups[g].members, int32(i))
			prefixes += len(n.PodCIDRs) + 2
		}
		slices.SortFunc(groups, func(a, b group) int { return compareSegKey(a.key, b.key) })
		for _, g := range groups {
			if !slices.IsSortedFunc(g.members, byName) {
				slices.SortFunc(g.members, byName)
			}
		}
	} else {
		order := make([]int32, len(nodes))
		for i, n := range nodes {
			order[i] = int32(i)
			prefixes += len(n.PodCIDRs) + 2
		}
		if !slices.IsSortedFunc(order, byName) {
			slices.SortFunc(order, byName)
		}
		groups = make([]group, len(order))
		for j, i := range order {
			k, loc := m.segmentOf(nodes[i])
			groups[j] = group{key: k, loc: loc, members: order[j : j+1 : j+1]}
		}
	}
	all := make([]Node, len(nodes))
	ips := make([]netip.Prefix, 0, prefixes)
	m.Segments = make([]Segment, len(groups))
	off := 0
	for si, g := range groups {
		seg := &m.Segments[si]
		seg.Name = g.key.name
		seg.Location = g.loc
		seg.Nodes = all[off : off+len(g.members) : off+len(g.members)]
		off += len(g.members)
		for k, i := range g.members {
			seg.Nodes[k] = *nodes[i]
			m.nodes[seg.Nodes[k].Name] = nodeRef{segment: si, index: k}
		}
		seg.Leader = m.electLeader(seg)
		start := len(ips)
		for _, n := range seg.Nodes {
			ips = append(ips, n.PodCIDRs...)
			if n.InternalIP.IsValid() && !m.unrouted[n.Name] {
				ips = append(ips, hostPrefix(n.InternalIP.Addr()))
			}
		}
		// Room for the WireGuard IP; nothing else appends in place.
		ips = append(ips, netip.Prefix{})
		seg.AllowedIPs = ips[start : len(ips)-1 : len(ips)]
	}
}
