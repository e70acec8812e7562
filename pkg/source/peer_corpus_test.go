package source

import (
	"net/netip"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// TestKiloPeerCorpus: every Peer Kilo's docs, e2e tests and kgctl create
// or print (testdata/kilo-peers/accepted) decodes strictly and joins the
// mesh with no error; hack/crd-test.sh applies the same files to a real
// API server under Kilo's CRD and ours.
func TestKiloPeerCorpus(t *testing.T) {
	files, err := filepath.Glob("../../testdata/kilo-peers/accepted/*.yaml")
	if err != nil || len(files) < 6 {
		t.Fatalf("corpus: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			objs, err := Files([]string{f}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(objs.Peers) != 1 {
				t.Fatalf("%d Peers", len(objs.Peers))
			}
			c, problems := Translate(objs, Options{})
			if problems.HasErrors() || len(c.Peers) != 1 {
				t.Errorf("peers %d, problems %v", len(c.Peers), problems)
			}
			// With the example cluster's nodes, the Peer is in every
			// node's WireGuard configuration.
			nodes, err := Files([]string{"../../testdata/example/nodes.yaml"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			objs.Nodes = nodes.Nodes
			settings := topology.DefaultSettings()
			if filepath.Base(f) == "multi-cluster-as-peer.yaml" {
				// Another cluster's location: as in Kilo's
				// e2e/multi-cluster.sh, the cluster it joins runs
				// --subnet 10.6.0.0/16, so its WireGuard IP is not ours.
				settings.Subnet = netip.MustParsePrefix("10.6.0.0/16")
			}
			m, problems, err := Build(objs, Options{Settings: settings})
			if err != nil || problems.HasErrors() {
				t.Fatalf("mesh: %v %v", err, problems)
			}
			key, want := c.Peers[0].PublicKey, 0
			for _, n := range objs.Nodes {
				v, ok := m.NodeView(n.Name)
				if !ok {
					continue
				}
				want++
				if !slices.ContainsFunc(v.WireGuard.Peers, func(p wireguard.Peer) bool { return p.PublicKey == key && len(p.AllowedIPs) > 0 }) {
					t.Errorf("node %s: Peer %s not in its WireGuard configuration", n.Name, objs.Peers[0].Name)
				}
			}
			if want < 3 {
				t.Errorf("only %d example nodes in the mesh", want)
			}
		})
	}
}
