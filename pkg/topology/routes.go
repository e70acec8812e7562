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

// Rule is a policy routing rule sending some traffic to a table.
type Rule struct {
	Src netip.Prefix `json:"src,omitzero"`
	Dst netip.Prefix `json:"dst,omitzero"`
	// FromWireGuard matches packets arriving on the WireGuard interface.
	FromWireGuard bool  `json:"fromWireGuard,omitempty"`
	Table         Table `json:"table"`
}

// routeBuilder accumulates one node's routes.
type routeBuilder struct {
	m      *Mesh
	self   *Node
	routes []Route
	rules  []Rule
}

// routes computes one node's routes and rules, following Kilo: a node
// that does not lead sends everything for other segments to its leader
// over the private network (IPIP-encapsulated when asked); a leader sends
// it over WireGuard; both route to the other members of their location
// directly when Local is set.
func (m *Mesh) routes(r nodeRef) ([]Route, []Rule) {
	own := &m.Segments[r.segment]
	b := routeBuilder{m: m, self: &own.Nodes[r.index]}
	if own.Leader != r.index {
		b.follower(own)
	} else {
		b.leader(own)
	}
	return b.routes, b.rules
}

func (b *routeBuilder) follower(own *Segment) {
	gw := own.LeaderNode().InternalIP.Addr()
	for i := range b.m.Segments {
		s := &b.m.Segments[i]
		b.viaPrivate(hostPrefix(s.WireGuardIP), gw)
		if s == own {
			b.local(s)
			continue
		}
		for _, n := range s.Nodes {
			for _, c := range n.PodCIDRs {
				b.viaPrivate(c, gw)
			}
			if n.InternalIP.IsValid() {
				b.viaPrivate(hostPrefix(n.InternalIP.Addr()), gw)
			}
		}
		for _, c := range s.AllowedLocationIPs {
			b.viaPrivate(c, gw)
		}
	}
	for _, p := range b.m.Peers {
		for _, c := range p.AllowedIPs {
			b.viaPrivate(c, gw)
		}
	}
}

func (b *routeBuilder) leader(own *Segment) {
	cross := b.m.Settings.Granularity == CrossGranularity
	for i := range b.m.Segments {
		s := &b.m.Segments[i]
		if s == own || (cross && s.Location == own.Location) {
			b.local(s)
			continue
		}
		l := s.LeaderNode()
		endpoint := b.m.endpointOf(b.self, l.Key, l.Endpoint, l.PersistentKeepalive > 0)
		for _, n := range s.Nodes {
			for _, c := range n.PodCIDRs {
				b.viaWireGuard(c, s.WireGuardIP)
			}
			// A node reachable only at its endpoint must not be routed
			// into the tunnel that is carried to that very address.
			if ip := n.InternalIP.Addr(); n.InternalIP.IsValid() && ip != endpoint.Addr {
				b.viaWireGuard(hostPrefix(ip), s.WireGuardIP)
			}
		}
		for _, c := range s.AllowedLocationIPs {
			b.viaWireGuard(c, s.WireGuardIP)
		}
	}
	for _, p := range b.m.Peers {
		for _, c := range p.AllowedIPs {
			b.routes = append(b.routes, Route{Dst: c, Device: DeviceWireGuard, Table: TableMesh})
		}
	}
}

// local adds routes to the other members of the node's own location (or,
// for cross granularity, to nodes sharing its location) over the private
// network, when the mesh is asked to handle them.
func (b *routeBuilder) local(s *Segment) {
	self := b.self
	if !b.m.Settings.Local || !self.InternalIP.IsValid() {
		return
	}
	for _, n := range s.Nodes {
		if n.Name == self.Name || !n.InternalIP.IsValid() {
			continue
		}
		ip := n.InternalIP.Addr()
		for _, c := range n.PodCIDRs {
			b.viaPrivate(c, ip)
		}
		if !b.encapsulates(ip) {
			continue
		}
		// Traffic from this node's pods and from other locations (through
		// the WireGuard interface) to the member's private IP is
		// encapsulated too, so the reply path matches.
		b.routes = append(b.routes, Route{Dst: hostPrefix(ip), Gw: ip, Device: DeviceTunnel, OnLink: true, Table: TableEncap})
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

func (b *routeBuilder) viaPrivate(dst netip.Prefix, gw netip.Addr) {
	if !gw.IsValid() || dst.Addr().Is4() != gw.Is4() {
		return
	}
	dev := DevicePrivate
	if b.encapsulates(gw) {
		dev = DeviceTunnel
	}
	b.routes = append(b.routes, Route{Dst: dst, Gw: gw, Device: dev, OnLink: true, Table: TableMesh})
}

func (b *routeBuilder) viaWireGuard(dst netip.Prefix, gw netip.Addr) {
	if dst.Addr().Is4() != gw.Is4() {
		return
	}
	b.routes = append(b.routes, Route{Dst: dst, Gw: gw, Device: DeviceWireGuard, OnLink: true, Table: TableMesh})
}
