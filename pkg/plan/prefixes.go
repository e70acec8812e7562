package plan

import (
	"cmp"
	"hash/maphash"
	"net/netip"
	"slices"

	"github.com/kgctl/kgctl/pkg/topology"
)

// sliceKey identifies a slice by its backing array and length. Views of
// one mesh share their long prefix lists (a segment's allowed IPs, its
// route destinations), so comparing a list once per distinct pair of
// slices, rather than once per node, turns O(nodes × segments × prefixes)
// into O(nodes × segments).
type sliceKey struct {
	p *netip.Prefix
	n int
}

func keyOf(s []netip.Prefix) sliceKey {
	if len(s) == 0 {
		return sliceKey{}
	}
	return sliceKey{&s[0], len(s)}
}

// prefixCache memoizes hashes, equality and sets of prefix lists by
// identity. The map keys hold the slices alive, so an address is never
// reused for other contents while the cache lives.
type prefixCache struct {
	seed   maphash.Seed
	hashes map[sliceKey]uint64
	equal  map[[2]sliceKey]bool
	sets   map[sliceKey]map[netip.Prefix]struct{}
	diffs  map[[2]sliceKey]PrefixDiff
	// multi memoizes diffs of several lists on a side (a follower
	// sends every segment's list through its leader), by the lists'
	// identities.
	multi map[uint64][]multiDiff
	// buckets and bucketList are routes' scratch, kept between calls.
	buckets    map[viaKey]int
	buckets64  map[uint64]int
	devices    []topology.Device
	tables     []topology.Table
	bucketList []bucket
	active     []int
	gen        uint64
	// into, when set, holds the arrays routes' results are written to.
	into *nodeBuf
	// added, removed and keys are scratch for sorting routes.
	added, removed []topology.Route
	keys           []uint64
}

func newPrefixCache() *prefixCache {
	return &prefixCache{
		seed:   maphash.MakeSeed(),
		hashes: make(map[sliceKey]uint64),
		equal:  make(map[[2]sliceKey]bool),
		sets:   make(map[sliceKey]map[netip.Prefix]struct{}),
		diffs:  make(map[[2]sliceKey]PrefixDiff),
	}
}

// hash returns a hash of the list's contents, in order.
func (c *prefixCache) hash(s []netip.Prefix) uint64 {
	k := keyOf(s)
	if h, ok := c.hashes[k]; ok {
		return h
	}
	var h maphash.Hash
	h.SetSeed(c.seed)
	for _, p := range s {
		a := p.Addr().As16()
		h.Write(a[:])
		h.WriteByte(byte(p.Bits()))
		if p.Addr().Is4() {
			h.WriteByte(4)
		}
	}
	v := h.Sum64()
	c.hashes[k] = v
	return v
}

// same reports whether two lists hold the same prefixes in the same order.
func (c *prefixCache) same(a, b []netip.Prefix) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	if len(a) <= 4 {
		return slices.Equal(a, b)
	}
	k := [2]sliceKey{keyOf(a), keyOf(b)}
	if v, ok := c.equal[k]; ok {
		return v
	}
	v := slices.Equal(a, b)
	c.equal[k] = v
	return v
}

// set returns the list as a set, built once per list.
func (c *prefixCache) set(s []netip.Prefix) map[netip.Prefix]struct{} {
	k := keyOf(s)
	if m, ok := c.sets[k]; ok {
		return m
	}
	m := make(map[netip.Prefix]struct{}, len(s))
	for _, p := range s {
		m[p] = struct{}{}
	}
	c.sets[k] = m
	return m
}

// diff is the set difference of two lists; nothing when they are equal.
// The result is the caller's to keep.
func (c *prefixCache) diff(before, after []netip.Prefix) PrefixDiff {
	if c.same(before, after) {
		return PrefixDiff{}
	}
	d := c.pairDiff(before, after)
	return PrefixDiff{Added: slices.Clone(d.Added), Removed: slices.Clone(d.Removed)}
}

// unique is the list sorted, without duplicates, shared: the list itself
// when it is (a segment's list usually is), else memoized.
func (c *prefixCache) unique(s []netip.Prefix) []netip.Prefix {
	ok := true
	for i := 1; i < len(s); i++ {
		if comparePrefix(s[i-1], s[i]) >= 0 {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	return c.pairDiff(nil, s).Added
}

// pairDiff is prefixDiff memoized by the lists' identity: in a one-node
// change, every view holds the same changed list. The result is shared.
func (c *prefixCache) pairDiff(before, after []netip.Prefix) PrefixDiff {
	if len(before) <= 4 && len(after) <= 4 && len(before) > 0 && len(after) > 0 {
		return prefixDiff(before, after)
	}
	k := [2]sliceKey{keyOf(before), keyOf(after)}
	if d, ok := c.diffs[k]; ok {
		return d
	}
	d := prefixDiff(before, after)
	c.diffs[k] = d
	return d
}

type multiDiff struct {
	key []sliceKey
	d   PrefixDiff
}

// multiDiff is prefixDiff of the concatenated lists of each side,
// memoized by the lists' identities (the followers of one leader have
// the same lists). The result is shared.
func (c *prefixCache) multiDiff(before, after [][]netip.Prefix) PrefixDiff {
	key := make([]sliceKey, 0, len(before)+len(after)+1)
	for _, s := range before {
		key = append(key, keyOf(s))
	}
	key = append(key, sliceKey{n: -1})
	for _, s := range after {
		key = append(key, keyOf(s))
	}
	var sum uint64
	for _, k := range key {
		sum = sum*1_000_003 ^ maphash.Comparable(c.seed, k)
	}
	if c.multi == nil {
		c.multi = make(map[uint64][]multiDiff)
	}
	for _, m := range c.multi[sum] {
		if slices.Equal(m.key, key) {
			return m.d
		}
	}
	d := prefixDiff(slices.Concat(before...), slices.Concat(after...))
	c.multi[sum] = append(c.multi[sum], multiDiff{key, d})
	return d
}

// prefixDiff is the set difference of two lists, sorted.
func prefixDiff(before, after []netip.Prefix) PrefixDiff {
	if len(before)*len(after) <= 64 {
		return smallPrefixDiff(before, after)
	}
	b := make(map[netip.Prefix]struct{}, len(before))
	for _, p := range before {
		b[p] = struct{}{}
	}
	a := make(map[netip.Prefix]struct{}, len(after))
	var d PrefixDiff
	for _, p := range after {
		a[p] = struct{}{}
		if _, ok := b[p]; !ok {
			d.Added = append(d.Added, p)
		}
	}
	for _, p := range before {
		if _, ok := a[p]; !ok {
			d.Removed = append(d.Removed, p)
		}
	}
	d.Added = sortPrefixes(d.Added)
	d.Removed = sortPrefixes(d.Removed)
	return d
}

// smallPrefixDiff is prefixDiff for short lists, without maps.
func smallPrefixDiff(before, after []netip.Prefix) PrefixDiff {
	var d PrefixDiff
	for _, p := range after {
		if !slices.Contains(before, p) {
			d.Added = append(d.Added, p)
		}
	}
	for _, p := range before {
		if !slices.Contains(after, p) {
			d.Removed = append(d.Removed, p)
		}
	}
	d.Added = sortPrefixes(d.Added)
	d.Removed = sortPrefixes(d.Removed)
	return d
}

// sortPrefixes sorts and removes duplicates.
func sortPrefixes(ps []netip.Prefix) []netip.Prefix {
	slices.SortFunc(ps, comparePrefix)
	return slices.Compact(ps)
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

// nameDiff is the set difference of two lists of names, sorted.
func nameDiff(before, after []string) NameDiff {
	b := make(map[string]bool, len(before))
	for _, s := range before {
		b[s] = true
	}
	a := make(map[string]bool, len(after))
	var d NameDiff
	for _, s := range after {
		a[s] = true
		if !b[s] {
			d.Added = append(d.Added, s)
		}
	}
	for _, s := range before {
		if !a[s] {
			d.Removed = append(d.Removed, s)
		}
	}
	slices.Sort(d.Added)
	slices.Sort(d.Removed)
	return d
}
