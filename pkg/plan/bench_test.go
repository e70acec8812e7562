package plan

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// benchCluster makes n ready nodes over the given number of locations,
// a third of them with public endpoints, and 10 peers (the engine's
// benchmark cluster).
func benchCluster(n, locations int) topology.Cluster {
	c := topology.Cluster{Settings: topology.DefaultSettings()}
	for i := 0; i < n; i++ {
		c.Nodes = append(c.Nodes, benchNode(i, locations))
	}
	for i := 0; i < 10; i++ {
		var key wireguard.Key
		key[0], key[31] = byte(i), 2
		c.Peers = append(c.Peers, topology.Peer{
			Name:       fmt.Sprintf("peer-%02d", i),
			PublicKey:  key,
			AllowedIPs: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 5, 0, byte(i + 1)}), 32)},
		})
	}
	return c
}

func benchNode(i, locations int) topology.Node {
	var key wireguard.Key
	key[0], key[1], key[2] = byte(i), byte(i>>8), 1
	internal := netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)})
	endpoint := internal
	if i%3 == 0 {
		endpoint = netip.AddrFrom4([4]byte{52, 1, byte(i >> 8), byte(i)})
	}
	return topology.Node{
		Name:       fmt.Sprintf("node-%05d", i),
		Location:   fmt.Sprintf("loc-%03d", i%locations),
		InternalIP: netip.PrefixFrom(internal, 16),
		Endpoint:   wireguard.Endpoint{Addr: endpoint, Port: 51820},
		Key:        key,
		PodCIDRs:   []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(64 + i>>8), byte(i), 0}), 24)},
		LastSeen:   time.Unix(1_700_000_000, 0),
	}
}

func mustBuild(tb testing.TB, c topology.Cluster) *topology.Mesh {
	tb.Helper()
	m, err := topology.Build(c)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// BenchmarkDiff is `kgctl plan` on a large cluster with a one-node
// change: one node joins location loc-005, which every other node sees
// as a WireGuard peer's allowed IPs and a route or two.
func BenchmarkDiff(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		c := benchCluster(n, 100)
		before := mustBuild(b, c)
		c.Nodes = append(c.Nodes, benchNode(n+5, 100))
		after := mustBuild(b, c)
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var p *Plan
			for b.Loop() {
				p = Diff(before, after)
			}
			if len(p.Nodes) != n+1 {
				b.Fatalf("%d nodes change, want %d", len(p.Nodes), n+1)
			}
		})
	}
}

// BenchmarkWriteText renders the same plan: nodes with the same changes
// share a block.
func BenchmarkWriteText(b *testing.B) {
	c := benchCluster(10_000, 100)
	before := mustBuild(b, c)
	c.Nodes = append(c.Nodes, benchNode(10_005, 100))
	p := Diff(before, mustBuild(b, c))
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteText(io.Discard, p, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlan is `kgctl plan` rendered as it runs (New, then the text
// or JSON written node by node) on n nodes in 50 locations: a one-node
// join in location granularity, and a flip to a full mesh, whose output
// is the square of the cluster (the 10,000-node flip writes ~15 GB of
// text: set KGCTL_BENCH_HUGE=1 to run it).
func BenchmarkPlan(b *testing.B) {
	for _, n := range []int{2_000, 10_000} {
		for _, change := range []string{"join", "full"} {
			for _, format := range []string{"text", "json"} {
				b.Run(fmt.Sprintf("nodes=%d/%s/%s", n, change, format), func(b *testing.B) {
					if n > 2_000 && change == "full" && os.Getenv("KGCTL_BENCH_HUGE") == "" {
						b.Skip("set KGCTL_BENCH_HUGE=1 for the 10,000-node flip")
					}
					c := benchCluster(n, 50)
					before := mustBuild(b, c)
					if change == "join" {
						c.Nodes = append(c.Nodes, benchNode(n+5, 50))
					} else {
						c.Settings.Granularity = topology.FullGranularity
					}
					after := mustBuild(b, c)
					b.ReportAllocs()
					for b.Loop() {
						p := New(State{Mesh: before}, State{Mesh: after})
						var err error
						if format == "json" {
							err = WriteJSON(io.Discard, p)
						} else {
							err = WriteText(io.Discard, p, Options{})
						}
						if err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
