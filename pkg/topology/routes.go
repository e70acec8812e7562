package topology

import (
	"net/netip"
)

// Device names the link a route leaves through, symbolically: the agent
// maps it to real interface names.
type Device string

const (
	// DeviceWireGuard is the mesh's WireGuard interface (kilo0).
	DeviceWireGuard Device = "wireguard"
	// DevicePrivate is the interface carrying the node's internal IP.
	DevicePrivate Device = "private"
	// DeviceTunnel is the IPIP tunnel used when encapsulating.
	DeviceTunnel Device = "tunnel"
)

// Table names the routing table a route goes in, symbolically.
type Table string

const (
	// TableMesh holds the mesh's routes; every packet consults it.
	TableMesh Table = "mesh"
	// TableEncap holds encapsulation routes, consulted only by the rules.
	TableEncap Table = "encap"
)

// Route is one route a node needs.
type Route struct {
	Dst    netip.Prefix `json:"dst"`
	Gw     netip.Addr   `json:"gw,omitzero"`
	Device Device       `json:"device"`
	OnLink bool         `json:"onlink,omitempty"`
	Table  Table        `json:"table"`
}

// RouteSet is a group of destinations that leave the same way. A node in
// a location of a large cluster routes tens of thousands of prefixes
// through a few gateways; grouping them lets every node's view share the
// per-segment lists, so all views of a cluster cost O(nodes × segments)
// rather than O(nodes²).
type RouteSet struct {
	Dsts   []netip.Prefix `json:"dsts"`
	Gw     netip.Addr     `json:"gw,omitzero"`
	Device Device         `json:"device"`
	OnLink bool           `json:"onlink,omitempty"`
	Table  Table          `json:"table"`
}

// FlatRoutes expands route sets into single routes, in order.
func FlatRoutes(sets []RouteSet) []Route {
	n := 0
	for _, s := range sets {
		n += len(s.Dsts)
	}
	out := make([]Route, 0, n)
	for _, s := range sets {
		for _, d := range s.Dsts {
			out = append(out, Route{Dst: d, Gw: s.Gw, Device: s.Device, OnLink: s.OnLink, Table: s.Table})
		}
	}
	return out
}

// Rule is a policy routing rule sending some traffic to a table.
type Rule struct {
	Src netip.Prefix `json:"src,omitzero"`
	Dst netip.Prefix `json:"dst,omitzero"`
	// FromWireGuard matches packets arriving on the WireGuard interface.
	FromWireGuard bool  `json:"fromWireGuard,omitempty"`
	Table         Table `json:"table"`
}

// family indexes per-family destination lists: routes never mix families
// with their gateway.
type family int

const (
	v4 family = iota
	v6
)

func familyOf(a netip.Addr) family {
	if a.Is4() {
		return v4
	}
	return v6
}

// byFamily is a list of prefixes split by address family.
type byFamily [2][]netip.Prefix

func (b *byFamily) add(ps ...netip.Prefix) {
	for _, p := range ps {
		f := familyOf(p.Addr())
		b[f] = append(b[f], p)
	}
}

// routeTargets are computed once per mesh and shared by every view.
type routeTargets struct {
	// wireGuardIPs are every segment's WireGuard IP.
	wireGuardIPs byFamily
	// peers are every accepted peer's allowed IPs.
	peers byFamily
}

// segmentTargets are what other nodes route to one segment.
type segmentTargets struct {
	// all: every member's pod CIDRs and internal IP, and the allowed
	// location IPs (followers send all of it to their leader).
	all byFamily
	// viaWireGuard is all minus an internal IP that is also the leader's
	// endpoint: that address must stay outside the tunnel carried to it.
	viaWireGuard byFamily
	// hosts are the members' internal IPs as host prefixes, by member.
	hosts []netip.Prefix
}

// prepareRoutes names the segments and peers for rendered configs; the
// destination lists routes share are computed on the first view that
// asks for routes (a WireGuard configuration alone needs none of them).
func (m *Mesh) prepareRoutes() {
	for i := range m.Segments {
		s := &m.Segments[i]
		s.label = segmentLabel(s)
	}
	m.peerLabels = make([]string, len(m.Peers))
	for i, p := range m.Peers {
		m.peerLabels[i] = "peer " + p.Name
	}
}

// routeTargets computes the shared destination lists, once.
func (m *Mesh) routeTargets() {
	m.targetsOnce.Do(m.prepareTargets)
}

func (m *Mesh) prepareTargets() {
	for i := range m.Segments {
		s := &m.Segments[i]
		m.targets.wireGuardIPs.add(hostPrefix(s.WireGuardIP))
		var t segmentTargets
		l := s.LeaderNode()
		for _, n := range s.Nodes {
			t.all.add(n.PodCIDRs...)
			t.viaWireGuard.add(n.PodCIDRs...)
			if n.InternalIP.IsValid() && !m.unrouted[n.Name] {
				ip := n.InternalIP.Addr()
				t.all.add(hostPrefix(ip))
				if ip != l.Endpoint.Addr {
					t.viaWireGuard.add(hostPrefix(ip))
				}
			}
		}
		t.all.add(s.AllowedLocationIPs...)
		t.viaWireGuard.add(s.AllowedLocationIPs...)
		t.hosts = make([]netip.Prefix, len(s.Nodes))
		for j, n := range s.Nodes {
			if n.InternalIP.IsValid() {
				t.hosts[j] = hostPrefix(n.InternalIP.Addr())
			}
		}
		s.targets = t
	}
	for _, p := range m.Peers {
		m.targets.peers.add(p.AllowedIPs...)
	}
}

// routeBuilder yields one node's route sets, as a view is iterated,
// and collects its rules when asked.
type routeBuilder struct {
	m         *Mesh
	self      *Node
	yield     func(RouteSet) bool
	stop      bool
	wantRules bool
	rules     []Rule
}

// build computes one node's routes and rules, following Kilo: a node
// that does not lead sends everything for other segments to its leader
// over the private network (IPIP-encapsulated when asked); a leader sends
// it over WireGuard; both route to the other members of their location
// directly when Local is set.
func (b *routeBuilder) build(seg int, leader bool) {
	b.m.routeTargets()
	own := &b.m.Segments[seg]
	if !leader {
		b.follower(own)
	} else {
		b.leader(own)
	}
}

func (b *routeBuilder) follower(own *Segment) {
	gw := own.LeaderNode().InternalIP.Addr()
	if !gw.IsValid() {
		return
	}
	f := familyOf(gw)
	b.viaPrivate(b.m.targets.wireGuardIPs[f], gw)
	for i := range b.m.Segments {
		if b.stop {
			return
		}
		s := &b.m.Segments[i]
		if s == own {
			b.local(s)
			continue
		}
		b.viaPrivate(s.targets.all[f], gw)
	}
	b.viaPrivate(b.m.targets.peers[f], gw)
}

func (b *routeBuilder) leader(own *Segment) {
	cross := b.m.Settings.Granularity == CrossGranularity
	for i := range b.m.Segments {
		if b.stop {
			return
		}
		s := &b.m.Segments[i]
		if s == own || (cross && s.Location == own.Location) {
			b.local(s)
			continue
		}
		gw := s.WireGuardIP
		dsts := s.targets.viaWireGuard[familyOf(gw)]
		l := s.LeaderNode()
		// Where this node learned the leader elsewhere (NAT), the address
		// to keep out of the tunnel is the learned one.
		o := 1 - familyOf(gw)
		other := s.targets.viaWireGuard[o]
		if e := b.m.endpointOf(b.self, l.Key, l.Endpoint, l.PersistentKeepalive > 0); e.Addr != l.Endpoint.Addr {
			dsts = b.exceptEndpoint(s, e.Addr, familyOf(gw))
			other = b.exceptEndpoint(s, e.Addr, o)
		}
		b.add(RouteSet{Dsts: dsts, Gw: gw, Device: DeviceWireGuard, OnLink: true, Table: TableMesh})
		// The other family cannot go via the WireGuard IP, but needs no
		// gateway: the device sends by allowed IPs (dual-stack pod CIDRs).
		if len(other) > 0 {
			b.add(RouteSet{Dsts: other, Device: DeviceWireGuard, Table: TableMesh})
		}
	}
	for f := range b.m.targets.peers {
		b.add(RouteSet{Dsts: b.m.targets.peers[f], Device: DeviceWireGuard, Table: TableMesh})
	}
}

// exceptEndpoint recomputes a segment's WireGuard destinations when the
// viewer reaches its leader at an address other than the configured one.
func (b *routeBuilder) exceptEndpoint(s *Segment, endpoint netip.Addr, f family) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range s.targets.all[f] {
		if p.Bits() == p.Addr().BitLen() && p.Addr() == endpoint {
			continue
		}
		out = append(out, p)
	}
	return out
}

// local adds routes to the other members of the node's own location (or,
// for cross granularity, to nodes sharing its location) over the private
// network, when the mesh is asked to handle them.
func (b *routeBuilder) local(s *Segment) {
	self := b.self
	if !b.m.Settings.Local || !self.InternalIP.IsValid() {
		return
	}
	for j := range s.Nodes {
		n := &s.Nodes[j]
		if b.stop {
			return
		}
		if n.Name == self.Name || !n.InternalIP.IsValid() {
			continue
		}
		ip := n.InternalIP.Addr()
		// A node's pod CIDRs may mix families; only gw's can go via it.
		b.viaPrivate(podsOf(n, familyOf(ip)), ip)
		if !b.encapsulates(ip) {
			continue
		}
		// Traffic from this node's pods and from other locations (through
		// the WireGuard interface) to the member's private IP is
		// encapsulated too, so the reply path matches.
		b.add(RouteSet{Dsts: s.targets.hosts[j : j+1 : j+1], Gw: ip, Device: DeviceTunnel, OnLink: true, Table: TableEncap})
		if !b.wantRules {
			continue
		}
		for _, c := range self.PodCIDRs {
			if c.Addr().Is4() == ip.Is4() {
				b.rules = append(b.rules, Rule{Src: c, Dst: hostPrefix(ip), Table: TableEncap})
			}
		}
		b.rules = append(b.rules, Rule{Dst: hostPrefix(ip), FromWireGuard: true, Table: TableEncap})
	}
}

// encapsulates reports whether traffic to a gateway on the private network
// goes through the IPIP tunnel.
func (b *routeBuilder) encapsulates(gw netip.Addr) bool {
	switch b.m.Settings.Encapsulate {
	case EncapsulateAlways:
		return true
	case EncapsulateCrossSubnet:
		return !b.self.InternalIP.Contains(gw)
	}
	return false
}

// viaPrivate routes dsts, all of gw's family, through gw on the private network.
func (b *routeBuilder) viaPrivate(dsts []netip.Prefix, gw netip.Addr) {
	if !gw.IsValid() {
		return
	}
	dev := DevicePrivate
	if b.encapsulates(gw) {
		dev = DeviceTunnel
	}
	b.add(RouteSet{Dsts: dsts, Gw: gw, Device: dev, OnLink: true, Table: TableMesh})
}

func (b *routeBuilder) add(s RouteSet) {
	if len(s.Dsts) > 0 && !b.stop && !b.yield(s) {
		b.stop = true
	}
}

// podsOf returns a node's pod CIDRs of family f: the node's own list when
// they all are (the usual case, nothing copied).
func podsOf(n *Node, f family) []netip.Prefix {
	mixed := false
	for _, p := range n.PodCIDRs {
		if familyOf(p.Addr()) != f {
			mixed = true
			break
		}
	}
	if !mixed {
		return n.PodCIDRs
	}
	var out []netip.Prefix
	for _, p := range n.PodCIDRs {
		if familyOf(p.Addr()) == f {
			out = append(out, p)
		}
	}
	return out
}
