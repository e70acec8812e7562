package topology

import (
	"net/netip"
	"slices"
)

// prefixIndex answers "does any prefix of the set overlap this one" in
// O(address bits) instead of O(set size): conflict checks of peers and
// allowed location IPs against every node's addresses would otherwise
// cost O(peers × nodes).
type prefixIndex struct {
	sorted []netip.Prefix
}

// newPrefixIndex indexes ps; it takes ownership of the slice.
func newPrefixIndex(ps []netip.Prefix) *prefixIndex {
	for i, p := range ps {
		ps[i] = p.Masked()
	}
	slices.SortFunc(ps, comparePrefix)
	return &prefixIndex{sorted: slices.Compact(ps)}
}

func (x *prefixIndex) has(p netip.Prefix) bool {
	_, ok := slices.BinarySearchFunc(x.sorted, p, comparePrefix)
	return ok
}

// covering returns a member that contains or equals q.
func (x *prefixIndex) covering(q netip.Prefix) (netip.Prefix, bool) {
	for b := 0; b <= q.Bits(); b++ {
		p, _ := q.Addr().Prefix(b)
		if x.has(p) {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// within returns a member that q contains (or equals).
func (x *prefixIndex) within(q netip.Prefix) (netip.Prefix, bool) {
	q = q.Masked()
	i, _ := slices.BinarySearchFunc(x.sorted, q, comparePrefix)
	if i < len(x.sorted) && q.Contains(x.sorted[i].Addr()) && x.sorted[i].Bits() >= q.Bits() {
		return x.sorted[i], true
	}
	return netip.Prefix{}, false
}

// overlap returns a member that overlaps q.
func (x *prefixIndex) overlap(q netip.Prefix) (netip.Prefix, bool) {
	if p, ok := x.covering(q); ok {
		return p, true
	}
	return x.within(q)
}

// meshIndex indexes every segment's allowed IPs, built on first use:
// a cluster without peers or allowed location IPs never pays for it.
func (m *Mesh) meshIndex() *prefixIndex {
	if m.index == nil {
		n := 0
		for i := range m.Segments {
			n += len(m.Segments[i].AllowedIPs)
		}
		all := make([]netip.Prefix, 0, n)
		for i := range m.Segments {
			all = append(all, m.Segments[i].AllowedIPs...)
		}
		m.index = newPrefixIndex(all)
	}
	return m.index
}
