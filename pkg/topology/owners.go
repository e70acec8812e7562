package topology

import (
	"fmt"
	"math/bits"
	"net/netip"
	"slices"

	"github.com/kgctl/kgctl/pkg/wireguard"
)

// Owner names who holds a prefix or a key of the mesh.
type Owner struct {
	// Kind is "Node", "Location", "Peer", or "Settings" for the ranges
	// the mesh reserves (--subnet, --service-cidr).
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Field is the annotation, spec field or flag the prefix comes from.
	Field string `json:"field"`
}

func (o Owner) String() string {
	switch o.Kind {
	case "Settings":
		if o.Field == "--subnet" {
			return "the WireGuard subnet (--subnet)"
		}
		return "the service CIDR (" + o.Field + ")"
	case "Node":
		return fmt.Sprintf("node %q", o.Name)
	case "Location":
		return fmt.Sprintf("location %q", o.Name)
	}
	return fmt.Sprintf("peer %q", o.Name)
}

// sameOwner compares owners, whatever field their claims come from.
func sameOwner(a, b Owner) bool { return a.Kind == b.Kind && a.Name == b.Name }

// Claim is a prefix the mesh routes, reserves or must keep out of its
// routes (a node's endpoint), and who holds it.
type Claim struct {
	Prefix netip.Prefix `json:"prefix"`
	Owner  Owner        `json:"owner"`
}

// describe names a claim in a message: `10.2.1.0/24 (spec.podCIDR) of
// node "a"`.
func (c Claim) describe() string {
	if c.Owner.Kind == "Settings" {
		return c.Prefix.String() + ", " + c.Owner.String()
	}
	return fmt.Sprintf("%s (%s) of %s", c.Prefix, c.Owner.Field, c.Owner)
}

// claimKind sorts claims by what a later overlapping input does to them.
type claimKind uint8

const (
	// target: the reserved ranges and the nodes' pod CIDRs, which no
	// later input may cover (a peer doing so is refused outright).
	target claimKind = iota
	// routed: internal IPs, allowed location IPs and peers' allowed
	// IPs; a later overlapping prefix is dropped.
	routed
	// endpoint: node endpoints, never routed, which no later pod CIDR,
	// allowed location IP or peer's allowed IP may cover.
	endpoint
	nKinds
)

// kinds is a set of claim kinds to look up.
type kinds uint8

func kindsOf(ks ...claimKind) kinds {
	var m kinds
	for _, k := range ks {
		m |= 1 << k
	}
	return m
}

func (m kinds) has(k claimKind) bool { return m&(1<<k) != 0 }

// ownership decides who owns each prefix and key of the mesh. Objects
// claim in rank order (see rank) and each claim is checked against the
// claims accepted before it, so the first claimant keeps a prefix and a
// newcomer can never take one over. Built once per Build; every insert
// and lookup costs O(distinct prefix lengths) map operations, so the
// whole computation is O(n) map operations (plus the O(n log n) sort of
// the objects by rank).
type ownership struct {
	claims []Claim
	kinds  []claimKind
	// idx holds, per prefix, the first claim of each kind at exactly
	// that prefix and, at every length of lens, up to two claims of
	// each kind strictly inside it with different owners: enough to
	// find one whose owner is not the asker. Claim numbers are 1-based
	// so the zero entry means none.
	idx  index
	keys map[wireguard.Key]Owner
	// lens are the prefix lengths, per family, that lookups use: every
	// length of the input, known before the first claim.
	lens [2]lengthSet
	// present are the lengths claimed, per family.
	present [2]lengthSet
}

type entry struct {
	exact  [nKinds]int32
	inside [nKinds][2]int32
}

// index maps prefixes to entries with keys that hash fast: an IPv4
// prefix packs into one uint64 (the generic netip.Prefix hash made the
// ownership cost as much as the rest of Build at 10,000 nodes).
type index struct {
	v4 map[uint64]entry
	v6 map[v6key]entry
}

type v6key struct{ hi, lo, bits uint64 }

func newIndex(n int) index {
	return index{v4: make(map[uint64]entry, n), v6: make(map[v6key]entry)}
}

// v4key is the prefix of a at length n, as a key.
func v4key(a uint32, n int) uint64 {
	if n < 32 {
		a &^= 0xffffffff >> n
	}
	return uint64(a)<<8 | uint64(n)
}

func (x index) get(p netip.Prefix) (entry, bool) {
	if p.Addr().Is4() {
		e, ok := x.v4[v4key(addr4(p.Addr()), p.Bits())]
		return e, ok
	}
	e, ok := x.v6[keyOf6(p.Addr(), p.Bits())]
	return e, ok
}

// at looks up the prefix of a at length n.
func (x index) at(a netip.Addr, n int) (entry, bool) {
	if a.Is4() {
		e, ok := x.v4[v4key(addr4(a), n)]
		return e, ok
	}
	e, ok := x.v6[keyOf6(a, n)]
	return e, ok
}

func (x index) set(a netip.Addr, n int, e entry) {
	if a.Is4() {
		x.v4[v4key(addr4(a), n)] = e
		return
	}
	x.v6[keyOf6(a, n)] = e
}

func addr4(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func keyOf6(a netip.Addr, n int) v6key {
	p, _ := a.Prefix(n)
	b := p.Addr().As16()
	var hi, lo uint64
	for i := range 8 {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	return v6key{hi, lo, uint64(n)}
}

// newOwnership sizes the index for n claims.
func newOwnership(lens [2]lengthSet, n, keys int) *ownership {
	return &ownership{
		claims: make([]Claim, 0, n),
		kinds:  make([]claimKind, 0, n),
		idx:    newIndex(n),
		keys:   make(map[wireguard.Key]Owner, keys),
		lens:   lens,
	}
}

// lengthSet is a set of prefix lengths (0-128).
type lengthSet [3]uint64

func (s *lengthSet) add(n int)      { s[n/64] |= 1 << (n % 64) }
func (s *lengthSet) has(n int) bool { return s[n/64]&(1<<(n%64)) != 0 }

// each calls f for every length in the set up to max, in order, until
// f returns false.
func (s *lengthSet) each(max int, f func(int) bool) {
	for w := range s {
		for v := s[w]; v != 0; v &= v - 1 {
			n := w*64 + bits.TrailingZeros64(v)
			if n > max || !f(n) {
				return
			}
		}
	}
}

func famOf(p netip.Prefix) int {
	if p.Addr().Is4() {
		return 0
	}
	return 1
}

// add records a claim; the caller has checked it conflicts with no one.
func (o *ownership) add(k claimKind, c Claim) {
	c.Prefix = c.Prefix.Masked()
	o.claims = append(o.claims, c)
	o.kinds = append(o.kinds, k)
	i := int32(len(o.claims))
	f := famOf(c.Prefix)
	a := c.Prefix.Addr()
	e, _ := o.idx.get(c.Prefix)
	if e.exact[k] == 0 {
		e.exact[k] = i
		o.idx.set(a, c.Prefix.Bits(), e)
	}
	o.present[f].add(c.Prefix.Bits())
	o.lens[f].each(c.Prefix.Bits()-1, func(n int) bool {
		e, _ := o.idx.at(a, n)
		slot := &e.inside[k]
		switch {
		case slot[0] == 0:
			slot[0] = i
		case slot[1] == 0 && !sameOwner(o.claims[slot[0]-1].Owner, c.Owner):
			slot[1] = i
		default:
			return true
		}
		o.idx.set(a, n, e)
		return true
	})
}

// conflict returns a claim of one of the kinds ks overlapping q whose
// owner is not self and that skip (if any) does not excuse. covers says
// whether q contains it (or equals it) rather than lies strictly inside
// it. Claims q covers are found first.
func (o *ownership) conflict(ks kinds, q netip.Prefix, self Owner, skip func(Claim) bool) (c Claim, covers, ok bool) {
	q = q.Masked()
	f := famOf(q)
	if !o.lens[f].has(q.Bits()) {
		return o.scan(ks, q, self, skip)
	}
	other := func(i int32) bool {
		return i > 0 && !sameOwner(o.claims[i-1].Owner, self) && (skip == nil || !skip(o.claims[i-1]))
	}
	if e, found := o.idx.get(q); found {
		for k := range nKinds {
			if !ks.has(k) {
				continue
			}
			if i := e.exact[k]; other(i) {
				return o.claims[i-1], true, true
			}
			for _, i := range e.inside[k] {
				if other(i) {
					return o.claims[i-1], true, true
				}
			}
		}
	}
	o.present[f].each(q.Bits()-1, func(n int) bool {
		e, found := o.idx.at(q.Addr(), n)
		if !found {
			return true
		}
		for k := range nKinds {
			if i := e.exact[k]; ks.has(k) && other(i) {
				c, ok = o.claims[i-1], true
				return false
			}
		}
		return true
	})
	return c, false, ok
}

// scan answers conflict for a prefix length the index was not built for
// (a caller's query, such as peer add's --allowed-ips): O(claims).
func (o *ownership) scan(ks kinds, q netip.Prefix, self Owner, skip func(Claim) bool) (Claim, bool, bool) {
	for i, c := range o.claims {
		if ks.has(o.kinds[i]) && c.Prefix.Overlaps(q) && !sameOwner(c.Owner, self) && (skip == nil || !skip(c)) {
			return c, q.Bits() <= c.Prefix.Bits(), true
		}
	}
	return Claim{}, false, false
}

var (
	// anyKind: what a new pod CIDR or allowed location IP may not
	// overlap (an endpoint always lies inside what overlaps it).
	anyKind = kindsOf(target, routed, endpoint)
	// prefixes: what a new internal IP or peer's allowed IP may not
	// overlap.
	prefixes = kindsOf(target, routed)
)

// sorted lists the claims by prefix, for callers looking for free space.
func (o *ownership) sorted() []Claim {
	out := slices.Clone(o.claims)
	slices.SortStableFunc(out, func(a, b Claim) int { return comparePrefix(a.Prefix, b.Prefix) })
	return out
}
