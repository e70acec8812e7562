package agent

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// TestKiloMetrics: Kilo's names carry the same values as ours, and Ready
// waits for a reconcile that applied the host without an error.
func TestKiloMetrics(t *testing.T) {
	c := topology.Cluster{Settings: topology.DefaultSettings()}
	for i, name := range []string{"a", "b", "c"} {
		var k wireguard.Key
		k[0] = byte(i + 1)
		c.Nodes = append(c.Nodes, topology.Node{Name: name, Location: "x", Key: k,
			InternalIP: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), 24),
			Endpoint:   wireguard.Endpoint{Addr: netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)}), Port: 51820},
			PodCIDRs:   []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 2, byte(i), 0}), 24)}})
	}
	c.Nodes = append(c.Nodes, topology.Node{Name: "no-key"}) // left out: not counted
	c.Peers = []topology.Peer{{Name: "laptop", PublicKey: wireguard.Key{9}, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.5.0.1/32")}}}
	mesh, err := topology.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}

	if m.Mesh() != nil {
		t.Fatal("a mesh before any reconcile")
	}
	m.meshed(mesh)
	if m.Mesh() != mesh {
		t.Error("Mesh is not the last mesh computed")
	}
	m.observe(0, errors.New("api server down")) // no apply yet
	if isClosed(m.Ready()) {
		t.Fatal("ready before any apply")
	}
	m.applied(HostResult{}, true, 1)
	m.observe(0, errors.New("routes: permission denied")) // applied, but failed
	if isClosed(m.Ready()) {
		t.Fatal("ready after a failed apply")
	}
	m.applied(HostResult{}, true, 1)
	m.observe(0, nil)
	if !isClosed(m.Ready()) {
		t.Fatal("not ready after a full apply")
	}
	m.observe(0, nil) // closing twice must not panic

	want := `
# HELP kilo_errors_total Number of errors that occurred while administering the mesh.
# TYPE kilo_errors_total counter
kilo_errors_total{event="apply"} 2
# HELP kilo_leader Leadership status of the node.
# TYPE kilo_leader gauge
kilo_leader 1
# HELP kilo_nodes Number of nodes in the mesh.
# TYPE kilo_nodes gauge
kilo_nodes 3
# HELP kilo_peers Number of peers in the mesh.
# TYPE kilo_peers gauge
kilo_peers 1
# HELP kilo_reconciles_total Number of reconciliation attempts.
# TYPE kilo_reconciles_total counter
kilo_reconciles_total 4
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "kilo_errors_total", "kilo_leader", "kilo_nodes", "kilo_peers", "kilo_reconciles_total"); err != nil {
		t.Error(err)
	}
	if got, want := testutil.ToFloat64(m.Reconciles), testutil.ToFloat64(m.Kilo.Reconciles); got != want {
		t.Errorf("kgctl_reconciles_total %v != kilo_reconciles_total %v", got, want)
	}
	if got, want := testutil.ToFloat64(m.ReconcileErrors), testutil.ToFloat64(m.Kilo.Errors.WithLabelValues("apply")); got != want {
		t.Errorf("kgctl_reconcile_errors_total %v != kilo_errors_total %v", got, want)
	}
}
