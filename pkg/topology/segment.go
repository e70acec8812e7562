package topology

import (
	"cmp"
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
	type member struct {
		key segKey
		loc string
		n   *Node
	}
	ms := make([]member, len(nodes))
	prefixes := 0
	for i, n := range nodes {
		k, loc := m.segmentOf(n)
		ms[i] = member{k, loc, n}
		prefixes += len(n.PodCIDRs) + 2
	}
	slices.SortFunc(ms, func(a, b member) int {
		return cmp.Or(compareSegKey(a.key, b.key), strings.Compare(a.n.Name, b.n.Name))
	})
	count := 0
	for i := range ms {
		if i == 0 || ms[i].key != ms[i-1].key {
			count++
		}
	}
	all := make([]Node, len(ms))
	ips := make([]netip.Prefix, 0, prefixes)
	m.Segments = make([]Segment, count)
	si := -1
	for i := 0; i < len(ms); {
		j := i + 1
		for j < len(ms) && ms[j].key == ms[i].key {
			j++
		}
		si++
		seg := &m.Segments[si]
		seg.Name = ms[i].key.name
		seg.Location = ms[i].loc
		seg.Nodes = all[i:j:j]
		for k := i; k < j; k++ {
			all[k] = *ms[k].n
			m.nodes[all[k].Name] = nodeRef{segment: si, index: k - i}
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
		i = j
	}
}
