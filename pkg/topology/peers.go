package topology

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/kgctl/kgctl/pkg/wireguard"
)

// acceptPeers keeps the peers that can join safely, claiming in rank
// order after every node. A peer is refused outright when its key is
// taken (by a node or an older peer) or an allowed IP would take over
// the mesh's own traffic: a default route, or a prefix covering a
// reserved range (the WireGuard subnet, a service CIDR), a node's pod
// CIDR or a node's endpoint. An allowed IP that only overlaps something
// held already (inside a pod CIDR, an internal IP, a location's or an
// older peer's range) is dropped from that peer alone: removing it is
// enough for the others, and the peer keeps the rest.
func (m *Mesh) acceptPeers(in []Peer) {
	peers := slices.Clone(in)
	slices.SortStableFunc(peers, func(a, b Peer) int { return strings.Compare(a.Name, b.Name) })
	m.peers = make(map[string]int, len(peers))
	if len(peers) == 0 {
		return
	}
	// The first of each name, in input order (SortStable keeps it first).
	named := peers[:0]
	seen := make(map[string]bool, len(peers))
	for _, p := range peers {
		if seen[p.Name] {
			m.problem(Error, "Peer", p.Name, "metadata.name", p.Name, "duplicate peer; only the first one is used")
			continue
		}
		seen[p.Name] = true
		named = append(named, p)
	}
	order := slices.Clone(named)
	slices.SortFunc(order, func(a, b Peer) int { return rank(a.CreationTimestamp, b.CreationTimestamp, a.Name, b.Name) })
	accepted := make(map[string]Peer, len(order))
	for _, p := range order {
		if kept, ok := m.claimPeer(p); ok {
			p.AllowedIPs = kept
			accepted[p.Name] = p
		}
	}
	for _, p := range named {
		if a, ok := accepted[p.Name]; ok {
			m.peers[p.Name] = len(m.Peers)
			m.Peers = append(m.Peers, a)
		}
	}
}

// claimPeer checks one peer against everything claimed before it and,
// if it joins, records its key and the allowed IPs it keeps.
func (m *Mesh) claimPeer(p Peer) ([]netip.Prefix, bool) {
	if m.quick != nil {
		return quickPeer(p), true
	}
	o := m.own
	self := Owner{Kind: "Peer", Name: p.Name, Field: fieldPeerIPs}
	if p.PublicKey == (wireguard.Key{}) {
		m.problem(Error, "Peer", p.Name, fieldPeerKey, "", "no public key; left out of the mesh")
		return nil, false
	}
	if len(p.AllowedIPs) == 0 {
		m.problem(Error, "Peer", p.Name, fieldPeerIPs, "", "no allowed IPs; left out of the mesh")
		return nil, false
	}
	if first, taken := o.keys[p.PublicKey]; taken {
		m.problem(Error, "Peer", p.Name, fieldPeerKey, p.PublicKey.String(), "same WireGuard key as %s, which keeps it; peer refused", first)
		return nil, false
	}
	for _, ip := range p.AllowedIPs {
		if reason := m.takesOver(ip, self); reason != "" {
			m.problem(Error, "Peer", p.Name, fieldPeerIPs, ip.String(), "%s; peer refused", reason)
			return nil, false
		}
	}
	var kept []netip.Prefix
	for _, ip := range p.AllowedIPs {
		ip = ip.Masked()
		if slices.Contains(kept, ip) {
			continue
		}
		if hit, _, ok := o.conflict(prefixes, ip, self, nil); ok {
			m.problem(Error, "Peer", p.Name, fieldPeerIPs, ip.String(), "overlaps %s; dropped from this peer", hit.describe())
			continue
		}
		kept = append(kept, ip)
	}
	if len(kept) == 0 {
		m.problem(Error, "Peer", p.Name, fieldPeerIPs, "", "no allowed IP left after removing conflicts; left out of the mesh")
		return nil, false
	}
	o.keys[p.PublicKey] = Owner{Kind: "Peer", Name: p.Name, Field: fieldPeerKey}
	for _, ip := range kept {
		o.add(routed, Claim{ip, self})
	}
	return kept, true
}

// takesOver says why an allowed IP would hijack mesh traffic, or "".
func (m *Mesh) takesOver(ip netip.Prefix, self Owner) string {
	if ip.Bits() == 0 {
		return "a default route would take every node's traffic"
	}
	if hit, covers, ok := m.own.conflict(kindsOf(target), ip, self, nil); ok && covers {
		return verb(ip, hit, covers) + " " + hit.describe()
	}
	if hit, _, ok := m.own.conflict(kindsOf(endpoint), ip, self, nil); ok {
		return verb(ip, hit, true) + " " + hit.describe()
	}
	return ""
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
