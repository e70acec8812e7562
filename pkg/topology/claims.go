package topology

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// rank orders objects for ownership: the one ranked first keeps a
// contested key or prefix, so a newcomer can never take over a member.
// Older metadata.creationTimestamp first; an object without one (a file)
// after those with one; then by name. Nodes always rank before Peers
// (the callers claim nodes first).
func rank(at, bt time.Time, an, bn string) int {
	if az, bz := at.IsZero(), bt.IsZero(); az != bz {
		if az {
			return 1
		}
		return -1
	}
	return cmp.Or(at.Compare(bt), strings.Compare(an, bn))
}

func rankNodes(a, b *Node) int { return rank(a.CreationTimestamp, b.CreationTimestamp, a.Name, b.Name) }

// Fields claims come from, as the user wrote them.
const (
	fieldKey        = "kilo.squat.ai/key"
	fieldEndpoint   = "kilo.squat.ai/endpoint"
	fieldInternalIP = "kilo.squat.ai/internal-ip"
	fieldPodCIDR    = "spec.podCIDR"
	fieldALIP       = "kilo.squat.ai/allowed-location-ips"
	fieldPeerKey    = "spec.publicKey"
	fieldPeerIPs    = "spec.allowedIPs"
)

// newClaims sizes an ownership for the input: lookups happen at the
// lengths of what claims after a check (the reserved ranges claim
// without one), so the index is kept at exactly those lengths.
func newClaims(nodes []*Node, peers []Peer) *ownership {
	var l [2]lengthSet
	n := 4
	add := func(p netip.Prefix) {
		if p.IsValid() {
			l[famOf(p)].add(p.Bits())
		}
	}
	l[0].add(32)
	l[1].add(128)
	for _, nd := range nodes {
		for _, c := range nd.PodCIDRs {
			add(c)
		}
		for _, c := range nd.AllowedLocationIPs {
			add(c)
		}
		n += 2 + len(nd.PodCIDRs) + len(nd.AllowedLocationIPs)
	}
	for _, p := range peers {
		for _, c := range p.AllowedIPs {
			add(c)
		}
		n += len(p.AllowedIPs)
	}
	return newOwnership(l, n, len(nodes)+len(peers))
}

func settingsClaims(o *ownership, s Settings) {
	o.add(target, Claim{s.Subnet, Owner{Kind: "Settings", Name: "--subnet", Field: "--subnet"}})
	for _, c := range s.ServiceCIDRs {
		o.add(target, Claim{c, Owner{Kind: "Settings", Name: "--service-cidr", Field: "--service-cidr"}})
	}
}

func isSettings(c Claim) bool { return c.Owner.Kind == "Settings" }

// verb says how a refused prefix q meets the claim it collides with.
func verb(q netip.Prefix, hit Claim, covers bool) string {
	if covers && hit.Prefix != q.Masked() {
		return "covers"
	}
	return "overlaps"
}

// claimNodes lets the ready nodes claim their key, pod CIDRs, endpoint
// and internal IP in rank order, and returns the nodes kept. A node is
// refused whole when its key is taken, or a pod CIDR is a default route,
// overlaps a reserved range or anything another node holds, or covers
// another node's endpoint, or its endpoint lies in another node's pod
// CIDR: half a node (pods nobody can reach) would only hide the problem.
// An internal IP that collides is only left unrouted: the node still
// works, others just do not reach that address through the mesh.
func (m *Mesh) claimNodes(ready []*Node, peers []Peer) []*Node {
	if quickClaims(m.Settings, ready, peers) {
		m.quick = &quick{}
		return ready
	}
	o := newClaims(ready, peers)
	m.own = o
	settingsClaims(o, m.Settings)
	order := slices.Clone(ready)
	slices.SortFunc(order, rankNodes)
	kept := order[:0]
	for _, n := range order {
		if m.claimNode(o, n) {
			kept = append(kept, n)
		}
	}
	return kept
}

func (m *Mesh) claimNode(o *ownership, n *Node) bool {
	self := Owner{Kind: "Node", Name: n.Name}
	refuse := func(field, value, format string, args ...any) bool {
		m.problem(Error, "Node", n.Name, field, value, format+"; node refused", args...)
		return false
	}
	if first, taken := o.keys[n.Key]; taken {
		return refuse(fieldKey, n.Key.String(), "same WireGuard key as %s, which keeps it", first)
	}
	for _, c := range n.PodCIDRs {
		if c.Bits() == 0 {
			return refuse(fieldPodCIDR, c.String(), "a default route would take every node's traffic")
		}
		if hit, covers, ok := o.conflict(anyKind, c, self, nil); ok {
			return refuse(fieldPodCIDR, c.String(), "%s %s", verb(c, hit, covers), hit.describe())
		}
	}
	var ep netip.Prefix
	if a := n.Endpoint.Addr; a.IsValid() {
		ep = hostPrefix(a)
		if hit, _, ok := o.conflict(kindsOf(target), ep, self, isSettings); ok {
			return refuse(fieldEndpoint, n.Endpoint.String(), "lies inside %s", hit.describe())
		}
	}
	route := n.InternalIP.IsValid()
	if route {
		if hit, _, ok := o.conflict(prefixes, hostPrefix(n.InternalIP.Addr()), self, nil); ok {
			m.problem(Error, "Node", n.Name, fieldInternalIP, n.InternalIP.String(),
				"overlaps %s; not routed through the mesh", hit.describe())
			route = false
			m.unrouted[n.Name] = true
		}
	}
	commitNode(o, n, route)
	return true
}

// commitNode records what a node holds; its claims were checked.
func commitNode(o *ownership, n *Node, routeInternal bool) {
	self := Owner{Kind: "Node", Name: n.Name}
	o.keys[n.Key] = self
	for _, c := range n.PodCIDRs {
		o.add(target, Claim{c, Owner{"Node", n.Name, fieldPodCIDR}})
	}
	if a := n.Endpoint.Addr; a.IsValid() {
		o.add(endpoint, Claim{hostPrefix(a), Owner{"Node", n.Name, fieldEndpoint}})
	}
	if routeInternal {
		o.add(routed, Claim{hostPrefix(n.InternalIP.Addr()), Owner{"Node", n.Name, fieldInternalIP}})
	}
}

// reclaimNodes rebuilds the ownership from the nodes still in the mesh,
// after allocate dropped segments: what they held is free again.
func (m *Mesh) reclaimNodes(peers []Peer) {
	if m.quick != nil {
		// Built from the segments kept, when asked for.
		return
	}
	var nodes []*Node
	for si := range m.Segments {
		for i := range m.Segments[si].Nodes {
			nodes = append(nodes, &m.Segments[si].Nodes[i])
		}
	}
	o := newClaims(nodes, peers)
	settingsClaims(o, m.Settings)
	slices.SortFunc(nodes, rankNodes)
	for _, n := range nodes {
		commitNode(o, n, n.InternalIP.IsValid() && !m.unrouted[n.Name])
	}
	m.own = o
}

// claimLocations lets each segment claim its allowed location IPs, in
// the rank of the node carrying them. Only the offending prefix is
// dropped: the rest of the location is unaffected by it. Unlike Kilo, a
// Peer never removes a location's range (nodes claim first), and of two
// locations with overlapping ranges the first in rank keeps its own.
func (m *Mesh) claimLocations() {
	type alip struct {
		prefix netip.Prefix
		seg    int
		node   *Node
	}
	var all []alip
	for si := range m.Segments {
		for i := range m.Segments[si].Nodes {
			n := &m.Segments[si].Nodes[i]
			for _, p := range n.AllowedLocationIPs {
				all = append(all, alip{p.Masked(), si, n})
			}
		}
	}
	slices.SortStableFunc(all, func(a, b alip) int { return rankNodes(a.node, b.node) })
	kept := make([][]netip.Prefix, len(m.Segments))
	type decided struct {
		seg    int
		prefix netip.Prefix
	}
	done := make(map[decided]bool, len(all))
	o := m.own
	for _, a := range all {
		if done[decided{a.seg, a.prefix}] {
			continue
		}
		done[decided{a.seg, a.prefix}] = true
		seg := &m.Segments[a.seg]
		self := Owner{Kind: "Location", Name: seg.Name, Field: fieldALIP}
		ignore := func(format string, args ...any) {
			m.problem(Error, "Node", a.node.Name, fieldALIP, a.prefix.String(), format+"; ignored", args...)
		}
		if a.prefix.Bits() == 0 {
			ignore("a default route would take every node's traffic")
			continue
		}
		if hit, covers, ok := o.conflict(anyKind, a.prefix, self, nil); ok {
			ignore("%s %s", verb(a.prefix, hit, covers), hit.describe())
			continue
		}
		o.add(routed, Claim{a.prefix, self})
		kept[a.seg] = append(kept[a.seg], a.prefix)
	}
	for si := range m.Segments {
		seg := &m.Segments[si]
		k := kept[si]
		slices.SortFunc(k, comparePrefix)
		seg.AllowedLocationIPs = k
		seg.peerAllowedIPs = seg.AllowedIPs
		if len(k) > 0 {
			seg.peerAllowedIPs = append(slices.Clip(seg.AllowedIPs), k...)
		}
	}
}

// Claims lists every prefix the mesh holds, sorted by prefix: reserved
// ranges, each node's pod CIDRs, internal IP (when routed) and endpoint,
// each location's allowed location IPs and each peer's allowed IPs. A
// new input overlapping one of them would be refused or trimmed.
func (m *Mesh) Claims() []Claim {
	o := m.ownership()
	if o == nil {
		return nil
	}
	return o.sorted()
}

// Owner returns a claim of the mesh overlapping p, if any: the prefix a
// new peer's allowed IP p would collide with.
func (m *Mesh) Owner(p netip.Prefix) (Claim, bool) {
	o := m.ownership()
	if o == nil {
		return Claim{}, false
	}
	c, _, ok := o.conflict(anyKind, p, Owner{}, nil)
	return c, ok
}
