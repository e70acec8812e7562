package graph

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kgctl/kgctl/internal/golden"

	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

var update = flag.Bool("update", false, "rewrite golden files")

func key(i byte) wireguard.Key {
	var k wireguard.Key
	for j := range k {
		k[j] = i
	}
	return k
}

func cluster(g topology.Granularity) topology.Cluster {
	c := topology.Cluster{Settings: topology.DefaultSettings()}
	c.Settings.Granularity = g
	add := func(i byte, name, loc, internal, endpoint string) {
		c.Nodes = append(c.Nodes, topology.Node{
			Name: name, Location: loc, Key: key(i),
			InternalIP: netip.MustParsePrefix(internal),
			Endpoint:   wireguard.Endpoint{Addr: netip.MustParseAddr(endpoint), Port: 51820},
			PodCIDRs:   []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 2, i, 0}), 24)},
		})
	}
	add(1, "a-1", "east", "10.0.0.1/24", "203.0.113.1")
	add(2, "a-2", "east", "10.0.0.2/24", "10.0.0.2")
	add(3, "b-1", "west", "10.1.0.1/24", "203.0.113.3")
	add(4, "c-1", "west", "10.1.0.2/24", "203.0.113.4")
	c.Peers = []topology.Peer{{Name: "laptop", PublicKey: key(9), AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.5.0.1/32")}}}
	return c
}

func TestWrite(t *testing.T) {
	tests := map[string]topology.Cluster{
		"location": cluster(topology.LocationGranularity),
		"full":     cluster(topology.FullGranularity),
		"cross":    cluster(topology.CrossGranularity),
		"empty":    {Settings: topology.DefaultSettings()},
	}
	for name, c := range tests {
		t.Run(name, func(t *testing.T) {
			m, err := topology.Build(c)
			if err != nil {
				t.Fatal(err)
			}
			var first bytes.Buffer
			if err := Write(&first, m); err != nil {
				t.Fatal(err)
			}
			for range 20 {
				var again bytes.Buffer
				Write(&again, m)
				if again.String() != first.String() {
					t.Fatal("output is not deterministic")
				}
			}
			golden.File(t, filepath.Join("testdata", name+".dot"), first.String(), *update)
			if _, err := exec.LookPath("dot"); err == nil {
				svg, err := SVG(context.Background(), first.Bytes(), "dot")
				if err != nil || !strings.Contains(string(svg), "<svg") {
					t.Errorf("dot did not render the graph: %v", err)
				}
			}
		})
	}
}

func TestCrossHasNoLinksInsideALocation(t *testing.T) {
	m, _ := topology.Build(cluster(topology.CrossGranularity))
	var b bytes.Buffer
	Write(&b, m)
	if strings.Contains(b.String(), `"b-1"--"c-1"[ style=bold ]`) || !strings.Contains(b.String(), `"a-1"--"b-1"[ style=bold ]`) {
		t.Errorf("cross granularity links are wrong:\n%s", b.String())
	}
}

func TestSVGWithoutDot(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := SVG(context.Background(), []byte("graph{}"), "")
	if !errors.Is(err, ErrNoDot) || !strings.Contains(err.Error(), "apt-get install graphviz") {
		t.Fatalf("err = %v, want the install hint", err)
	}
}
