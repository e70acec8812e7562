package plan

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"

	"github.com/kgctl/kgctl/pkg/topology"
)

// via is everything about a route but its destination.
type via struct {
	gw     netip.Addr
	device topology.Device
	onlink bool
	table  topology.Table
}

func viaOf(s topology.RouteSet) via {
	return via{gw: s.Gw, device: s.Device, onlink: s.OnLink, table: s.Table}
}

// viaKey is a via with its device and table interned, which hashes
// faster than their strings.
type viaKey struct {
	gw            netip.Addr
	device, table int16
	onlink        bool
}

func (c *prefixCache) keyOf(v via) viaKey {
	d := slices.Index(c.devices, v.device)
	if d < 0 {
		d = len(c.devices)
		c.devices = append(c.devices, v.device)
	}
	t := slices.Index(c.tables, v.table)
	if t < 0 {
		t = len(c.tables)
		c.tables = append(c.tables, v.table)
	}
	return viaKey{gw: v.gw, device: int16(d), table: int16(t), onlink: v.onlink}
}

// packed is the key in one integer when its gateway is IPv4 or none
// (a map finds those several times faster; routes look a way out up per
// destination list).
func (k viaKey) packed() (uint64, bool) {
	var g uint64
	switch {
	case !k.gw.IsValid():
	case k.gw.Is4():
		a := k.gw.As4()
		g = 1<<32 | uint64(binary.BigEndian.Uint32(a[:]))
	default:
		return 0, false
	}
	if k.device < 0 || k.device >= 1<<12 || k.table < 0 || k.table >= 1<<12 {
		return 0, false
	}
	var o uint64
	if k.onlink {
		o = 1
	}
	return g<<25 | uint64(k.device)<<13 | uint64(k.table)<<1 | o, true
}

// bucket holds the destination lists leaving one way, before and after.
type bucket struct {
	v             via
	before, after [][]netip.Prefix
	// added and removed are the destinations the way out gains and
	// loses, in addedBuf and removedBuf when computed here.
	added, removed       []netip.Prefix
	addedBuf, removedBuf []netip.Prefix
	// gen is the routeChanges call the bucket was last used in; vi is
	// its way out's index in vias (-1: not numbered yet).
	gen  uint64
	vi   int64
	vias *viaTable
}

// routes compares two nodes' routes as sets. Only the ways out (gateway,
// device, table) whose destination lists differ are looked at, list by
// list, so that only the lists that differ are expanded into single
// routes: a follower in a large cluster routes tens of thousands of
// prefixes, of which a one-node change touches one list.
func (c *prefixCache) routes(before, after []topology.RouteSet) RouteDiff {
	d, _ := c.routeChanges(before, after, nil)
	return d
}

// routeChanges is routes, packed into vias' numbering when vias is set
// and every route packs (see packedRoutes); else as routes.
func (c *prefixCache) routeChanges(before, after []topology.RouteSet, vias *viaTable) (RouteDiff, *packedRoutes) {
	var dirty []via // nil: every way out
	if len(before) == len(after) {
		for i := range before {
			vb, va := viaOf(before[i]), viaOf(after[i])
			if vb == va && c.same(before[i].Dsts, after[i].Dsts) {
				continue
			}
			for _, v := range [2]via{vb, va} {
				if !slices.Contains(dirty, v) {
					dirty = append(dirty, v)
				}
			}
		}
		if len(dirty) == 0 {
			return RouteDiff{}, nil
		}
	}
	// The buckets outlive the call (with the index of their way out in
	// vias); gen tells this call's.
	if c.buckets == nil {
		c.buckets, c.buckets64 = make(map[viaKey]int), make(map[uint64]int)
	}
	c.gen++
	c.active = c.active[:0]
	get := func(v via) *bucket {
		if dirty != nil && !slices.Contains(dirty, v) {
			return nil
		}
		k := c.keyOf(v)
		p, fast := k.packed()
		var i int
		var ok bool
		if fast {
			i, ok = c.buckets64[p]
		} else {
			i, ok = c.buckets[k]
		}
		if !ok {
			i = len(c.bucketList)
			if fast {
				c.buckets64[p] = i
			} else {
				c.buckets[k] = i
			}
			c.bucketList = append(c.bucketList, bucket{v: v, vi: -1})
		}
		b := &c.bucketList[i]
		if b.gen != c.gen {
			b.gen, b.before, b.after = c.gen, b.before[:0], b.after[:0]
			c.active = append(c.active, i)
		}
		return b
	}
	for _, s := range before {
		if b := get(viaOf(s)); b != nil {
			b.before = append(b.before, s.Dsts)
		}
	}
	for _, s := range after {
		if b := get(viaOf(s)); b != nil {
			b.after = append(b.after, s.Dsts)
		}
	}
	for _, i := range c.active {
		b := &c.bucketList[i]
		b.added, b.removed = c.bucketDiff(b)
	}
	if vias != nil {
		if p, ok := c.packBuckets(vias); ok {
			return RouteDiff{}, p
		}
	}
	added, removed := c.added[:0], c.removed[:0]
	for _, i := range c.active {
		b := &c.bucketList[i]
		v := b.v
		for _, p := range b.added {
			added = append(added, topology.Route{Dst: p, Gw: v.gw, Device: v.device, OnLink: v.onlink, Table: v.table})
		}
		for _, p := range b.removed {
			removed = append(removed, topology.Route{Dst: p, Gw: v.gw, Device: v.device, OnLink: v.onlink, Table: v.table})
		}
	}
	c.added, c.removed = added, removed
	// Sorted in the scratch lists, then copied out at their size; what
	// one way out contributes is sorted already.
	var intoA, intoR *[]topology.Route
	if c.into != nil {
		intoA, intoR = &c.into.added, &c.into.removed
	}
	return RouteDiff{Added: c.sorted(added, c.one(true), intoA), Removed: c.sorted(removed, c.one(false), intoR)}, nil
}

// packBuckets packs the last routeChanges' buckets, sorted; false when a
// route does not pack (IPv6, another table, a full table of ways out).
func (c *prefixCache) packBuckets(vias *viaTable) (*packedRoutes, bool) {
	var added, removed []uint64
	if c.into != nil {
		added, removed = c.into.packedAdded[:0], c.into.packedRemoved[:0]
	}
	for _, i := range c.active {
		b := &c.bucketList[i]
		if len(b.added) == 0 && len(b.removed) == 0 {
			continue
		}
		r, ok := tableRank(b.v.table)
		if !ok {
			return nil, false
		}
		if b.vi < 0 || b.vias != vias {
			v, ok := vias.intern(b.v)
			if !ok {
				return nil, false
			}
			b.vi, b.vias = int64(v), vias
		}
		vi := uint64(b.vi)
		for _, p := range b.added {
			k, ok := packKey(p, r, vi)
			if !ok {
				return nil, false
			}
			added = append(added, k)
		}
		for _, p := range b.removed {
			k, ok := packKey(p, r, vi)
			if !ok {
				return nil, false
			}
			removed = append(removed, k)
		}
	}
	if c.into != nil {
		c.into.packedAdded, c.into.packedRemoved = added, removed
	}
	if len(added) == 0 && len(removed) == 0 {
		return nil, true
	}
	sortKeys(added, vias.list, &c.keys)
	sortKeys(removed, vias.list, &c.keys)
	return &packedRoutes{added: added, removed: removed, vias: vias.list}, true
}

// one reports whether at most one bucket contributes to the added (or
// removed) routes of the last routes call.
func (c *prefixCache) one(added bool) bool {
	n := 0
	for _, i := range c.active {
		b := &c.bucketList[i]
		if (added && len(b.after) > 0) || (!added && len(b.before) > 0) {
			n++
		}
	}
	return n <= 1
}

// sorted sorts routes in place and returns a copy the caller keeps.
// sorted returns rs sorted in a slice of its own, or in *into (reused
// from an earlier node whose change was consumed).
func (c *prefixCache) sorted(rs []topology.Route, isSorted bool, into *[]topology.Route) []topology.Route {
	if len(rs) == 0 {
		return nil
	}
	var out []topology.Route
	if into != nil {
		out = (*into)[:0]
	}
	if isSorted {
		out = append(out, rs...)
	} else {
		out, c.keys = sortedRoutes(out, rs, c.keys)
	}
	if into != nil {
		*into = out
	}
	clear(rs)
	return out
}

// bucketDiff is the set difference of the union of the lists on each
// side. Lists equal on both sides are matched and left out; of the rest,
// a prefix counts as added or removed only if no matched list holds it.
func (c *prefixCache) bucketDiff(b *bucket) (added, removed []netip.Prefix) {
	// A way out one side alone has (a full mesh's segments, a
	// follower's leader): its list, sorted, without duplicates.
	switch {
	case len(b.before) == 0 && len(b.after) == 1:
		return c.unique(b.after[0]), nil
	case len(b.after) == 0 && len(b.before) == 1:
		return nil, c.unique(b.before[0])
	}
	matched, restB, restA := c.match(b)
	var d PrefixDiff
	if len(matched) == 0 && len(restB) == 0 && len(restA) == 1 {
		// A way out only the after side has (a full mesh's segments).
		return c.pairDiff(nil, restA[0]).Added, nil
	}
	if len(matched) == 0 && len(restA) == 0 && len(restB) == 1 {
		return nil, c.pairDiff(restB[0], nil).Removed
	}
	if len(restB) <= 1 && len(restA) <= 1 {
		// One list changed: the same pair recurs in every view.
		var x, y []netip.Prefix
		if len(restB) == 1 {
			x = restB[0]
		}
		if len(restA) == 1 {
			y = restA[0]
		}
		d = c.pairDiff(x, y)
	} else {
		d = c.multiDiff(restB, restA)
	}
	if len(matched) == 0 {
		// Shared, as pairDiff's and multiDiff's results are.
		return d.Added, d.Removed
	}
	inMatched := func(p netip.Prefix) bool {
		for _, s := range matched {
			if _, ok := c.set(s)[p]; ok {
				return true
			}
		}
		return false
	}
	// Into the bucket's own arrays: a follower's leader removes
	// thousands of routes on every follower.
	added, removed = b.addedBuf[:0], b.removedBuf[:0]
	for _, p := range d.Added {
		if !inMatched(p) {
			added = append(added, p)
		}
	}
	for _, p := range d.Removed {
		if !inMatched(p) {
			removed = append(removed, p)
		}
	}
	b.addedBuf, b.removedBuf = added, removed
	return added, removed
}

// match pairs the lists of a bucket that are equal on both sides, by
// position first, then by content; it returns those and the rest.
func (c *prefixCache) match(b *bucket) (matched, restB, restA [][]netip.Prefix) {
	matchedB := make([]bool, len(b.before))
	matchedA := make([]bool, len(b.after))
	for i := range b.after {
		if i < len(b.before) && c.same(b.before[i], b.after[i]) {
			matchedB[i], matchedA[i] = true, true
			matched = append(matched, b.after[i])
		}
	}
	var byHash map[uint64][]int
	for i, a := range b.after {
		if matchedA[i] {
			continue
		}
		if byHash == nil {
			byHash = make(map[uint64][]int)
			for j, s := range b.before {
				if !matchedB[j] {
					h := c.hash(s)
					byHash[h] = append(byHash[h], j)
				}
			}
		}
		for _, j := range byHash[c.hash(a)] {
			if !matchedB[j] && c.same(b.before[j], a) {
				matchedB[j], matchedA[i] = true, true
				matched = append(matched, a)
				break
			}
		}
	}
	for j, s := range b.before {
		if !matchedB[j] {
			restB = append(restB, s)
		}
	}
	for i, s := range b.after {
		if !matchedA[i] {
			restA = append(restA, s)
		}
	}
	return matched, restB, restA
}

func compareRoute(a, b topology.Route) int {
	if c := strings.Compare(string(a.Table), string(b.Table)); c != 0 {
		return c
	}
	if c := comparePrefix(a.Dst, b.Dst); c != 0 {
		return c
	}
	if c := a.Gw.Compare(b.Gw); c != 0 {
		return c
	}
	if c := strings.Compare(string(a.Device), string(b.Device)); c != 0 {
		return c
	}
	return cmpBool(a.OnLink, b.OnLink)
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// rules compares two nodes' rules as sets.
func rules(before, after []topology.Rule) RuleDiff {
	if slices.Equal(before, after) {
		return RuleDiff{}
	}
	b := make(map[topology.Rule]bool, len(before))
	for _, r := range before {
		b[r] = true
	}
	a := make(map[topology.Rule]bool, len(after))
	var d RuleDiff
	for _, r := range after {
		a[r] = true
		if !b[r] {
			d.Added = append(d.Added, r)
		}
	}
	for _, r := range before {
		if !a[r] {
			d.Removed = append(d.Removed, r)
		}
	}
	d.Added = slices.CompactFunc(sortRules(d.Added), func(x, y topology.Rule) bool { return x == y })
	d.Removed = slices.CompactFunc(sortRules(d.Removed), func(x, y topology.Rule) bool { return x == y })
	return d
}

func sortRules(rs []topology.Rule) []topology.Rule {
	slices.SortFunc(rs, func(a, b topology.Rule) int {
		if c := strings.Compare(string(a.Table), string(b.Table)); c != 0 {
			return c
		}
		if c := comparePrefix(a.Dst, b.Dst); c != 0 {
			return c
		}
		if c := comparePrefix(a.Src, b.Src); c != 0 {
			return c
		}
		return cmpBool(a.FromWireGuard, b.FromWireGuard)
	})
	return rs
}

// allRoutes lists every route of a node that joins or leaves.
func allRoutes(sets []topology.RouteSet) []topology.Route {
	rs := topology.FlatRoutes(sets)
	sortRoutes(rs)
	return slices.CompactFunc(rs, func(a, b topology.Route) bool { return compareRoute(a, b) == 0 })
}

// sortRoutes sorts routes by compareRoute. A flip to a full mesh sorts
// thousands of routes per node: IPv4 routes are sorted by one packed
// integer each (table's rank, destination, length, index), which moves
// no pointers (sorting the routes themselves costs write barriers on
// every swap); routes equal up to the destination are then ordered in
// full, as are IPv6 ones.
func sortRoutes(rs []topology.Route) {
	sorted, _ := sortedRoutes(nil, rs, nil)
	copy(rs, sorted)
}

// sortedRoutes returns rs sorted, in dst's array if it has room (rs is
// left as it is), and keys, scratch space returned for reuse.
func sortedRoutes(dst, rs []topology.Route, keys []uint64) ([]topology.Route, []uint64) {
	slow := func() ([]topology.Route, []uint64) {
		out := append(dst[:0], rs...)
		slices.SortFunc(out, compareRoute)
		return out, keys
	}
	if len(rs) < 16 || len(rs) >= 1<<24 {
		return slow()
	}
	var tables []topology.Table
	for _, r := range rs {
		if !r.Dst.Addr().Is4() {
			return slow()
		}
		if !slices.Contains(tables, r.Table) {
			if len(tables) == 4 {
				return slow()
			}
			tables = append(tables, r.Table)
		}
	}
	slices.Sort(tables)
	keys = slices.Grow(keys[:0], len(rs))[:len(rs)]
	for i, r := range rs {
		a := r.Dst.Addr().As4()
		k := uint64(slices.Index(tables, r.Table))<<32 | uint64(a[0])<<24 | uint64(a[1])<<16 | uint64(a[2])<<8 | uint64(a[3])
		keys[i] = (k<<6|uint64(r.Dst.Bits()))<<24 | uint64(i)
	}
	slices.Sort(keys)
	sorted := slices.Grow(dst[:0], len(rs))[:len(rs)]
	for j, k := range keys {
		sorted[j] = rs[k&(1<<24-1)]
	}
	// Runs equal up to the destination's length differ in gateway,
	// device or link.
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j]>>24 == keys[i]>>24 {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(sorted[i:j], compareRoute)
		}
		i = j
	}
	return sorted, keys
}
