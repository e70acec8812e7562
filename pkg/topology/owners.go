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

// claimKind sorts claims into the three sets conflicts are looked up in.
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
)

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
	sets   [3]prefixSet
	keys   map[wireguard.Key]Owner
	// lens are the prefix lengths, per family, that lookups use: every
	// length of the input, known before the first claim.
	lens [2]lengthSet
}

// newOwnership sizes each set for the claims expected in it.
func newOwnership(lens [2]lengthSet, sizes [3]int, keys int) *ownership {
	o := &ownership{claims: make([]Claim, 0, sizes[0]+sizes[1]+sizes[2]), keys: make(map[wireguard.Key]Owner, keys), lens: lens}
	for i := range o.sets {
		o.sets[i] = prefixSet{exact: make(map[netip.Prefix]int32, sizes[i]), inside: make(map[netip.Prefix][2]int32)}
	}
	return o
}

// lengthSet is a set of prefix lengths (0-128).
type lengthSet [3]uint64

func (s *lengthSet) add(n int)                { s[n/64] |= 1 << (n % 64) }
func (s *lengthSet) has(n int) bool           { return s[n/64]&(1<<(n%64)) != 0 }
func (s *lengthSet) addPrefix(p netip.Prefix) { s.add(p.Bits()) }

// each calls f for every length in the set up to max, in order.
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

// prefixSet holds claims of one kind: exact maps a prefix to its first
// claim; inside maps a prefix, at every length of lens shorter than a
// claim's, to up to two claims of different owners strictly inside it,
// which is enough to find one of an owner other than the asker.
type prefixSet struct {
	exact  map[netip.Prefix]int32
	inside map[netip.Prefix][2]int32
	lens   [2]lengthSet
}

// add records claim i; the caller has checked it conflicts with no one.
func (o *ownership) add(k claimKind, c Claim) {
	c.Prefix = c.Prefix.Masked()
	i := int32(len(o.claims))
	o.claims = append(o.claims, c)
	o.kinds = append(o.kinds, k)
	s := &o.sets[k]
	f := famOf(c.Prefix)
	if _, ok := s.exact[c.Prefix]; !ok {
		s.exact[c.Prefix] = i
	}
	s.lens[f].addPrefix(c.Prefix)
	o.lens[f].each(c.Prefix.Bits()-1, func(n int) bool {
		p, _ := c.Prefix.Addr().Prefix(n)
		e, ok := s.inside[p]
		switch {
		case !ok:
			s.inside[p] = [2]int32{i, -1}
		case e[1] < 0 && !sameOwner(o.claims[e[0]].Owner, c.Owner):
			s.inside[p] = [2]int32{e[0], i}
		}
		return true
	})
}

// conflict returns a claim of kind k overlapping q whose owner is not
// self and that skip (if any) does not excuse. covers says whether q
// contains it (or equals it) rather than lies strictly inside it.
func (o *ownership) conflict(k claimKind, q netip.Prefix, self Owner, skip func(Claim) bool) (c Claim, covers, ok bool) {
	q = q.Masked()
	s := &o.sets[k]
	f := famOf(q)
	if !o.lens[f].has(q.Bits()) {
		return o.scan(k, q, self, skip)
	}
	other := func(i int32) bool {
		return i >= 0 && !sameOwner(o.claims[i].Owner, self) && (skip == nil || !skip(o.claims[i]))
	}
	if i, found := s.exact[q]; found && other(i) {
		return o.claims[i], true, true
	}
	if e, found := s.inside[q]; found {
		for _, i := range e {
			if other(i) {
				return o.claims[i], true, true
			}
		}
	}
	s.lens[f].each(q.Bits()-1, func(n int) bool {
		p, _ := q.Addr().Prefix(n)
		if i, found := s.exact[p]; found && other(i) {
			c, ok = o.claims[i], true
			return false
		}
		return true
	})
	return c, false, ok
}

// scan answers conflict for a prefix length the index was not built for
// (a caller's query, such as peer add's --allowed-ips): O(claims).
func (o *ownership) scan(k claimKind, q netip.Prefix, self Owner, skip func(Claim) bool) (Claim, bool, bool) {
	for i, c := range o.claims {
		if o.kinds[i] == k && c.Prefix.Overlaps(q) && !sameOwner(c.Owner, self) && (skip == nil || !skip(c)) {
			return c, q.Bits() <= c.Prefix.Bits(), true
		}
	}
	return Claim{}, false, false
}

// anyConflict looks q up in every set but the endpoints (which only
// covering prefixes conflict with; see coversEndpoint).
func (o *ownership) anyConflict(q netip.Prefix, self Owner) (Claim, bool, bool) {
	for _, k := range []claimKind{target, routed} {
		if c, covers, ok := o.conflict(k, q, self, nil); ok {
			return c, covers, true
		}
	}
	return Claim{}, false, false
}

// coversEndpoint returns a node endpoint (of another owner) inside q.
func (o *ownership) coversEndpoint(q netip.Prefix, self Owner) (Claim, bool) {
	c, covers, ok := o.conflict(endpoint, q, self, nil)
	return c, ok && covers
}

// sorted lists the claims by prefix, for callers looking for free space.
func (o *ownership) sorted() []Claim {
	out := slices.Clone(o.claims)
	slices.SortStableFunc(out, func(a, b Claim) int { return comparePrefix(a.Prefix, b.Prefix) })
	return out
}
