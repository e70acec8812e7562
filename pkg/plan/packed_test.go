package plan

import (
	"hash/maphash"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

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
			rt := topology.Route{
				Dst:    netip.MustParsePrefix(dsts[r.IntN(len(dsts))]),
				Device: []topology.Device{topology.DeviceWireGuard, topology.DevicePrivate, topology.DeviceTunnel}[r.IntN(3)],
				OnLink: r.IntN(2) == 0,
				Table:  []topology.Table{topology.TableMesh, topology.TableEncap}[r.IntN(2)],
			}
			if g := gws[r.IntN(len(gws))]; g != "" {
				rt.Gw = netip.MustParseAddr(g)
			}
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
		sortKeys(keys, vias.list)
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
