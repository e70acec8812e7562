package topology

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kgctl/kgctl/pkg/wireguard"
)

var equateNet = cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})

// viewClusters are the shapes a view varies with: location, full and
// cross granularity, encapsulation (rules), discovered endpoints and
// keepalives, and hostile random clusters.
func viewClusters() map[string]Cluster {
	out := map[string]Cluster{}
	for _, g := range Granularities {
		c := benchCluster(60, 4)
		c.Settings.Granularity = g
		c.Settings.Encapsulate = EncapsulateAlways
		c.Nodes[3].PersistentKeepalive = 25e9
		c.Nodes[7].PersistentKeepalive = 10e9
		c.Nodes[5].DiscoveredEndpoints = map[wireguard.Key]netip.AddrPort{c.Nodes[3].Key: netip.MustParseAddrPort("203.0.113.9:4000")}
		out[string(g)] = c
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 50 {
		out["random"+string(rune('a'+i%26))+string(rune('a'+i/26))] = randomCluster(r)
	}
	return out
}

// A view's iterators and its materialized copy agree, and PeerAt, Has
// and PeerCount describe the same list.
func TestViewMatchesMaterialized(t *testing.T) {
	for name, c := range viewClusters() {
		m := build(t, c)
		for _, n := range m.NodeNames() {
			v, ok := m.View(n)
			if !ok {
				t.Fatalf("%s: no view of %s", name, n)
			}
			nv := v.Materialize()
			var peers []any
			for p := range v.Peers() {
				peers = append(peers, p)
			}
			var want []any
			for _, p := range nv.WireGuard.Peers {
				want = append(want, p)
			}
			if d := cmp.Diff(want, peers, equateNet, cmpopts.EquateEmpty()); d != "" {
				t.Fatalf("%s/%s: peers differ (-materialized +iterated):\n%s", name, n, d)
			}
			if v.PeerCount() != len(nv.WireGuard.Peers) {
				t.Errorf("%s/%s: PeerCount %d, %d peers", name, n, v.PeerCount(), len(nv.WireGuard.Peers))
			}
			j := 0
			for i := range m.PeerEntries() {
				p, ok := v.PeerAt(i)
				if ok != v.Has(i) {
					t.Fatalf("%s/%s: PeerAt(%d) ok=%v, Has %v", name, n, i, ok, v.Has(i))
				}
				if !ok {
					continue
				}
				if p.PublicKey != m.PeerEntryKey(i) || p.Name != nv.WireGuard.Peers[j].Name {
					t.Fatalf("%s/%s: entry %d is %s, want %s", name, n, i, p.Name, nv.WireGuard.Peers[j].Name)
				}
				j++
			}
			var gotQ, wantQ bytes.Buffer
			_ = wireguard.WriteQuick(&gotQ, v.WireGuard())
			_ = wireguard.WriteQuick(&wantQ, nv.WireGuard)
			if gotQ.String() != wantQ.String() {
				t.Fatalf("%s/%s: WireGuard\n%s\nNodeView's\n%s", name, n, gotQ.String(), wantQ.String())
			}
			var sets []RouteSet
			for s := range v.RouteSets() {
				sets = append(sets, s)
			}
			if d := cmp.Diff(nv.Routes, sets, equateNet, cmpopts.EquateEmpty()); d != "" {
				t.Fatalf("%s/%s: routes differ (-materialized +iterated):\n%s", name, n, d)
			}
			if d := cmp.Diff(nv.Rules, v.Rules(), equateNet, cmpopts.EquateEmpty()); d != "" {
				t.Fatalf("%s/%s: rules differ:\n%s", name, n, d)
			}
		}
	}
}

// Changing everything a materialized view holds changes neither another
// view nor the mesh: views share the mesh's lists, and Materialize copies.
func TestMaterializedViewsIndependent(t *testing.T) {
	for name, c := range viewClusters() {
		m := build(t, c)
		names := m.NodeNames()
		if len(names) < 2 {
			continue
		}
		print := func(n string) string {
			v, _ := m.NodeView(n)
			return fmt.Sprintf("%s %v %v %s\n%+v\n%+v\n%+v", v.Name, v.Leader, v.WireGuardIP, v.Segment.Name, v.WireGuard, v.Routes, v.Rules)
		}
		before := map[string]string{}
		for _, n := range names {
			before[n] = print(n)
		}
		scratch, _ := m.NodeView(names[0])
		for i := range scratch.WireGuard.Peers {
			p := &scratch.WireGuard.Peers[i]
			for j := range p.AllowedIPs {
				p.AllowedIPs[j] = netip.MustParsePrefix("192.0.2.0/24")
			}
			p.AllowedIPs = append(p.AllowedIPs, netip.MustParsePrefix("192.0.2.1/32"))
			if p.PresharedKey != nil {
				p.PresharedKey[0] ^= 0xff
			}
			p.Name = "changed"
		}
		for i := range scratch.Routes {
			s := &scratch.Routes[i]
			for j := range s.Dsts {
				s.Dsts[j] = netip.MustParsePrefix("192.0.2.0/24")
			}
			s.Dsts = append(s.Dsts, netip.MustParsePrefix("192.0.2.1/32"))
		}
		for i := range scratch.Rules {
			scratch.Rules[i].Table = "changed"
		}
		for _, n := range names {
			if d := cmp.Diff(before[n], print(n)); d != "" {
				t.Fatalf("%s: changing %s's materialized view changed %s's:\n%s", name, names[0], n, d)
			}
		}
	}
}

// Views of one mesh are read concurrently (plan's workers): run with
// -race.
func TestViewsConcurrent(t *testing.T) {
	c := benchCluster(200, 5)
	c.Settings.Encapsulate = EncapsulateAlways
	m := build(t, c)
	names := m.NodeNames()
	var wg sync.WaitGroup
	counts := make([]int, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, n := range names {
				v, _ := m.View(n)
				for p := range v.Peers() {
					counts[w] += len(p.AllowedIPs)
				}
				for s := range v.RouteSets() {
					counts[w] += len(s.Dsts)
				}
				counts[w] += len(v.Rules()) + len(v.Materialize().Routes)
			}
		}()
	}
	wg.Wait()
	if slices.Min(counts) != slices.Max(counts) || counts[0] == 0 {
		t.Fatalf("workers saw different views: %v", counts)
	}
}

// NodeConfig is what showconf prints: no interface address; NodeView's
// configuration has the leader's.
func TestNodeConfigInterface(t *testing.T) {
	m := build(t, benchCluster(10, 2))
	for _, n := range m.NodeNames() {
		c, _ := m.NodeConfig(n)
		v, _ := m.NodeView(n)
		if len(c.Interface.Address) != 0 || c.Interface.ListenPort != 51820 {
			t.Errorf("%s: NodeConfig interface %+v", n, c.Interface)
		}
		if v.Leader != (len(v.WireGuard.Interface.Address) == 1) {
			t.Errorf("%s: leader %v, NodeView interface %+v", n, v.Leader, v.WireGuard.Interface)
		}
	}
}
