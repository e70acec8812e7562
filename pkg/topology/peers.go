package topology

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/kgctl/kgctl/pkg/wireguard"
)

// acceptPeers keeps the peers that can join safely. A peer whose allowed
// IPs would take over the mesh's own traffic (a default route, the
// WireGuard subnet, a node's pod CIDR) is refused outright; an allowed IP
// that only collides with one address of the mesh, or repeats another
// peer's, is dropped from that peer alone.
func (m *Mesh) acceptPeers(in []Peer) {
	peers := slices.Clone(in)
	slices.SortStableFunc(peers, func(a, b Peer) int { return strings.Compare(a.Name, b.Name) })
	m.peers = make(map[string]int, len(peers))
	claimed := make(map[netip.Prefix]string)
	if len(peers) == 0 {
		return
	}
	var pods []netip.Prefix
	for i := range m.Segments {
		for _, n := range m.Segments[i].Nodes {
			pods = append(pods, n.PodCIDRs...)
		}
	}
	mesh, podIndex := m.meshIndex(), newPrefixIndex(pods)
	for _, p := range peers {
		if _, dup := m.peers[p.Name]; dup {
			m.problem(Error, "Peer", p.Name, "metadata.name", p.Name, "duplicate peer; only the first one is used")
			continue
		}
		if p.PublicKey == (wireguard.Key{}) {
			m.problem(Error, "Peer", p.Name, "spec.publicKey", "", "no public key; left out of the mesh")
			continue
		}
		if len(p.AllowedIPs) == 0 {
			m.problem(Error, "Peer", p.Name, "spec.allowedIPs", "", "no allowed IPs; left out of the mesh")
			continue
		}
		if reason, ip := m.takesOver(p.AllowedIPs, podIndex); reason != "" {
			m.problem(Error, "Peer", p.Name, "spec.allowedIPs", ip.String(), "%s; peer refused", reason)
			continue
		}
		var kept []netip.Prefix
		for _, ip := range p.AllowedIPs {
			ip = ip.Masked()
			if owner, ok := claimed[ip]; ok {
				m.problem(Warning, "Peer", p.Name, "spec.allowedIPs", ip.String(), "already claimed by peer %q; dropped from this peer", owner)
				continue
			}
			if hit, ok := mesh.overlap(ip); ok {
				m.problem(Warning, "Peer", p.Name, "spec.allowedIPs", ip.String(), "overlaps the mesh's %s; dropped from this peer", hit)
				continue
			}
			if m.Settings.Subnet.Overlaps(ip) {
				m.problem(Warning, "Peer", p.Name, "spec.allowedIPs", ip.String(), "lies inside the WireGuard subnet %s reserved for leaders; dropped from this peer", m.Settings.Subnet)
				continue
			}
			for other, owner := range claimed {
				if other.Overlaps(ip) {
					m.problem(Warning, "Peer", p.Name, "spec.allowedIPs", ip.String(), "overlaps %s of peer %q; WireGuard sends to the most specific", other, owner)
				}
			}
			claimed[ip] = p.Name
			kept = append(kept, ip)
		}
		if len(kept) == 0 {
			m.problem(Error, "Peer", p.Name, "spec.allowedIPs", "", "no allowed IP left after removing conflicts; left out of the mesh")
			continue
		}
		p.AllowedIPs = kept
		m.peers[p.Name] = len(m.Peers)
		m.Peers = append(m.Peers, p)
	}
}

// takesOver reports why a set of allowed IPs would hijack mesh traffic.
func (m *Mesh) takesOver(ips []netip.Prefix, pods *prefixIndex) (string, netip.Prefix) {
	for _, ip := range ips {
		if ip.Bits() == 0 {
			return "a default route would take every node's traffic", ip
		}
		if ip.Bits() <= m.Settings.Subnet.Bits() && ip.Contains(m.Settings.Subnet.Addr()) {
			return "covers the WireGuard subnet " + m.Settings.Subnet.String(), ip
		}
		if c, ok := pods.within(ip); ok {
			return "covers the pod CIDR " + c.String() + " of node " + m.podOwner(c), ip
		}
	}
	return "", netip.Prefix{}
}

// podOwner names the node a pod CIDR belongs to (for messages only).
func (m *Mesh) podOwner(c netip.Prefix) string {
	for i := range m.Segments {
		for _, n := range m.Segments[i].Nodes {
			if slices.Contains(n.PodCIDRs, c) {
				return n.Name
			}
		}
	}
	return "?"
}

func firstOverlap(ip netip.Prefix, set []netip.Prefix) (netip.Prefix, bool) {
	for _, s := range set {
		if s.Overlaps(ip) {
			return s, true
		}
	}
	return netip.Prefix{}, false
}

// filterAllowedLocationIPs drops allowed location IPs that collide with
// another location's, with any segment's allowed IPs or with a peer's:
// routing them would be ambiguous.
func (m *Mesh) filterAllowedLocationIPs() {
	for si := range m.Segments {
		seg := &m.Segments[si]
		if len(seg.AllowedLocationIPs) == 0 {
			seg.peerAllowedIPs = seg.AllowedIPs
			continue
		}
		mesh := m.meshIndex()
		var kept []netip.Prefix
	next:
		for _, ip := range seg.AllowedLocationIPs {
			if hit, ok := mesh.overlap(ip); ok {
				m.alipProblem(seg, ip, "overlaps %s of location %q", hit, m.ownerSegment(hit))
				continue
			}
			for oi := range m.Segments {
				other := &m.Segments[oi]
				if oi != si {
					if hit, ok := firstOverlap(ip, other.AllowedLocationIPs); ok {
						m.alipProblem(seg, ip, "overlaps %s, allowed in location %q", hit, other.Name)
						continue next
					}
				}
			}
			for _, p := range m.Peers {
				if hit, ok := firstOverlap(ip, p.AllowedIPs); ok {
					m.alipProblem(seg, ip, "overlaps %s of peer %q", hit, p.Name)
					continue next
				}
			}
			kept = append(kept, ip)
		}
		seg.AllowedLocationIPs = kept
		seg.peerAllowedIPs = append(slices.Clip(seg.AllowedIPs), kept...)
	}
}

// ownerSegment names the segment whose allowed IPs hold p (messages only).
func (m *Mesh) ownerSegment(p netip.Prefix) string {
	for i := range m.Segments {
		if slices.Contains(m.Segments[i].AllowedIPs, p) {
			return m.Segments[i].Name
		}
	}
	return "?"
}

func (m *Mesh) alipProblem(seg *Segment, ip netip.Prefix, format string, args ...any) {
	name := seg.Name
	for _, n := range seg.Nodes {
		if slices.Contains(n.AllowedLocationIPs, ip) {
			name = n.Name
			break
		}
	}
	m.problem(Warning, "Node", name, "kilo.squat.ai/allowed-location-ips", ip.String(), format+"; ignored", args...)
}

func (m *Mesh) mergeDiscovered() {
	m.discovered = make(map[wireguard.Key]netip.AddrPort)
	for si := range m.Segments {
		for _, n := range m.Segments[si].Nodes {
			for k, v := range n.DiscoveredEndpoints {
				if _, ok := m.discovered[k]; !ok {
					m.discovered[k] = v
				}
			}
		}
	}
}
