package topology

import (
	"net/netip"
	"slices"
	"sync"

	"github.com/kgctl/kgctl/pkg/wireguard"
)

// quickOff turns the conflict-free fast path off (tests compare both).
var quickOff = false

// quickClaims is the fast path of the claims: in the usual cluster no
// two claims of different owners overlap, and then the rank-order walk
// of claimNodes, claimLocations and claimPeer accepts everything as it
// is and reports nothing. One sort of every claimed prefix proves that;
// the ownership index (which costs as much as the rest of Build) is then
// built only when asked for (Claims, Owner). It reports whether the
// cluster qualifies: no allowed location IPs, IPv4 only, distinct keys,
// every peer with a key and an allowed IP, no default route, and no
// overlap between different owners other than those the walk allows
// (an endpoint inside another node's internal IP, another endpoint or
// a reserved range; reserved ranges among themselves).
func quickClaims(s Settings, nodes []*Node, peers []Peer) bool {
	if quickOff {
		return false
	}
	type kind uint8
	const (
		kSettings kind = iota
		kEndpoint
		kInternal
		kOther
	)
	n := len(s.ServiceCIDRs) + 1
	for _, nd := range nodes {
		if len(nd.AllowedLocationIPs) > 0 {
			return false
		}
		n += len(nd.PodCIDRs) + 2
	}
	for _, p := range peers {
		if p.PublicKey == (wireguard.Key{}) || len(p.AllowedIPs) == 0 {
			return false
		}
		n += len(p.AllowedIPs)
	}
	if n >= 1<<24 {
		return false
	}
	keys := make(map[wireguard.Key]struct{}, len(nodes)+len(peers))
	owners := make([]int32, 0, n)
	kinds := make([]kind, 0, n)
	packed := make([]uint64, 0, n)
	ok := true
	add := func(p netip.Prefix, k kind, owner int32) {
		if !p.Addr().Is4() || (p.Bits() == 0 && k != kSettings) {
			ok = false
			return
		}
		p = p.Masked()
		a := p.Addr().As4()
		v := uint64(a[0])<<24 | uint64(a[1])<<16 | uint64(a[2])<<8 | uint64(a[3])
		packed = append(packed, (v<<6|uint64(p.Bits()))<<24|uint64(len(owners)))
		owners = append(owners, owner)
		kinds = append(kinds, k)
	}
	add(s.Subnet, kSettings, -1)
	for _, c := range s.ServiceCIDRs {
		add(c, kSettings, -1)
	}
	for i, nd := range nodes {
		if _, dup := keys[nd.Key]; dup {
			return false
		}
		keys[nd.Key] = struct{}{}
		for _, c := range nd.PodCIDRs {
			add(c, kOther, int32(i))
		}
		if a := nd.Endpoint.Addr; a.IsValid() {
			add(hostPrefix(a), kEndpoint, int32(i))
		}
		if nd.InternalIP.IsValid() {
			add(hostPrefix(nd.InternalIP.Addr()), kInternal, int32(i))
		}
	}
	for j, p := range peers {
		if _, dup := keys[p.PublicKey]; dup {
			return false
		}
		keys[p.PublicKey] = struct{}{}
		for _, c := range p.AllowedIPs {
			add(c, kOther, int32(len(nodes)+j))
		}
	}
	if !ok {
		return false
	}
	slices.Sort(packed)
	// A sweep in address order: the open prefixes (those containing the
	// current one) form a chain, as IP prefixes nest or are disjoint.
	type open struct {
		last uint64
		i    int
	}
	var stack []open
	for _, k := range packed {
		i := int(k & (1<<24 - 1))
		bits := (k >> 24) & 63
		first := k >> 30
		for len(stack) > 0 && stack[len(stack)-1].last < first {
			stack = stack[:len(stack)-1]
		}
		for _, o := range stack {
			a, b := o.i, i
			if owners[a] == owners[b] && owners[a] >= 0 {
				continue
			}
			ka, kb := kinds[a], kinds[b]
			if ka > kb {
				ka, kb = kb, ka
			}
			benign := (ka == kSettings && kb == kSettings) || (ka == kSettings && kb == kEndpoint) ||
				(ka == kEndpoint && (kb == kEndpoint || kb == kInternal))
			if !benign {
				return false
			}
		}
		stack = append(stack, open{last: first | (1<<(32-bits) - 1), i: i})
	}
	return true
}

// quick holds what the fast path defers.
type quick struct {
	once sync.Once
	own  *ownership
}

// ownership returns the mesh's ownership index, building it on the fast
// path the way the walk would have: the reserved ranges, every node in
// rank order, then every peer in rank order.
func (m *Mesh) ownership() *ownership {
	if m.quick == nil {
		return m.own
	}
	m.quick.once.Do(func() {
		var nodes []*Node
		for si := range m.Segments {
			for i := range m.Segments[si].Nodes {
				nodes = append(nodes, &m.Segments[si].Nodes[i])
			}
		}
		o := newClaims(nodes, m.Peers)
		settingsClaims(o, m.Settings)
		slices.SortFunc(nodes, rankNodes)
		for _, n := range nodes {
			commitNode(o, n, n.InternalIP.IsValid())
		}
		order := slices.Clone(m.Peers)
		slices.SortFunc(order, func(a, b Peer) int { return rank(a.CreationTimestamp, b.CreationTimestamp, a.Name, b.Name) })
		for _, p := range order {
			o.keys[p.PublicKey] = Owner{Kind: "Peer", Name: p.Name, Field: fieldPeerKey}
			for _, ip := range p.AllowedIPs {
				o.add(routed, Claim{ip, Owner{Kind: "Peer", Name: p.Name, Field: fieldPeerIPs}})
			}
		}
		m.quick.own = o
	})
	return m.quick.own
}

// quickPeer is claimPeer on the fast path: nothing conflicts, so the
// peer keeps its allowed IPs, masked, without repeats.
func quickPeer(p Peer) []netip.Prefix {
	var kept []netip.Prefix
	for _, ip := range p.AllowedIPs {
		ip = ip.Masked()
		if !slices.Contains(kept, ip) {
			kept = append(kept, ip)
		}
	}
	return kept
}
