package plan

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// referenceNodeChange is the per-node diff as it was before the shared
// views: both views materialized, compared as lists. The differ must
// agree with it on every node of every test mesh pair.
func referenceNodeChange(c *prefixCache, name string, b, a *topology.Mesh, bp, ap topology.Problems) (NodeChange, bool) {
	bv, inB := b.NodeView(name)
	av, inA := a.NodeView(name)
	ch := NodeChange{Name: name}
	var bseg, bloc, aseg, aloc string
	if inB {
		bseg, bloc = bv.Segment.Name, bv.Segment.Location
	}
	if inA {
		aseg, aloc = av.Segment.Name, av.Segment.Location
	}
	ch.Segment = changed(bseg, aseg)
	ch.Location = changed(bloc, aloc)
	ch.Leader = changed(inB && bv.Leader, inA && av.Leader)
	ch.WireGuardIP = changed(bv.WireGuardIP, av.WireGuardIP)
	ch.ListenPort = changed(bv.WireGuard.Interface.ListenPort, av.WireGuard.Interface.ListenPort)
	ch.Peers = c.peers(bv.WireGuard.Peers, av.WireGuard.Peers)
	switch {
	case inA && !inB:
		ch.Action = Create
		ch.Routes.Added = allRoutes(av.Routes)
		ch.Rules.Added = sortRules(slices.Clone(av.Rules))
		ch.Reason = joinReason(av.Name, av.Segment, av.Leader, bp)
	case inB && !inA:
		ch.Action = Delete
		ch.Routes.Removed = allRoutes(bv.Routes)
		ch.Rules.Removed = sortRules(slices.Clone(bv.Rules))
		ch.Reason = "leaves the mesh: " + leftOut(ap, "Node", name, "no longer in the cluster")
	default:
		ch.Routes = c.routes(bv.Routes, av.Routes)
		ch.Rules = rules(bv.Rules, av.Rules)
		if ch.Segment == nil && ch.Location == nil && ch.Leader == nil && ch.WireGuardIP == nil &&
			ch.ListenPort == nil && len(ch.Peers) == 0 && ch.Routes.Empty() && ch.Rules.Empty() {
			return ch, false
		}
		ch.Action = Update
		ch.Reason = updateReason(&ch, av.Segment)
	}
	return ch, true
}

// meshPairs are before/after clusters covering what a node's change
// varies with: granularity flips either way, cross granularity, nodes
// joining and leaving, leaders moving, keepalives, discovered endpoints
// (which make a viewer's peer its own), preshared keys, encapsulation
// (rules), and every render case.
func meshPairs() map[string][2]topology.Cluster {
	out := map[string][2]topology.Cluster{}
	for name, change := range renderCases {
		c := testCluster()
		change(&c)
		out["render/"+name] = [2]topology.Cluster{testCluster(), c}
	}
	r := rand.New(rand.NewPCG(14, 14))
	grans := topology.Granularities
	for k := range 40 {
		before := benchCluster(8+r.IntN(24), 1+r.IntN(6))
		before.Settings.Granularity = grans[r.IntN(len(grans))]
		after := before
		after.Nodes = slices.Clone(before.Nodes)
		after.Peers = slices.Clone(before.Peers)
		after.Settings.Granularity = grans[r.IntN(len(grans))]
		for _, c := range []*topology.Cluster{&before, &after} {
			if r.IntN(3) == 0 {
				c.Settings.Encapsulate = topology.EncapsulateAlways
			}
			for range r.IntN(6) {
				i := r.IntN(len(c.Nodes))
				n := c.Nodes[i]
				switch r.IntN(6) {
				case 0:
					n.PersistentKeepalive = time.Duration(1+r.IntN(3)) * 10 * time.Second
				case 1:
					// A NATed node (keepalive) that n found elsewhere.
					j := r.IntN(len(c.Nodes))
					c.Nodes[j].PersistentKeepalive = 25 * time.Second
					if j == i {
						n.PersistentKeepalive = 25 * time.Second
					}
					n.DiscoveredEndpoints = map[wireguard.Key]netip.AddrPort{c.Nodes[j].Key: netip.MustParseAddrPort("203.0.113.7:999")}
					// Another node found it at another address: the
					// mesh keeps one, each of the two sees its own.
					if o := r.IntN(len(c.Nodes)); o != i {
						c.Nodes[o].DiscoveredEndpoints = map[wireguard.Key]netip.AddrPort{c.Nodes[j].Key: netip.MustParseAddrPort("203.0.113.8:998")}
					}
				case 2:
					n.Leader = true
				case 3:
					n.Location = "moved"
				case 4:
					n.InternalIP = netip.Prefix{}
				case 5:
					c.Nodes = slices.Delete(slices.Clone(c.Nodes), i, i+1)
					continue
				}
				c.Nodes[i] = n
			}
			if r.IntN(3) == 0 && len(c.Peers) > 0 {
				psk := testKey(99)
				c.Peers[0].PresharedKey = &psk
				c.Peers[0].PersistentKeepalive = 25 * time.Second
			}
		}
		if r.IntN(4) == 0 {
			after.Nodes = append(after.Nodes, benchNode(200+k, 3))
		}
		out[fmt.Sprintf("random-%02d/%s-%s", k, before.Settings.Granularity, after.Settings.Granularity)] = [2]topology.Cluster{before, after}
	}
	return out
}

// The differ, working on shared views and entries, finds for every node
// what comparing both materialized views finds.
func TestNodeChangesMatchReference(t *testing.T) {
	for name, pair := range meshPairs() {
		b, a := mustBuild(t, pair[0]), mustBuild(t, pair[1])
		d := newDiffer(newEntries(b, a))
		for _, n := range unionNames(b.NodeNames(), a.NodeNames()) {
			want, wantOK := referenceNodeChange(newPrefixCache(), n, b, a, b.Problems, a.Problems)
			got, gotOK := d.nodeChange(n, b.Problems, a.Problems)
			if wantOK != gotOK {
				t.Fatalf("%s: node %s changes: %v, reference says %v", name, n, gotOK, wantOK)
			}
			if diff := cmp.Diff(want, got, equateIPs, cmpopts.EquateEmpty(), cmpopts.IgnoreUnexported(NodeChange{})); diff != "" {
				t.Fatalf("%s: node %s (-reference +differ):\n%s", name, n, diff)
			}
		}
	}
}

// sortRoutes orders as sorting by compareRoute does, and appendRoute
// writes routeString.
func TestSortAndFormatRoutes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	dsts := []string{"10.0.0.0/8", "10.0.0.0/24", "10.0.0.1/32", "10.1.0.0/16", "fd00::/64", "fd00::1/128", "0.0.0.0/0", "192.168.1.0/24"}
	gws := []string{"", "10.4.0.1", "10.4.0.2", "172.16.0.1", "fd00::2"}
	for k := range 400 {
		dsts := dsts
		if k%2 == 0 {
			// IPv4 only: the packed sort.
			dsts = []string{"10.0.0.0/8", "10.0.0.0/24", "10.0.0.1/32", "10.1.0.0/16", "0.0.0.0/0", "192.168.1.0/24", "10.0.0.0/9"}
		}
		var rs []topology.Route
		for range r.IntN(80) {
			rs = append(rs, randomRoute(r, dsts, gws))
		}
		want := slices.Clone(rs)
		slices.SortFunc(want, compareRoute)
		got := slices.Clone(rs)
		sortRoutes(got)
		if diff := cmp.Diff(want, got, equateIPs); diff != "" {
			t.Fatalf("sortRoutes (-SortFunc +sortRoutes):\n%s", diff)
		}
		for _, rt := range rs {
			if got, want := string(appendRoute(nil, rt)), routeString(rt); got != want {
				t.Fatalf("appendRoute %q, routeString %q", got, want)
			}
		}
	}
}

// randomRoute is a route to one of dsts via one of gws ("": none), on a
// random device, link and table.
func randomRoute(r *rand.Rand, dsts, gws []string) topology.Route {
	rt := topology.Route{
		Dst:    netip.MustParsePrefix(dsts[r.IntN(len(dsts))]),
		Device: []topology.Device{topology.DeviceWireGuard, topology.DevicePrivate, topology.DeviceTunnel}[r.IntN(3)],
		OnLink: r.IntN(2) == 0,
		Table:  []topology.Table{topology.TableMesh, topology.TableEncap}[r.IntN(2)],
	}
	if g := gws[r.IntN(len(gws))]; g != "" {
		rt.Gw = netip.MustParseAddr(g)
	}
	return rt
}
