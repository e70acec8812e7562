package agent

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// nopHost accepts any state: the benchmark measures the agent's own
// work (translate, engine, desired state), not the kernel's.
type nopHost struct{}

func (nopHost) Apply(context.Context, State) HostResult    { return HostResult{} }
func (nopHost) EnsureTunnel(context.Context, string) error { return nil }
func (nopHost) Discovered(time.Duration) (map[string]netip.AddrPort, error) {
	return nil, nil
}

// BenchmarkReconcile is one agent's reconcile in a cluster of n nodes over
// 100 locations with nothing changed (a resync): read the cache, find the
// inputs unchanged (buildcache.go), compute the host state. The rebuild
// case is the same with a node's location moving every time.
func BenchmarkReconcile(b *testing.B) {
	now := time.Unix(1_800_000_000, 0)
	for _, n := range []int{1_000, 10_000} {
		c := &fakeCluster{}
		for i := 0; i < n; i++ {
			k := wireguard.Key{byte(i), byte(i >> 8), 3}
			internal := fmt.Sprintf("172.16.%d.%d", i>>8, i&255)
			c.nodes = append(c.nodes, node(fmt.Sprintf("node-%05d", i), fmt.Sprintf("loc-%03d", i%100), "", fmt.Sprintf("10.%d.%d.0/24", 64+i>>8, i&255), map[string]string{
				translate.KeyKey: k.PublicKey().String(), translate.EndpointKey: internal + ":51820",
				translate.InternalIPKey: internal + "/16", translate.LastSeenKey: strconv.FormatInt(now.Unix(), 10),
				translate.GranularityKey: "location",
			}))
		}
		// Informer objects have a resource version (the translation
		// memo keys on it).
		for i, n := range c.nodes {
			n.ResourceVersion = strconv.Itoa(i + 1)
		}
		self := c.nodes[0].Name
		a, err := New(Options{
			Self:     Self{Name: self, PrivateKey: wireguard.Key{1}, InternalIP: netip.MustParsePrefix("172.16.0.0/16"), Endpoint: wireguard.Endpoint{Addr: netip.MustParseAddr("172.16.0.0"), Port: 51820}},
			Settings: topology.DefaultSettings(),
			Host:     HostConfig{Interface: "kilo0", PrivateInterface: "eth0", MeshTable: 1107, EncapTable: 1108},
			Cluster:  c, Publisher: c, Data: nopHost{},
			Now: func() time.Time { return now },
		})
		if err != nil {
			b.Fatal(err)
		}
		a.Reconcile(context.Background()) // publishes once
		var _ *corev1.Node
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := a.Reconcile(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("nodes=%d/rebuild", n), func(b *testing.B) {
			b.ReportAllocs()
			moved, version := n/2, 0
			for b.Loop() {
				version++
				c.nodes[moved] = c.nodes[moved].DeepCopy()
				c.nodes[moved].Labels[translate.DefaultTopologyLabel] = fmt.Sprintf("loc-%03d", version%100)
				c.nodes[moved].ResourceVersion = fmt.Sprintf("%d-%d", moved, version)
				if err := a.Reconcile(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
