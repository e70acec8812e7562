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
	// Routes are grouped by how they leave the node. Flatten them with
	// FlatRoutes.
	Routes []RouteSet
	Rules  []Rule
}

// NodeView assembles one node's view, copied (see View.Materialize); ok
// is false if the node is not in the mesh. A caller that reads many
// views uses View, which copies nothing.
func (m *Mesh) NodeView(name string) (NodeView, bool) {
	v, ok := m.View(name)
	if !ok {
		return NodeView{}, false
	}
	return v.Materialize(), true
}

// NodeConfig returns the WireGuard configuration a node applies, copied.
func (m *Mesh) NodeConfig(name string) (wireguard.Config, bool) {
	v, ok := m.View(name)
	if !ok {
		return wireguard.Config{}, false
	}
	return v.Config(), true
}

// kiloPeer is Peers[j] as a WireGuard peer seen from viewer (nil: no
// discovered endpoints of its own).
func (m *Mesh) kiloPeer(viewer *Node, j int, keepalive time.Duration) wireguard.Peer {
	p := &m.Peers[j]
	return wireguard.Peer{
		Name:                m.peerLabels[j],
		PublicKey:           p.PublicKey,
		PresharedKey:        p.PresharedKey,
		Endpoint:            m.endpointOf(viewer, p.PublicKey, p.Endpoint, p.PersistentKeepalive > 0),
		AllowedIPs:          p.AllowedIPs,
		PersistentKeepalive: keepalive,
	}
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
			Name:                m.peerLabels[i],
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
