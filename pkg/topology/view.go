package topology

import (
	"iter"
	"net/netip"
	"time"

	"github.com/kgctl/kgctl/pkg/wireguard"
)

// View is one node's view of the mesh, read from the mesh's shared
// per-segment data rather than copied: the N views of a full mesh are N
// small variations of one peer list (the list of every segment's leader,
// minus the viewer's own segment, with the viewer's keepalive and
// discovered endpoints). A View costs a few words; its peers and routes
// are computed when iterated, so every view of a 10,000-node cluster
// costs about as much memory as the mesh itself.
//
// What a View yields (peers' allowed IPs, route destinations) is shared
// with every other view and with the mesh, and must not be modified;
// Materialize makes a copy the caller owns.
type View struct {
	m      *Mesh
	seg    int
	self   *Node
	leader bool
}

// View returns a node's shared view; ok is false if the node is not in
// the mesh.
func (m *Mesh) View(name string) (View, bool) {
	r, ok := m.nodes[name]
	if !ok {
		return View{}, false
	}
	s := &m.Segments[r.segment]
	return View{m: m, seg: r.segment, self: &s.Nodes[r.index], leader: s.Leader == r.index}, true
}

// Name is the viewer's name.
func (v View) Name() string { return v.self.Name }

// Node is the viewer, the mesh's own copy: read-only.
func (v View) Node() *Node { return v.self }

// Segment is the viewer's segment.
func (v View) Segment() *Segment { return &v.m.Segments[v.seg] }

// SegmentIndex is the viewer's segment's index in the mesh's Segments.
func (v View) SegmentIndex() int { return v.seg }

// Leader reports whether the viewer leads its segment.
func (v View) Leader() bool { return v.leader }

// Keepalive is the persistent keepalive the viewer uses towards all of
// its peers.
func (v View) Keepalive() time.Duration { return v.self.PersistentKeepalive }

// WireGuardIP is the leader's interface address with the subnet's mask;
// zero on nodes that do not lead.
func (v View) WireGuardIP() netip.Prefix {
	if !v.leader {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(v.Segment().WireGuardIP, v.m.Settings.Subnet.Bits())
}

// Interface is the viewer's interface section, without the private key:
// the listen port and, on a leader, the WireGuard IP.
func (v View) Interface() wireguard.Interface {
	i := wireguard.Interface{ListenPort: v.m.Settings.Port}
	if v.leader {
		i.Address = []netip.Prefix{v.WireGuardIP()}
	}
	return i
}

// PeerEntries is the number of [Peer] entries views of the mesh choose
// from: entry i < len(Segments) is segment i's leader, entry
// len(Segments)+j is Peers[j]. Entries are numbered alike in every view
// of one mesh, so a differ can compare entries once for all views.
func (m *Mesh) PeerEntries() int { return len(m.Segments) + len(m.Peers) }

// PeerEntry is entry i as a viewer without discovered endpoints and
// without keepalive sees it.
func (m *Mesh) PeerEntry(i int) wireguard.Peer {
	if i < len(m.Segments) {
		return m.segmentPeer(nil, &m.Segments[i], 0, nil)
	}
	return m.kiloPeer(nil, i-len(m.Segments), 0)
}

// PeerEntryKey is entry i's public key.
func (m *Mesh) PeerEntryKey(i int) wireguard.Key {
	if i < len(m.Segments) {
		return m.Segments[i].LeaderNode().Key
	}
	return m.Peers[i-len(m.Segments)].PublicKey
}

// Has reports whether the view lists entry i among its peers: every
// other segment (in cross granularity, every segment of another
// location) and every Peer.
func (v View) Has(i int) bool {
	if i >= len(v.m.Segments) {
		return i < v.m.PeerEntries()
	}
	if i == v.seg {
		return false
	}
	return v.m.Settings.Granularity != CrossGranularity || v.m.Segments[i].Location != v.m.Segments[v.seg].Location
}

// PeerAt returns entry i as this view lists it; ok is false when the view
// does not list it (see Has).
func (v View) PeerAt(i int) (wireguard.Peer, bool) {
	if !v.Has(i) {
		return wireguard.Peer{}, false
	}
	if i < len(v.m.Segments) {
		return v.m.segmentPeer(v.self, &v.m.Segments[i], v.self.PersistentKeepalive, nil), true
	}
	return v.m.kiloPeer(v.self, i-len(v.m.Segments), v.self.PersistentKeepalive), true
}

// Peers yields the view's WireGuard peers in order: the other segments,
// then the Peers.
func (v View) Peers() iter.Seq[wireguard.Peer] {
	return func(yield func(wireguard.Peer) bool) {
		for i := range v.m.PeerEntries() {
			if p, ok := v.PeerAt(i); ok && !yield(p) {
				return
			}
		}
	}
}

// PeerCount is the number of peers Peers yields.
func (v View) PeerCount() int {
	n := len(v.m.Segments) - 1 + len(v.m.Peers)
	if v.m.Settings.Granularity == CrossGranularity {
		own := v.m.Segments[v.seg].Location
		for i := range v.m.Segments {
			if i != v.seg && v.m.Segments[i].Location == own {
				n--
			}
		}
	}
	return n
}

// RouteSets yields the view's routes, grouped by how they leave the node,
// in the order NodeView lists them.
func (v View) RouteSets() iter.Seq[RouteSet] {
	return func(yield func(RouteSet) bool) {
		b := routeBuilder{m: v.m, self: v.self, yield: yield}
		b.build(v.seg, v.leader)
	}
}

// Rules are the view's policy routing rules (the caller's to keep).
func (v View) Rules() []Rule {
	b := routeBuilder{m: v.m, self: v.self, yield: func(RouteSet) bool { return true }, wantRules: true}
	b.build(v.seg, v.leader)
	return b.rules
}

// Config is the view's WireGuard configuration as `showconf node`
// prints it (the interface's listen port, not its address), copied: the
// caller may modify it.
func (v View) Config() wireguard.Config {
	c := wireguard.Config{Interface: wireguard.Interface{ListenPort: v.m.Settings.Port}, Peers: make([]wireguard.Peer, 0, v.PeerCount())}
	n := 0
	for p := range v.Peers() {
		n += len(p.AllowedIPs)
	}
	ips := make([]netip.Prefix, 0, n)
	for p := range v.Peers() {
		start := len(ips)
		ips = append(ips, p.AllowedIPs...)
		p.AllowedIPs = ips[start:len(ips):len(ips)]
		if p.PresharedKey != nil {
			k := *p.PresharedKey
			p.PresharedKey = &k
		}
		c.Peers = append(c.Peers, p)
	}
	return c
}

// WireGuard is the view's WireGuard configuration as NodeView has it
// (the interface address too), in a peer list of its own whose peers'
// allowed IPs are the mesh's, shared and read-only: what a reader of
// every view (a hash per node) needs without copying every list.
func (v View) WireGuard() wireguard.Config {
	c := wireguard.Config{Interface: v.Interface(), Peers: make([]wireguard.Peer, 0, v.PeerCount())}
	for p := range v.Peers() {
		c.Peers = append(c.Peers, p)
	}
	return c
}

// Materialize copies the view into a NodeView the caller owns: changing
// it changes no other view and not the mesh.
func (v View) Materialize() NodeView {
	nv := NodeView{
		Name:        v.self.Name,
		Segment:     v.Segment(),
		Leader:      v.leader,
		WireGuardIP: v.WireGuardIP(),
		WireGuard:   v.Config(),
		Rules:       v.Rules(),
	}
	nv.WireGuard.Interface = v.Interface()
	sets, n := 0, 0
	for s := range v.RouteSets() {
		sets++
		n += len(s.Dsts)
	}
	nv.Routes = make([]RouteSet, 0, sets)
	dsts := make([]netip.Prefix, 0, n)
	for s := range v.RouteSets() {
		start := len(dsts)
		dsts = append(dsts, s.Dsts...)
		s.Dsts = dsts[start:len(dsts):len(dsts)]
		nv.Routes = append(nv.Routes, s)
	}
	return nv
}
