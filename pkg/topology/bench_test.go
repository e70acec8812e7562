package topology

import (
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/kgctl/kgctl/pkg/wireguard"
)

// benchCluster makes n ready nodes spread over the given number of
// locations, a third of them with public endpoints, and 10 peers.
func benchCluster(n, locations int) Cluster {
	c := Cluster{Settings: DefaultSettings()}
	c.Settings.Subnet = netip.MustParsePrefix("10.4.0.0/16")
	for i := 0; i < n; i++ {
		var key wireguard.Key
		key[0], key[1], key[2] = byte(i), byte(i>>8), 1
		endpoint := netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)})
		if i%3 == 0 {
			endpoint = netip.AddrFrom4([4]byte{52, 1, byte(i >> 8), byte(i)})
		}
		c.Nodes = append(c.Nodes, Node{
			Name:       fmt.Sprintf("node-%05d", i),
			Location:   fmt.Sprintf("loc-%03d", i%locations),
			InternalIP: netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)}), 16),
			Endpoint:   wireguard.Endpoint{Addr: endpoint, Port: 51820},
			Key:        key,
			PodCIDRs:   []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(64 + i>>8), byte(i), 0}), 24)},
			LastSeen:   time.Unix(1_700_000_000, 0),
		})
	}
	for i := 0; i < 10; i++ {
		var key wireguard.Key
		key[0], key[31] = byte(i), 2
		c.Peers = append(c.Peers, Peer{
			Name:       fmt.Sprintf("peer-%02d", i),
			PublicKey:  key,
			AllowedIPs: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 5, 0, byte(i + 1)}), 32)},
		})
	}
	return c
}

func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		c := benchCluster(n, 100)
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Build(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// engineCases are the engine's benchmark clusters: location granularity
// (100 locations) and a full mesh, at 2,000, 3,000 and 10,000 nodes. The
// 10,000-node full mesh's materialized views are ~10^8 WireGuard peers:
// set KGCTL_BENCH_HUGE=1 to run that one.
var engineCases = []struct {
	gran  Granularity
	nodes int
}{
	{LocationGranularity, 2_000}, {LocationGranularity, 10_000},
	{FullGranularity, 2_000}, {FullGranularity, 3_000}, {FullGranularity, 10_000},
}

func engineCluster(g Granularity, n int) Cluster {
	c := benchCluster(n, 100)
	c.Settings.Granularity = g
	return c
}

// BenchmarkAllViews is a whole-cluster plan or graph: one Build, then
// every node's view materialized (NodeView: its own copy of every peer
// and route).
func BenchmarkAllViews(b *testing.B) {
	for _, tc := range engineCases {
		c := engineCluster(tc.gran, tc.nodes)
		b.Run(fmt.Sprintf("%s/nodes=%d", tc.gran, tc.nodes), func(b *testing.B) {
			if tc.gran == FullGranularity && tc.nodes > 3_000 && os.Getenv("KGCTL_BENCH_HUGE") == "" {
				b.Skip("set KGCTL_BENCH_HUGE=1 for every materialized view of a 10,000-node full mesh")
			}
			b.ReportAllocs()
			for b.Loop() {
				m, err := Build(c)
				if err != nil {
					b.Fatal(err)
				}
				for _, name := range m.NodeNames() {
					if _, ok := m.NodeView(name); !ok {
						b.Fatal(name)
					}
				}
			}
		})
	}
}

// BenchmarkAllViewsShared is the same whole-cluster read through the
// shared views (View): every node's peers and route sets are iterated,
// nothing copied.
func BenchmarkAllViewsShared(b *testing.B) {
	for _, tc := range engineCases {
		c := engineCluster(tc.gran, tc.nodes)
		b.Run(fmt.Sprintf("%s/nodes=%d", tc.gran, tc.nodes), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m, err := Build(c)
				if err != nil {
					b.Fatal(err)
				}
				peers, dsts := 0, 0
				for _, name := range m.NodeNames() {
					v, ok := m.View(name)
					if !ok {
						b.Fatal(name)
					}
					for p := range v.Peers() {
						dsts += len(p.AllowedIPs)
						peers++
					}
					for s := range v.RouteSets() {
						dsts += len(s.Dsts)
					}
				}
				if peers == 0 || dsts == 0 {
					b.Fatal("empty views")
				}
			}
		})
	}
}

// BenchmarkOneView is `showconf node`: one Build and one node's view, the
// unit Kilo's engine (mesh.NewTopology and Conf) compares with.
func BenchmarkOneView(b *testing.B) {
	for _, tc := range engineCases {
		c := engineCluster(tc.gran, tc.nodes)
		b.Run(fmt.Sprintf("%s/nodes=%d", tc.gran, tc.nodes), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m, err := Build(c)
				if err != nil {
					b.Fatal(err)
				}
				if _, ok := m.NodeView("node-00042"); !ok {
					b.Fatal("missing")
				}
			}
		})
	}
}

// BenchmarkOneConfig is `showconf node` itself: one Build and one node's
// WireGuard configuration (copied), what Kilo's NewTopology and Conf
// compute (hack/bench/kilo-engine.sh).
func BenchmarkOneConfig(b *testing.B) {
	for _, tc := range engineCases {
		c := engineCluster(tc.gran, tc.nodes)
		b.Run(fmt.Sprintf("%s/nodes=%d", tc.gran, tc.nodes), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m, err := Build(c)
				if err != nil {
					b.Fatal(err)
				}
				if c, ok := m.NodeConfig("node-00042"); !ok || len(c.Peers) == 0 {
					b.Fatal("missing")
				}
			}
		})
	}
}
