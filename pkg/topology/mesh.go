package topology

import (
	"net/netip"
	"sync"

	"github.com/kgctl/kgctl/pkg/wireguard"
)

// Mesh is the engine's output: the whole mesh, computed once. It is
// read-only after Build, so its views may be built concurrently. A node's
// view (View) is rendered on demand from the segments' shared peer and
// route lists, in time proportional to the number of segments and peers;
// NodeView, NodeConfig and PeerConfig are copies assembled from it.
type Mesh struct {
	Settings Settings
	// Segments are sorted like Kilo sorts them (named locations first,
	// then single-node segments), which fixes the WireGuard IP order.
	Segments []Segment
	// Peers are the accepted peers, sorted by name.
	Peers []Peer
	// Problems lists everything left out or suspicious, in input order.
	Problems Problems

	nodes map[string]nodeRef
	peers map[string]int
	// discovered merges every node's discovered endpoints, in segment
	// order, first one wins (as Kilo does).
	discovered map[wireguard.Key]netip.AddrPort
	targets    routeTargets
	// targetsOnce computes targets for the first view asking for routes.
	targetsOnce sync.Once
	// peerLabels name the Peers in rendered configs ("peer NAME").
	peerLabels []string
	// own decides who holds each key and prefix (claims.go); on the
	// fast path (quick.go) it is nil and quick builds it when asked.
	own   *ownership
	quick *quick
	// unrouted names nodes whose internal IP collided: not routed.
	unrouted map[string]bool
}

type nodeRef struct{ segment, index int }

// Segment is a set of nodes sharing one WireGuard link: a location, or a
// single node.
type Segment struct {
	// Name is the location name, or the node name for a segment made of
	// one node (full or cross granularity, or a node without internal IP).
	Name string
	// Location is the logical location the segment's nodes share; for
	// cross granularity, segments of one location talk over the private
	// network rather than WireGuard.
	Location string
	// Nodes are the members, sorted by name.
	Nodes []Node
	// Leader indexes Nodes.
	Leader int
	// WireGuardIP is the leader's address inside Settings.Subnet.
	WireGuardIP netip.Addr
	// AllowedIPs are what other segments route to this one: every
	// member's pod CIDRs and internal IP, and the WireGuard IP.
	AllowedIPs []netip.Prefix
	// AllowedLocationIPs are extra CIDRs reachable through this location
	// (the allowed-location-ips annotation), after dropping overlaps.
	AllowedLocationIPs []netip.Prefix

	// peerAllowedIPs is AllowedIPs followed by AllowedLocationIPs, shared
	// by every view that lists this segment as a WireGuard peer.
	peerAllowedIPs []netip.Prefix
	targets        segmentTargets
	label          string
}

// LeaderNode returns the segment's leader.
func (s *Segment) LeaderNode() *Node { return &s.Nodes[s.Leader] }

// Node returns a node of the mesh by name.
func (m *Mesh) Node(name string) (*Node, bool) {
	r, ok := m.nodes[name]
	if !ok {
		return nil, false
	}
	return &m.Segments[r.segment].Nodes[r.index], true
}

// SegmentOf returns the segment a node belongs to and whether it leads it.
func (m *Mesh) SegmentOf(name string) (seg *Segment, leader bool, ok bool) {
	r, ok := m.nodes[name]
	if !ok {
		return nil, false, false
	}
	s := &m.Segments[r.segment]
	return s, s.Leader == r.index, true
}

// Peer returns an accepted peer by name.
func (m *Mesh) Peer(name string) (*Peer, bool) {
	i, ok := m.peers[name]
	if !ok {
		return nil, false
	}
	return &m.Peers[i], true
}

// NodeNames lists the nodes in the mesh in segment order.
func (m *Mesh) NodeNames() []string {
	names := make([]string, 0, len(m.nodes))
	for i := range m.Segments {
		for _, n := range m.Segments[i].Nodes {
			names = append(names, n.Name)
		}
	}
	return names
}

// endpointOf returns where the viewer should send to a peer with the
// given key: a NATed peer (one that sends keepalives) is reached where
// WireGuard last saw it, if someone saw it.
func (m *Mesh) endpointOf(viewer *Node, key wireguard.Key, configured wireguard.Endpoint, keepalive bool) wireguard.Endpoint {
	if !keepalive {
		return configured
	}
	if viewer != nil {
		if ap, ok := viewer.DiscoveredEndpoints[key]; ok {
			return wireguard.Endpoint{Addr: ap.Addr(), Port: ap.Port()}
		}
	}
	if ap, ok := m.discovered[key]; ok {
		return wireguard.Endpoint{Addr: ap.Addr(), Port: ap.Port()}
	}
	return configured
}
