package report

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kgctl/kgctl/pkg/health"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

func TestBuildDrift(t *testing.T) {
	c := topology.Cluster{Settings: topology.DefaultSettings()}
	for i, name := range []string{"a", "b"} {
		c.Nodes = append(c.Nodes, topology.Node{
			Name: name, Location: name, Key: wireguard.Key{byte(i + 1)},
			InternalIP: netip.MustParsePrefix("10.0.0." + string(rune('1'+i)) + "/24"),
			Endpoint:   wireguard.Endpoint{Addr: netip.MustParseAddr("192.0.2." + string(rune('1'+i))), Port: 51820},
			PodCIDRs:   []netip.Prefix{netip.MustParsePrefix("10.2." + string(rune('1'+i)) + ".0/24")},
		})
	}
	m, _ := topology.Build(c)
	va, _ := m.NodeView("a")
	inSync := health.Encode(health.Status{Up: 1, Applied: health.Hash(va.WireGuard)})
	tests := map[string]struct {
		status      map[string]string
		wantDrifted []string
		wantRep     []bool
	}{
		"none reported":        {map[string]string{}, []string{}, []bool{false, false}},
		"a in sync":            {map[string]string{"a": inSync}, []string{}, []bool{true, false}},
		"b applied a's config": {map[string]string{"a": inSync, "b": inSync}, []string{"b"}, []bool{true, true}},
		"undecodable":          {map[string]string{"a": "{"}, []string{}, []bool{false, false}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			r := Build(m, tt.status)
			if d := cmp.Diff(tt.wantDrifted, r.Drifted); d != "" {
				t.Errorf("drifted (-want +got):\n%s", d)
			}
			var rep []bool
			for _, n := range r.Nodes {
				rep = append(rep, n.Reported)
			}
			if d := cmp.Diff(tt.wantRep, rep); d != "" {
				t.Errorf("reported (-want +got):\n%s", d)
			}
		})
	}
}
