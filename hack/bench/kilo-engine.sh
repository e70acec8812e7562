#!/usr/bin/env bash
# Kilo's engine on the cluster of kgctl's engine benchmarks, for the
# one-view comparison in docs/performance.md. Kilo's code is not part of
# this repository: give a checkout of github.com/squat/kilo (KILO_SRC, or
# one is cloned), and a scratch module outside the tree is built against
# it. Usage: hack/bench/kilo-engine.sh [BENCH-REGEXP] [BENCHTIME]
set -euo pipefail
pattern=${1:-KiloOneView}
benchtime=${2:-20x}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src=${KILO_SRC:-}
if [ -z "$src" ]; then
	src=$work/kilo
	git clone -q --depth 1 https://github.com/squat/kilo "$src"
fi
cat > "$work/go.mod" <<MOD
module kilobench

go 1.26

require github.com/squat/kilo v0.0.0

replace github.com/squat/kilo => $src
MOD
cat > "$work/kilo_test.go" <<'GO'
package kilobench

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/squat/kilo/pkg/encapsulation"
	"github.com/squat/kilo/pkg/mesh"
	"github.com/squat/kilo/pkg/wireguard"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// cluster mirrors kgctl's pkg/topology benchCluster(n, 100): same names,
// locations, keys, internal IPs, endpoints, pod CIDRs and ten peers.
func cluster(n, locations int) (map[string]*mesh.Node, map[string]*mesh.Peer) {
	nodes := make(map[string]*mesh.Node, n)
	for i := 0; i < n; i++ {
		var key wgtypes.Key
		key[0], key[1], key[2] = byte(i), byte(i>>8), 1
		internal := net.IPv4(172, 16, byte(i>>8), byte(i)).To4()
		endpoint := net.IPv4(172, 16, byte(i>>8), byte(i)).To4()
		if i%3 == 0 {
			endpoint = net.IPv4(52, 1, byte(i>>8), byte(i)).To4()
		}
		name := fmt.Sprintf("node-%05d", i)
		nodes[name] = &mesh.Node{
			Name:       name,
			Location:   fmt.Sprintf("loc-%03d", i%locations),
			InternalIP: &net.IPNet{IP: internal, Mask: net.CIDRMask(16, 32)},
			Endpoint:   wireguard.NewEndpoint(endpoint, 51820),
			Key:        key,
			Subnet:     &net.IPNet{IP: net.IPv4(10, byte(64+i>>8), byte(i), 0).To4(), Mask: net.CIDRMask(24, 32)},
			LastSeen:   time.Now().Unix(),
		}
	}
	peers := make(map[string]*mesh.Peer)
	for i := 0; i < 10; i++ {
		var key wgtypes.Key
		key[0], key[31] = byte(i), 2
		name := fmt.Sprintf("peer-%02d", i)
		p := &mesh.Peer{Name: name}
		p.PublicKey = key
		p.AllowedIPs = []net.IPNet{{IP: net.IPv4(10, 5, 0, byte(i+1)).To4(), Mask: net.CIDRMask(32, 32)}}
		peers[name] = p
	}
	return nodes, peers
}

var subnet = &net.IPNet{IP: net.IPv4(10, 4, 0, 0).To4(), Mask: net.CIDRMask(16, 32)}

// BenchmarkKiloOneView is Kilo's `kgctl showconf node`: NewTopology for
// the node, then its WireGuard configuration (and, for OneViewRoutes,
// its routes, as the agent computes them).
func BenchmarkKiloOneView(b *testing.B) {
	for _, g := range []mesh.Granularity{mesh.LogicalGranularity, mesh.FullGranularity} {
		for _, n := range []int{2_000, 3_000, 10_000} {
			nodes, peers := cluster(n, 100)
			for _, routes := range []bool{false, true} {
				b.Run(fmt.Sprintf("%s/nodes=%d/routes=%v", g, n, routes), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						t, err := mesh.NewTopology(nodes, peers, g, "node-00042", 51820, wgtypes.Key{}, subnet, nil, 0, nil)
						if err != nil {
							b.Fatal(err)
						}
						if c := t.Conf(); len(c.Peers) == 0 {
							b.Fatal("no peers")
						}
						if routes {
							t.Routes("kilo0", 1, 2, 3, true, encapsulation.NewIPIP(encapsulation.Never))
						}
					}
				})
			}
		}
	}
}
GO
cd "$work"
go mod tidy >/dev/null
go test -run XXX -bench "$pattern" -benchmem -benchtime "$benchtime" .
