package topology

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/kgctl/kgctl/pkg/wireguard"
)

// NodeView is everything one node needs from the mesh.
type NodeView struct {
	Name    string
	Segment *Segment
	Leader  bool
	// WireGuardIP is the leader's address with the subnet's mask; zero on
	// nodes that do not lead (they send through their leader).
	WireGuardIP netip.Prefix
	// WireGuard lists the other segments and the peers. The private key
	// is left nil: only the node itself knows it.
	WireGuard wireguard.Config
	// Routes are grouped by how they leave the node: the destinations
	// of a set are shared with other views and must not be modified.
	// Flatten them with FlatRoutes.
	Routes []RouteSet
	Rules  []Rule
}

// NodeView assembles one node's view; ok is false if the node is not in the mesh.
func (m *Mesh) NodeView(name string) (NodeView, bool) {
	r, ok := m.nodes[name]
	if !ok {
		return NodeView{}, false
	}
	seg := &m.Segments[r.segment]
	v := NodeView{
		Name:      name,
		Segment:   seg,
		Leader:    seg.Leader == r.index,
		WireGuard: m.nodeConfig(r),
	}
	if v.Leader {
		v.WireGuardIP = netip.PrefixFrom(seg.WireGuardIP, m.Settings.Subnet.Bits())
		v.WireGuard.Interface.Address = []netip.Prefix{v.WireGuardIP}
	}
	v.Routes, v.Rules = m.routes(r)
	return v, true
}

// NodeConfig returns the WireGuard configuration a node applies.
func (m *Mesh) NodeConfig(name string) (wireguard.Config, bool) {
	r, ok := m.nodes[name]
	if !ok {
		return wireguard.Config{}, false
	}
	return m.nodeConfig(r), true
}

func (m *Mesh) nodeConfig(r nodeRef) wireguard.Config {
	self := &m.Segments[r.segment].Nodes[r.index]
	own := &m.Segments[r.segment]
	c := wireguard.Config{
		Interface: wireguard.Interface{ListenPort: m.Settings.Port},
		Peers:     make([]wireguard.Peer, 0, len(m.Segments)-1+len(m.Peers)),
	}
	for i := range m.Segments {
		s := &m.Segments[i]
		if s == own || (m.Settings.Granularity == CrossGranularity && s.Location == own.Location) {
			continue
		}
		c.Peers = append(c.Peers, m.segmentPeer(self, s, self.PersistentKeepalive, nil))
	}
	for i := range m.Peers {
		p := &m.Peers[i]
		c.Peers = append(c.Peers, wireguard.Peer{
			Name:                "peer " + p.Name,
			PublicKey:           p.PublicKey,
			PresharedKey:        p.PresharedKey,
			Endpoint:            m.endpointOf(self, p.PublicKey, p.Endpoint, p.PersistentKeepalive > 0),
			AllowedIPs:          p.AllowedIPs,
			PersistentKeepalive: self.PersistentKeepalive,
		})
	}
	return c
}

// segmentPeer is segment s as a WireGuard peer seen from viewer (nil for
// a Peer, which has no discovered endpoints of its own).
func (m *Mesh) segmentPeer(viewer *Node, s *Segment, keepalive time.Duration, psk *wireguard.Key) wireguard.Peer {
	l := s.LeaderNode()
	return wireguard.Peer{
		Name:                s.label,
		PublicKey:           l.Key,
		PresharedKey:        psk,
		Endpoint:            m.endpointOf(viewer, l.Key, l.Endpoint, l.PersistentKeepalive > 0),
		AllowedIPs:          s.peerAllowedIPs,
		PersistentKeepalive: keepalive,
	}
}

// segmentLabel names a segment in rendered configs; computed once per
// segment in Build, as every view repeats it.
func segmentLabel(s *Segment) string {
	if len(s.Nodes) == 1 && s.Name == s.Nodes[0].Name {
		return "node " + s.Name
	}
	return fmt.Sprintf("location %q (leader %s)", s.Name, s.LeaderNode().Name)
}

// PeerConfig returns the WireGuard configuration for a Peer: every
// segment and the other peers, using the peer's keepalive and preshared
// key. The interface section is left for the peer's owner to fill.
func (m *Mesh) PeerConfig(name string) (wireguard.Config, bool) {
	p, ok := m.Peer(name)
	if !ok {
		return wireguard.Config{}, false
	}
	c := wireguard.Config{Peers: make([]wireguard.Peer, 0, len(m.Segments)+len(m.Peers)-1)}
	c.Interface.Address = p.AllowedIPs
	for i := range m.Segments {
		c.Peers = append(c.Peers, m.segmentPeer(nil, &m.Segments[i], p.PersistentKeepalive, p.PresharedKey))
	}
	for i := range m.Peers {
		o := &m.Peers[i]
		if o.Name == name {
			continue
		}
		c.Peers = append(c.Peers, wireguard.Peer{
			Name:                "peer " + o.Name,
			PublicKey:           o.PublicKey,
			Endpoint:            m.endpointOf(nil, o.PublicKey, o.Endpoint, o.PersistentKeepalive > 0),
			AllowedIPs:          o.AllowedIPs,
			PersistentKeepalive: p.PersistentKeepalive,
		})
	}
	return c, true
}

// AsPeer returns a node's segment as a WireGuard peer of some other
// WireGuard device (another cluster, a VPN box), as Kilo's
// `showconf node --as-peer` does.
func (m *Mesh) AsPeer(name string) (wireguard.Peer, bool) {
	r, ok := m.nodes[name]
	if !ok {
		return wireguard.Peer{}, false
	}
	s := &m.Segments[r.segment]
	l := s.LeaderNode()
	return wireguard.Peer{
		Name:       s.Name,
		PublicKey:  l.Key,
		Endpoint:   l.Endpoint,
		AllowedIPs: s.AllowedIPs,
	}, true
}
