package topology

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// render prints everything a mesh tells its users.
func renderMesh(m *Mesh) string {
	s := fmt.Sprintf("%v\n%v\n%+v\n", m.Problems, summary(m), m.Peers)
	for _, c := range m.Claims() {
		s += fmt.Sprintf("claim %s %+v\n", c.Prefix, c.Owner)
	}
	for _, p := range []string{"10.64.0.0/16", "10.64.3.0/24", "172.16.0.7/32", "52.1.0.3/32", "10.5.0.1/32", "10.4.0.0/24", "192.0.2.0/24", "10.2.1.0/24", "192.168.1.1/32", "10.0.0.0/8"} {
		c, ok := m.Owner(netip.MustParsePrefix(p))
		s += fmt.Sprintf("owner %s %v %+v\n", p, ok, c)
	}
	for _, n := range m.NodeNames() {
		v, _ := m.NodeView(n)
		s += fmt.Sprintf("%s %v %v %+v %+v %+v\n", n, v.Leader, v.WireGuardIP, v.WireGuard, v.Routes, v.Rules)
	}
	for _, p := range m.Peers {
		c, _ := m.PeerConfig(p.Name)
		s += fmt.Sprintf("peer %s %+v\n", p.Name, c)
	}
	return s
}

// The fast path (no overlapping claims) builds the mesh the walk builds,
// problems, claims and owners included; clusters with overlaps take the
// walk.
func TestQuickClaimsMatchWalk(t *testing.T) {
	clusters := map[string]Cluster{}
	for _, g := range Granularities {
		c := benchCluster(80, 5)
		c.Settings.Granularity = g
		c.Settings.ServiceCIDRs = []netip.Prefix{netip.MustParsePrefix("10.96.0.0/12")}
		clusters["bench/"+string(g)] = c
		small := c
		small.Settings.Subnet = netip.MustParsePrefix("10.4.0.0/29") // segments dropped
		clusters["exhausted/"+string(g)] = small
	}
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 400 {
		clusters[fmt.Sprintf("random-%03d", i)] = randomCluster(r)
	}
	// Clean clusters, some with one overlap slipped in.
	for i := range 100 {
		c := benchCluster(5+r.IntN(60), 1+r.IntN(6))
		c.Settings.Granularity = Granularities[r.IntN(3)]
		for j := range c.Nodes {
			if r.IntN(8) == 0 {
				c.Nodes[j].InternalIP = netip.Prefix{}
			}
			if r.IntN(4) == 0 {
				c.Nodes[j].CreationTimestamp = t0.Add(time_(r.IntN(5)))
			}
		}
		switch r.IntN(5) {
		case 0:
			c.Peers[0].AllowedIPs = append(c.Peers[0].AllowedIPs, c.Nodes[0].PodCIDRs[0])
		case 1:
			c.Nodes[1].PodCIDRs = append(c.Nodes[1].PodCIDRs, c.Nodes[0].PodCIDRs[0])
		case 2:
			c.Peers[1].AllowedIPs = append(c.Peers[1].AllowedIPs, netip.MustParsePrefix("10.5.0.0/30"), netip.MustParsePrefix("10.5.0.0/30"))
		}
		clusters[fmt.Sprintf("clean-%03d", i)] = c
	}
	quick := 0
	defer func() { quickOff = false }()
	for name, c := range clusters {
		quickOff = false
		fast := build(t, c)
		if fast.quick != nil {
			quick++
		}
		quickOff = true
		walk := build(t, c)
		if d := cmp.Diff(renderMesh(walk), renderMesh(fast)); d != "" {
			t.Fatalf("%s: fast path (quick=%v) differs from the walk (-walk +fast):\n%s", name, fast.quick != nil, d)
		}
	}
	if quick < 50 {
		t.Fatalf("only %d clusters took the fast path", quick)
	}
}

func time_(h int) time.Duration { return time.Duration(h) * time.Hour }
