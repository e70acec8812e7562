package plan

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

var equateIPs = cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})

func testKey(b byte) wireguard.Key {
	var k wireguard.Key
	k[0], k[31] = b, 7
	return k
}

func endpoint(s string) wireguard.Endpoint {
	e, err := wireguard.ParseEndpoint(s)
	if err != nil {
		panic(err)
	}
	return e
}

func testNode(name, location, internal, ep, pod string, key byte) topology.Node {
	return topology.Node{
		Name:       name,
		Location:   location,
		InternalIP: netip.MustParsePrefix(internal),
		Endpoint:   endpoint(ep),
		Key:        testKey(key),
		PodCIDRs:   []netip.Prefix{netip.MustParsePrefix(pod)},
	}
}

// testCluster: location a (a-1 public and leading, a-2 private), location
// b (b-1 public), and a peer p.
func testCluster() topology.Cluster {
	return topology.Cluster{
		Settings: topology.DefaultSettings(),
		Nodes: []topology.Node{
			testNode("a-1", "a", "10.0.0.1/24", "52.0.0.1:51820", "10.2.1.0/24", 1),
			testNode("a-2", "a", "10.0.0.2/24", "10.0.0.2:51820", "10.2.2.0/24", 2),
			testNode("b-1", "b", "10.1.0.1/24", "52.0.1.1:51820", "10.2.3.0/24", 3),
		},
		Peers: []topology.Peer{{
			Name:       "p",
			PublicKey:  testKey(9),
			AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.5.0.1/32")},
		}},
	}
}

// describe is one line per change: kind, name, action and reason.
func describe(p *Plan) []string {
	var out []string
	for _, s := range p.Settings {
		out = append(out, fmt.Sprintf("setting %s: %s -> %s", s.Field, s.Before, s.After))
	}
	for _, n := range p.Nodes {
		out = append(out, fmt.Sprintf("node %s %s: %s", n.Name, n.Action, n.Reason))
	}
	for _, l := range p.Locations {
		out = append(out, fmt.Sprintf("location %s %s: %s", l.Name, l.Action, l.Reason))
	}
	for _, pc := range p.Peers {
		out = append(out, fmt.Sprintf("peer %s %s: %s", pc.Name, pc.Action, pc.Reason))
	}
	for _, w := range p.Warnings {
		s := w.String()
		if w.New {
			s += " (new)"
		}
		out = append(out, s)
	}
	return out
}

func TestDiff(t *testing.T) {
	for name, tc := range map[string]struct {
		change func(c *topology.Cluster)
		want   []string
	}{
		"no change": {
			change: func(c *topology.Cluster) {},
		},
		"node joins a location": {
			change: func(c *topology.Cluster) {
				c.Nodes = append(c.Nodes, testNode("a-3", "a", "10.0.0.3/24", "10.0.0.3:51820", "10.2.4.0/24", 4))
			},
			want: []string{
				"node a-1 update: 1 route changes",
				"node a-2 update: 1 route changes",
				`node a-3 create: joins the mesh in location "a"`,
				"node b-1 update: 1 WireGuard peer and 2 routes change",
				"location a update: 1 node joins: a-3",
				"peer p update: the mesh it connects to changes; its owner must install the new configuration (showconf peer p)",
			},
		},
		"node leaves because its key is gone": {
			change: func(c *topology.Cluster) { c.Nodes[1].Key = wireguard.Key{} },
			want: []string{
				"node a-1 update: 1 route changes",
				"node a-2 delete: leaves the mesh: kilo.squat.ai/key: no WireGuard public key (its agent has not started yet); left out of the mesh",
				"node b-1 update: 1 WireGuard peer and 2 routes change",
				"location a update: 1 node leaves: a-2",
				"peer p update: the mesh it connects to changes; its owner must install the new configuration (showconf peer p)",
				`warning: Node "a-2": kilo.squat.ai/key: no WireGuard public key (its agent has not started yet); left out of the mesh (new)`,
			},
		},
		"node removed from the cluster": {
			change: func(c *topology.Cluster) { c.Nodes = c.Nodes[:2] },
			want: []string{
				"node a-1 update: 1 WireGuard peer and 2 routes change",
				"node a-2 update: 1 WireGuard peer and 3 routes change",
				"node b-1 delete: leaves the mesh: no longer in the cluster",
				"location b delete: its nodes leave the mesh",
				"peer p update: the mesh it connects to changes; its owner must install the new configuration (showconf peer p)",
			},
		},
		"leader moves": {
			change: func(c *topology.Cluster) { c.Nodes[1].Leader = true },
			want: []string{
				"node a-1 update: is no longer a leader; 8 routes change",
				`node a-2 update: becomes the leader of location "a"; 8 routes change`,
				"node b-1 update: 2 WireGuard peers and 1 route change",
				"location a update: leader changes from a-1 to a-2",
				"peer p update: the mesh it connects to changes; its owner must install the new configuration (showconf peer p)",
				`warning: Location "a": kilo.squat.ai/endpoint "10.0.0.2:51820": leader a-2 has only a private endpoint and no persistent-keepalive: other locations can reach it only if they share its network (new)`,
			},
		},
		"node moves to another location": {
			change: func(c *topology.Cluster) { c.Nodes[1].Location = "b" },
			want: []string{
				"node a-1 update: 1 WireGuard peer and 3 routes change",
				`node a-2 update: moves from location "a" to location "b"; 2 WireGuard peers and 12 routes change`,
				"node b-1 update: 1 WireGuard peer and 3 routes change",
				`location a update: nodes move to b`,
				`location b update: takes nodes from a`,
				"peer p update: the mesh it connects to changes; its owner must install the new configuration (showconf peer p)",
			},
		},
		"granularity flip splits locations": {
			change: func(c *topology.Cluster) { c.Settings.Granularity = topology.FullGranularity },
			want: []string{
				"setting mesh-granularity: location -> full",
				`node a-1 update: moves from location "a" to segment "a-1" of location "a"; 2 WireGuard peers and 6 routes change`,
				`node a-2 update: moves from location "a" to segment "a-2" of location "a"; becomes the leader of segment "a-2" of location "a"; 2 WireGuard peers and 11 routes change`,
				`node b-1 update: moves from location "b" to segment "b-1" of location "b"; its WireGuard IP changes from 10.4.0.2/16 to 10.4.0.3/16; 2 WireGuard peers and 3 routes change`,
				`location a delete: split into a-1, a-2`,
				`location a-1 create: split from "a"; leader a-1`,
				`location a-2 create: split from "a"; leader a-2`,
				`location b delete: its nodes move to "b-1"`,
				`location b-1 create: takes over the nodes of "b"; leader b-1`,
				"peer p update: the mesh it connects to changes; its owner must install the new configuration (showconf peer p)",
				`warning: Location "a-2": kilo.squat.ai/endpoint "10.0.0.2:51820": leader a-2 has only a private endpoint and no persistent-keepalive: other locations can reach it only if they share its network (new)`,
				`warning: Mesh: wireguard-ip: 1 leader gets a new WireGuard IP (leaders are numbered in segment order): b-1 10.4.0.2→10.4.0.3; connections to the old addresses break (new)`,
			},
		},
		"peer added": {
			change: func(c *topology.Cluster) {
				c.Peers = append(c.Peers, topology.Peer{Name: "q", PublicKey: testKey(10), AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.5.0.2/32")}})
			},
			want: []string{
				"node a-1 update: 1 WireGuard peer and 1 route change",
				"node a-2 update: 1 WireGuard peer and 1 route change",
				"node b-1 update: 1 WireGuard peer and 1 route change",
				"peer p update: the mesh it connects to changes; its owner must install the new configuration (showconf peer p)",
				"peer q create: joins the mesh: give its owner its configuration (showconf peer q)",
			},
		},
		"peer refused": {
			change: func(c *topology.Cluster) { c.Peers[0].AllowedIPs = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")} },
			want: []string{
				"node a-1 update: 1 WireGuard peer and 1 route change",
				"node a-2 update: 1 WireGuard peer and 1 route change",
				"node b-1 update: 1 WireGuard peer and 1 route change",
				`peer p delete: leaves the mesh: spec.allowedIPs: a default route would take every node's traffic; peer refused`,
				`error: Peer "p": spec.allowedIPs "0.0.0.0/0": a default route would take every node's traffic; peer refused (new)`,
			},
		},
		// The engine refuses the node whose pod CIDR covers the others'
		// (the later by name: no timestamps), and the plan says so.
		"overlapping pod CIDRs across locations": {
			change: func(c *topology.Cluster) { c.Nodes[2].PodCIDRs = []netip.Prefix{netip.MustParsePrefix("10.2.0.0/16")} },
			want: []string{
				"node a-1 update: 1 WireGuard peer and 2 routes change",
				"node a-2 update: 1 WireGuard peer and 3 routes change",
				`node b-1 delete: leaves the mesh: spec.podCIDR: covers 10.2.1.0/24 (spec.podCIDR) of node "a-1"; node refused`,
				"location b delete: its nodes leave the mesh",
				"peer p update: the mesh it connects to changes; its owner must install the new configuration (showconf peer p)",
				`error: Node "b-1": spec.podCIDR "10.2.0.0/16": covers 10.2.1.0/24 (spec.podCIDR) of node "a-1"; node refused (new)`,
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			before := mustBuild(t, testCluster())
			c := testCluster()
			tc.change(&c)
			got := describe(Diff(before, mustBuild(t, c)))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWireGuardPeerFields follows each field of a [Peer] section.
func TestWireGuardPeerFields(t *testing.T) {
	psk := testKey(42)
	before := mustBuild(t, testCluster())
	c := testCluster()
	c.Nodes[2].Endpoint = endpoint("52.0.1.2:51821")
	c.Nodes[2].PodCIDRs = []netip.Prefix{netip.MustParsePrefix("10.2.30.0/24")}
	c.Nodes[0].PersistentKeepalive = 25 * time.Second
	c.Peers[0].PresharedKey = &psk
	p := Diff(before, mustBuild(t, c))
	got := nodeOf(t, p, "a-1").Peers
	want := []WireGuardPeerChange{
		{
			Action: Update, Name: "node b-1", PublicKey: testKey(3).String(),
			Endpoint:            &Change[string]{Before: "52.0.1.1:51820", After: "52.0.1.2:51821"},
			AllowedIPs:          PrefixDiff{Added: prefixes("10.2.30.0/24"), Removed: prefixes("10.2.3.0/24")},
			PersistentKeepalive: &Change[int]{Before: 0, After: 25},
		},
		{
			Action: Update, Name: "peer p", PublicKey: testKey(9).String(),
			PersistentKeepalive: &Change[int]{Before: 0, After: 25},
			PresharedKey:        "added",
		},
	}
	// The segment is labelled "location" when it has a name of its own.
	want[0].Name = `location "b" (leader b-1)`
	if diff := cmp.Diff(want, got, equateIPs); diff != "" {
		t.Errorf("a-1's peers (-want +got):\n%s", diff)
	}
	var b strings.Builder
	if err := WriteText(&b, p, Options{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), psk.String()) {
		t.Errorf("the text shows the preshared key:\n%s", b.String())
	}
}

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func nodeOf(t *testing.T, p *Plan, name string) NodeChange {
	t.Helper()
	i := slices.IndexFunc(p.Nodes, func(n NodeChange) bool { return n.Name == name })
	if i < 0 {
		t.Fatalf("node %s does not change", name)
	}
	return p.Nodes[i]
}

// TestLocationFields checks a split and a merge through their fields.
func TestLocationFields(t *testing.T) {
	location := mustBuild(t, testCluster())
	c := testCluster()
	c.Settings.Granularity = topology.FullGranularity
	full := mustBuild(t, c)
	split := Diff(location, full)
	a := split.Locations[slices.IndexFunc(split.Locations, func(l LocationChange) bool { return l.Name == "a" })]
	want := LocationChange{
		Name: "a", Action: Delete, Reason: "split into a-1, a-2", Location: "a",
		Leader:      &Change[string]{Before: "a-1"},
		WireGuardIP: &Change[netip.Addr]{Before: netip.MustParseAddr("10.4.0.1")},
		Endpoint:    &Change[string]{Before: "52.0.0.1:51820"},
		Nodes:       NameDiff{Removed: []string{"a-1", "a-2"}},
		AllowedIPs:  PrefixDiff{Removed: prefixes("10.0.0.1/32", "10.0.0.2/32", "10.2.1.0/24", "10.2.2.0/24", "10.4.0.1/32")},
		SplitInto:   []string{"a-1", "a-2"},
	}
	if diff := cmp.Diff(want, a, equateIPs); diff != "" {
		t.Errorf("split (-want +got):\n%s", diff)
	}
	merge := Diff(full, location)
	a = merge.Locations[slices.IndexFunc(merge.Locations, func(l LocationChange) bool { return l.Name == "a" })]
	if diff := cmp.Diff([]string{"a-1", "a-2"}, a.MergedFrom); diff != "" || a.Action != Create || a.Reason != "merged from a-1, a-2; leader a-1" {
		t.Errorf("merge: %s %q, merged from (-want +got):\n%s", a.Action, a.Reason, diff)
	}
}

// TestRouteSets checks that routes compare as sets: a destination that
// moves between two lists leaving the same way is no change, and one
// still held by an unchanged list is not removed.
func TestRouteSets(t *testing.T) {
	gw := netip.MustParseAddr("10.0.0.1")
	set := func(dsts ...string) topology.RouteSet {
		return topology.RouteSet{Dsts: prefixes(dsts...), Gw: gw, Device: topology.DevicePrivate, OnLink: true, Table: topology.TableMesh}
	}
	route := func(dst string) topology.Route {
		return topology.Route{Dst: netip.MustParsePrefix(dst), Gw: gw, Device: topology.DevicePrivate, OnLink: true, Table: topology.TableMesh}
	}
	shared := set("10.9.0.0/24", "10.9.1.0/24", "10.9.2.0/24", "10.9.3.0/24", "10.9.4.0/24")
	for name, tc := range map[string]struct {
		before, after []topology.RouteSet
		want          RouteDiff
	}{
		"equal": {
			before: []topology.RouteSet{shared, set("10.2.0.0/24")},
			after:  []topology.RouteSet{shared, set("10.2.0.0/24")},
		},
		"moves between lists": {
			before: []topology.RouteSet{set("10.2.0.0/24", "10.2.1.0/24"), set("10.3.0.0/24")},
			after:  []topology.RouteSet{set("10.2.0.0/24"), set("10.3.0.0/24", "10.2.1.0/24")},
		},
		"still held elsewhere": {
			before: []topology.RouteSet{shared, set("10.9.0.0/24", "10.3.0.0/24")},
			after:  []topology.RouteSet{shared, set("10.3.0.0/24")},
		},
		"added and removed": {
			before: []topology.RouteSet{shared, set("10.2.0.0/24")},
			after:  []topology.RouteSet{shared, set("10.2.1.0/24")},
			want:   RouteDiff{Added: []topology.Route{route("10.2.1.0/24")}, Removed: []topology.Route{route("10.2.0.0/24")}},
		},
		"reordered lists": {
			before: []topology.RouteSet{set("10.2.0.0/24"), shared},
			after:  []topology.RouteSet{shared, set("10.2.0.0/24"), set("10.2.9.0/24")},
			want:   RouteDiff{Added: []topology.Route{route("10.2.9.0/24")}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			got := newPrefixCache().routes(tc.before, tc.after)
			if diff := cmp.Diff(tc.want, got, equateIPs); diff != "" {
				t.Errorf("routes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDiffLarge compares the shortcuts against a plain comparison of
// every view on a cluster large enough to take them.
func TestDiffLarge(t *testing.T) {
	c := benchCluster(300, 10)
	before := mustBuild(t, c)
	c.Nodes = append(c.Nodes, benchNode(305, 10))
	c.Nodes[7].Leader = true
	after := mustBuild(t, c)
	p := Diff(before, after)
	for _, name := range unionNames(before.NodeNames(), after.NodeNames()) {
		bv, _ := before.NodeView(name)
		av, _ := after.NodeView(name)
		added, removed := plainSetDiff(topology.FlatRoutes(bv.Routes), topology.FlatRoutes(av.Routes))
		i := slices.IndexFunc(p.Nodes, func(n NodeChange) bool { return n.Name == name })
		var got RouteDiff
		if i >= 0 && p.Nodes[i].Action == Update {
			got = p.Nodes[i].Routes
		} else if i >= 0 {
			continue
		}
		if diff := cmp.Diff(RouteDiff{Added: added, Removed: removed}, got, equateIPs); diff != "" {
			t.Fatalf("node %s routes (-plain +plan):\n%s", name, diff)
		}
	}
}

func plainSetDiff(before, after []topology.Route) (added, removed []topology.Route) {
	b := map[topology.Route]bool{}
	for _, r := range before {
		b[r] = true
	}
	a := map[topology.Route]bool{}
	for _, r := range after {
		a[r] = true
		if !b[r] && !slices.Contains(added, r) {
			added = append(added, r)
		}
	}
	for _, r := range before {
		if !a[r] && !slices.Contains(removed, r) {
			removed = append(removed, r)
		}
	}
	slices.SortFunc(added, compareRoute)
	slices.SortFunc(removed, compareRoute)
	return added, removed
}
