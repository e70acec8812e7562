package peer

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// BenchmarkNextAddress is what `peer add` does after reading the
// cluster: collect the mesh's claims and find a free address, with 10,000
// nodes in 100 locations and 1,000 peers already in the pool.
func BenchmarkNextAddress(b *testing.B) {
	c := topology.Cluster{Settings: topology.DefaultSettings()}
	for i := range 10_000 {
		var k wireguard.Key
		k[0], k[1], k[2] = byte(i), byte(i>>8), 1
		c.Nodes = append(c.Nodes, topology.Node{
			Name:       fmt.Sprintf("node-%05d", i),
			Location:   fmt.Sprintf("loc-%03d", i%100),
			Key:        k,
			InternalIP: netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)}), 16),
			Endpoint:   wireguard.Endpoint{Addr: netip.AddrFrom4([4]byte{52, 1, byte(i >> 8), byte(i)}), Port: 51820},
			PodCIDRs:   []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(64 + i>>8), byte(i), 0}), 24)},
		})
	}
	for i := range 1_000 {
		var k wireguard.Key
		k[0], k[1], k[31] = byte(i), byte(i>>8), 2
		a := netip.AddrFrom4([4]byte{10, 5, byte((i + 1) >> 8), byte(i + 1)})
		c.Peers = append(c.Peers, topology.Peer{Name: fmt.Sprintf("peer-%04d", i), PublicKey: k, AllowedIPs: []netip.Prefix{netip.PrefixFrom(a, 32)}})
	}
	m, err := topology.Build(c)
	if err != nil {
		b.Fatal(err)
	}
	pool := netip.MustParsePrefix("10.5.0.0/16")
	b.ReportAllocs()
	for b.Loop() {
		p, err := FreeAddress(pool, Claims(m))
		if err != nil || p.String() != "10.5.3.233/32" {
			b.Fatalf("%v %v", p, err)
		}
	}
}
