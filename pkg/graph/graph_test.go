package graph

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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

// big is n nodes in three locations, with two peers: at full
// granularity every node leads its own segment.
func big(g topology.Granularity, n int) topology.Cluster {
	c := topology.Cluster{Settings: topology.DefaultSettings()}
	c.Settings.Granularity = g
	for i := range n {
		b := byte(i + 1)
		c.Nodes = append(c.Nodes, topology.Node{
			Name: fmt.Sprintf("n-%d", i+1), Location: []string{"east", "west", "lab"}[i%3], Key: key(b),
			InternalIP: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i % 3), b}), 24),
			Endpoint:   wireguard.Endpoint{Addr: netip.AddrFrom4([4]byte{203, 0, 113, b}), Port: 51820},
			PodCIDRs:   []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 2, b, 0}), 24)},
		})
	}
	c.Peers = []topology.Peer{
		{Name: "laptop", PublicKey: key(100), AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.5.0.1/32")}, PersistentKeepalive: 10 * time.Second},
		{Name: "phone", PublicKey: key(101), AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.5.0.2/32")}},
	}
	return c
}

func TestWrite(t *testing.T) {
	tests := map[string]topology.Cluster{
		"location": cluster(topology.LocationGranularity),
		"full":     cluster(topology.FullGranularity),
		"cross":    cluster(topology.CrossGranularity),
		"empty":    {Settings: topology.DefaultSettings()},
		// Large enough for the hub: 9 leaders, 9 lines instead of 36.
		"full-9": big(topology.FullGranularity, 9),
		// Cross with locations of several segments, nested.
		"cross-9": big(topology.CrossGranularity, 9),
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
	if strings.Contains(b.String(), `"b-1"--"c-1"[ penwidth=2, style=bold ]`) || !strings.Contains(b.String(), `"a-1"--"b-1"[ penwidth=2, style=bold ]`) {
		t.Errorf("cross granularity links are wrong:\n%s", b.String())
	}
}

// What a reader of the picture relies on, checked on the DOT itself.
func TestDrawing(t *testing.T) {
	count := func(dot, s string) int { return strings.Count(dot, s) }
	tests := map[string]struct {
		c topology.Cluster
		// wireGuard and peerLinks are the number of lines drawn.
		wireGuard, peerLinks int
		hub                  bool
	}{
		"location pairwise":  {c: cluster(topology.LocationGranularity), wireGuard: 1, peerLinks: 2},
		"full pairwise":      {c: cluster(topology.FullGranularity), wireGuard: 6, peerLinks: 4},
		"full 9 through hub": {c: big(topology.FullGranularity, 9), wireGuard: 9, peerLinks: 1, hub: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			m, err := topology.Build(tt.c)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := Write(&b, m); err != nil {
				t.Fatal(err)
			}
			dot := b.String()
			// The legend's own links are one of each kind.
			got := []int{count(dot, "penwidth=2") - 1, count(dot, "style=dotted") - 1 - 1}
			if diff := cmp.Diff([]int{tt.wireGuard, tt.peerLinks}, got); diff != "" {
				t.Errorf("WireGuard and peer lines (-want +got):\n%s\n%s", diff, dot)
			}
			if tt.hub != strings.Contains(dot, hubID) {
				t.Errorf("hub drawn = %v, want %v", !tt.hub, tt.hub)
			}
			for _, want := range []string{"cluster_legend", "internal IP ", "pod CIDRs ", "endpoint ", "allowed IPs ", "WireGuard IP "} {
				if !strings.Contains(dot, want) {
					t.Errorf("DOT lacks %q:\n%s", want, dot)
				}
			}
			if strings.Contains(dot, "doublecircle") {
				t.Error("leaders drawn as doublecircle: a circle grows with its label, three times a node's size")
			}
		})
	}
}

func TestSVGWithoutDot(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := SVG(context.Background(), []byte("graph{}"), "")
	if !errors.Is(err, ErrNoDot) || !strings.Contains(err.Error(), "apt-get install graphviz") {
		t.Fatalf("err = %v, want the install hint", err)
	}
}
