package plan

import (
	"cmp"
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"slices"

	"github.com/kgctl/kgctl/pkg/topology"
)

// packedRoutes is a node's route changes as the text writer takes them
// from a streamed plan: one integer per route that both sorts and
// renders, instead of a topology.Route (a hundred bytes with pointers,
// costly to sort and to keep). A flip to a full mesh of 2,000 nodes
// changes ~2,700 routes on each node; packed, they sort as integers, are
// kept between the writer's passes at 8 bytes each, and render from a
// table of ways out without formatting the gateway again.
//
// A key is, from the top bit: the table's rank (encap, mesh: compareRoute
// orders tables by name), the IPv4 destination, its length, and the
// index of the way out in vias.
type packedRoutes struct {
	added, removed []uint64
	// vias is the differ's table as it was when the routes were
	// packed: the entries below its length never change.
	vias []viaEntry
}

const (
	viaBits = 25
	viaMask = 1<<viaBits - 1
)

// viaEntry is a way out of the differ's table, with what rendering and
// hashing a route need of it.
type viaEntry struct {
	v via
	// sum identifies v the same way in every worker's table (their
	// indices differ): node changes are grouped by hashes of them.
	sum uint64
	// suffix is a route line after its destination: " via GW dev DEV
	// onlink table T" and the newline.
	suffix string
}

// viaTable numbers a differ's ways out. It only grows: a streamed change
// holds a view of it while the differ goes on.
type viaTable struct {
	seed  maphash.Seed
	index map[via]int32
	list  []viaEntry
}

func newViaTable(seed maphash.Seed) *viaTable {
	return &viaTable{seed: seed, index: make(map[via]int32)}
}

// intern returns the index of v, or false when the table is full.
func (t *viaTable) intern(v via) (uint64, bool) {
	if i, ok := t.index[v]; ok {
		return uint64(i), true
	}
	if len(t.list) > viaMask {
		return 0, false
	}
	i := int32(len(t.list))
	t.index[v] = i
	var h maphash.Hash
	h.SetSeed(t.seed)
	a := v.gw.As16()
	h.Write(a[:])
	h.WriteByte(byte(v.gw.BitLen()))
	h.WriteString(string(v.device))
	h.WriteByte(0)
	h.WriteString(string(v.table))
	if v.onlink {
		h.WriteByte(1)
	}
	suffix := append(appendVia(nil, v), '\n')
	t.list = append(t.list, viaEntry{v: v, sum: h.Sum64(), suffix: string(suffix)})
	return uint64(i), true
}

// tableRank orders the tables packed keys know, as their names sort.
func tableRank(t topology.Table) (uint64, bool) {
	switch t {
	case topology.TableEncap:
		return 0, true
	case topology.TableMesh:
		return 1, true
	}
	return 0, false
}

// packKey packs a route leaving through way out vi of rank r, if its
// destination is IPv4.
func packKey(p netip.Prefix, r, vi uint64) (uint64, bool) {
	if !p.Addr().Is4() {
		return 0, false
	}
	a := p.Addr().As4()
	return r<<63 | uint64(binary.BigEndian.Uint32(a[:]))<<31 | uint64(p.Bits())<<viaBits | vi, true
}

// dstOf is a key's destination.
func dstOf(k uint64) netip.Prefix {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], uint32(k>>31))
	return netip.PrefixFrom(netip.AddrFrom4(a), int(k>>viaBits&63))
}

// sortKeys sorts packed routes as compareRoute sorts routes: by table,
// destination and length in the key, then, for routes to the same
// destination, by the way out's gateway, device and link.
func sortKeys(keys []uint64, vias []viaEntry, scratch *[]uint64) {
	radixSort(keys, scratch)
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j]>>viaBits == keys[i]>>viaBits {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(keys[i:j], func(x, y uint64) int {
				a, b := vias[x&viaMask].v, vias[y&viaMask].v
				return compareRoute(topology.Route{Gw: a.gw, Device: a.device, OnLink: a.onlink, Table: a.table},
					topology.Route{Gw: b.gw, Device: b.device, OnLink: b.onlink, Table: b.table})
			})
		}
		i = j
	}
}

// routeDiff unpacks the routes.
func (p *packedRoutes) routeDiff() RouteDiff {
	unpack := func(keys []uint64) []topology.Route {
		if len(keys) == 0 {
			return nil
		}
		out := make([]topology.Route, len(keys))
		for i, k := range keys {
			v := p.vias[k&viaMask].v
			out[i] = topology.Route{Dst: dstOf(k), Gw: v.gw, Device: v.device, OnLink: v.onlink, Table: v.table}
		}
		return out
	}
	return RouteDiff{Added: unpack(p.added), Removed: unpack(p.removed)}
}

// appendPacked appends the route line of key k after its head: the
// destination, then the way out's suffix (with the newline). The digits
// are written by hand: a flip to a full mesh writes millions of lines.
func appendPacked(b []byte, k uint64, vias []viaEntry) []byte {
	return append(appendPackedDst(b, k), vias[k&viaMask].suffix...)
}

// appendPackedDst appends key k's destination, as netip.Prefix writes it.
func appendPackedDst(b []byte, k uint64) []byte {
	a := uint32(k >> 31)
	b = appendDecimal(b, a>>24)
	b = append(b, '.')
	b = appendDecimal(b, a>>16&255)
	b = append(b, '.')
	b = appendDecimal(b, a>>8&255)
	b = append(b, '.')
	b = appendDecimal(b, a&255)
	b = append(b, '/')
	return appendDecimal(b, uint32(k>>viaBits&63))
}

// appendDecimal appends v < 1000 in decimal.
func appendDecimal(b []byte, v uint32) []byte {
	switch {
	case v >= 100:
		return append(b, byte('0'+v/100), byte('0'+v/10%10), byte('0'+v%10))
	case v >= 10:
		return append(b, byte('0'+v/10), byte('0'+v%10))
	}
	return append(b, byte('0'+v))
}

// appendPackedSum appends what identifies key k in any worker's table:
// the key without its index, and the way out's sum.
func appendPackedSum(b []byte, k uint64, vias []viaEntry) []byte {
	b = binary.LittleEndian.AppendUint64(b, k&^viaMask)
	return binary.LittleEndian.AppendUint64(b, vias[k&viaMask].sum)
}

// radixSort sorts keys by their bits above the way out's index, stably
// (sortKeys orders the ties): a byte at a time from the lowest, skipping
// the bytes all keys share (the table, the first octets). Thousands of
// keys per node sort in a fraction of a comparison sort's time. scratch
// holds the second array between calls.
func radixSort(keys []uint64, scratch *[]uint64) {
	if len(keys) < 64 {
		slices.SortStableFunc(keys, func(x, y uint64) int { return cmp.Compare(x>>viaBits, y>>viaBits) })
		return
	}
	*scratch = slices.Grow((*scratch)[:0], len(keys))[:len(keys)]
	src, dst := keys, *scratch
	var count [256]int
	for shift := uint(viaBits); shift < 64; shift += 8 {
		clear(count[:])
		for _, k := range src {
			count[byte(k>>shift)]++
		}
		if count[byte(src[0]>>shift)] == len(src) {
			continue
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, k := range src {
			b := byte(k >> shift)
			dst[count[b]] = k
			count[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
}
