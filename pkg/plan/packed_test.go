package plan

import (
	"hash/maphash"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kgctl/kgctl/pkg/topology"
)

// Packed keys sort as compareRoute sorts routes (ties on a destination
// too), unpack to their routes and render routeString's text.
func TestPackedKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	dsts := []string{"10.0.0.0/8", "10.0.0.0/24", "10.0.0.1/32", "10.1.0.0/16", "0.0.0.0/0", "192.168.1.0/24", "10.0.0.0/9", "255.255.255.255/32"}
	gws := []string{"", "10.4.0.1", "10.4.0.2", "172.16.0.1", "fd00::2"}
	for range 400 {
		vias := newViaTable(maphash.MakeSeed())
		var rs []topology.Route
		var keys []uint64
		for range r.IntN(80) {
			rt := randomRoute(r, dsts, gws)
			if slices.Contains(rs, rt) {
				continue
			}
			rank, ok := tableRank(rt.Table)
			vi, ok2 := vias.intern(via{gw: rt.Gw, device: rt.Device, onlink: rt.OnLink, table: rt.Table})
			k, ok3 := packKey(rt.Dst, rank, vi)
			if !ok || !ok2 || !ok3 {
				t.Fatalf("route %v does not pack", rt)
			}
			rs = append(rs, rt)
			keys = append(keys, k)
		}
		slices.SortFunc(rs, compareRoute)
		var scratch []uint64
		sortKeys(keys, vias.list, &scratch)
		p := packedRoutes{added: keys, vias: vias.list}
		if diff := cmp.Diff(rs, p.routeDiff().Added, equateIPs); diff != "" {
			t.Fatalf("sorted keys (-compareRoute +keys):\n%s", diff)
		}
		for i, k := range keys {
			if got, want := string(appendPacked(nil, k, vias.list)), routeString(rs[i])+"\n"; got != want {
				t.Fatalf("appendPacked %q, routeString %q", got, want)
			}
		}
	}
	if _, ok := packKey(netip.MustParsePrefix("fd00::/64"), 1, 0); ok {
		t.Error("an IPv6 destination packed")
	}
	if _, ok := tableRank("main"); ok {
		t.Error("a table packed keys do not order packed")
	}
}

// radixSort is a stable sort by the bits above the way out's index.
func TestRadixSort(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var scratch []uint64
	for _, n := range []int{0, 1, 63, 64, 65, 1000, 5000} {
		for _, spread := range []uint64{^uint64(0), 1<<40 - 1, 1<<viaBits - 1} {
			keys := make([]uint64, n)
			for i := range keys {
				// Few distinct values above the index when spread is
				// small: ties, kept in order.
				keys[i] = r.Uint64()&spread | uint64(r.IntN(4))<<60 | uint64(i)&viaMask
			}
			want := slices.Clone(keys)
			slices.SortStableFunc(want, func(x, y uint64) int {
				switch a, b := x>>viaBits, y>>viaBits; {
				case a < b:
					return -1
				case a > b:
					return 1
				}
				return 0
			})
			radixSort(keys, &scratch)
			if !slices.Equal(keys, want) {
				t.Fatalf("n=%d spread=%x: radixSort differs from a stable sort", n, spread)
			}
		}
	}
}

// The integer keys of the differ's maps are one-to-one where they pack,
// and refuse what they cannot hold.
func TestPackedMapKeys(t *testing.T) {
	memos := map[uint64]memoKey{}
	for _, b := range []int32{-1, 0, 1, 1<<22 - 2} {
		for _, a := range []int32{-1, 0, 7, 1<<22 - 2} {
			for _, bk := range []time.Duration{0, time.Second, 25 * time.Second, 1023 * time.Second} {
				for _, ak := range []time.Duration{0, 15 * time.Second, 1023 * time.Second} {
					k := memoKey{b: b, a: a, bk: bk, ak: ak}
					p, ok := k.packed()
					packsAlone(t, memos, k, p, ok)
				}
			}
		}
	}
	for _, k := range []memoKey{{b: 1 << 22}, {a: 1<<22 - 1}, {bk: 1024 * time.Second}, {ak: 1500 * time.Millisecond}, {bk: -time.Second}} {
		if _, ok := k.packed(); ok {
			t.Errorf("%+v packs", k)
		}
	}
	vias := map[uint64]viaKey{}
	for _, gw := range []netip.Addr{{}, netip.MustParseAddr("10.4.0.1"), netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255")} {
		for _, d := range []int16{0, 1, 1<<12 - 1} {
			for _, tb := range []int16{0, 2, 1<<12 - 1} {
				for _, o := range []bool{false, true} {
					k := viaKey{gw: gw, device: d, table: tb, onlink: o}
					p, ok := k.packed()
					packsAlone(t, vias, k, p, ok)
				}
			}
		}
	}
	for _, k := range []viaKey{{gw: netip.MustParseAddr("fd00::1")}, {device: 1 << 12}, {table: -1}} {
		if _, ok := k.packed(); ok {
			t.Errorf("%+v packs", k)
		}
	}
}

// packsAlone checks that k packed (ok) into p, which no other key of seen
// packed into, and notes it.
func packsAlone[K any](t *testing.T, seen map[uint64]K, k K, p uint64, ok bool) {
	t.Helper()
	if !ok {
		t.Fatalf("%+v does not pack", k)
	}
	if o, dup := seen[p]; dup {
		t.Fatalf("%+v and %+v pack alike", k, o)
	}
	seen[p] = k
}
