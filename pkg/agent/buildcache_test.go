package agent

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/source"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// informerCluster hands out objects the way an informer does: each
// update is a new object with a new resource version, never a change in
// place.
type informerCluster struct {
	fakeCluster
	peers   []*v1alpha1.Peer
	version int
}

func (c *informerCluster) Objects() source.Objects {
	return source.Objects{Nodes: c.nodes, Peers: c.peers}
}

func (c *informerCluster) Annotate(ctx context.Context, node string, a map[string]*string) error {
	_ = c.fakeCluster.Annotate(ctx, node, a)
	for _, n := range c.nodes {
		if n.Name == node {
			c.stamp(n)
		}
	}
	return nil
}

func (c *informerCluster) stamp(n *corev1.Node) {
	c.version++
	n.ResourceVersion = strconv.Itoa(c.version)
}

// update replaces node i by a changed copy, as a watch event does.
func (c *informerCluster) update(i int, change func(*corev1.Node)) {
	n := c.nodes[i].DeepCopy()
	change(n)
	c.stamp(n)
	c.nodes[i] = n
}

func meshNode(name, location string, i int, seen time.Time) *corev1.Node {
	k := wireguard.Key{byte(i + 1), 5}
	internal := fmt.Sprintf("172.16.0.%d", i+1)
	return node(name, location, "", fmt.Sprintf("10.2.%d.0/24", i), map[string]string{
		translate.KeyKey: k.PublicKey().String(), translate.EndpointKey: internal + ":51820",
		translate.InternalIPKey: internal + "/24", translate.LastSeenKey: strconv.FormatInt(seen.Unix(), 10),
	})
}

func cachePeer(name, ip string) *v1alpha1.Peer {
	k := wireguard.Key{byte(len(name)), 9}
	return &v1alpha1.Peer{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: "1"},
		Spec: v1alpha1.PeerSpec{AllowedIPs: []string{ip}, PublicKey: k.PublicKey().String()}}
}

// A reconcile whose inputs are unchanged builds nothing; any change of
// what the mesh reads builds it again, and the mesh used is then the one
// a fresh build gives.
func TestBuildCache(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		name   string
		change func(c *informerCluster, a *Agent, now *time.Time)
		build  bool
	}{
		{"nothing", func(*informerCluster, *Agent, *time.Time) {}, false},
		{"the same content in new objects (a relist)", func(c *informerCluster, _ *Agent, _ *time.Time) {
			for i := range c.nodes {
				c.update(i, func(*corev1.Node) {})
			}
		}, false},
		{"a heartbeat within the limit", func(c *informerCluster, _ *Agent, now *time.Time) {
			*now = now.Add(20 * time.Second)
			c.update(1, func(n *corev1.Node) { n.Annotations[translate.LastSeenKey] = strconv.FormatInt(now.Unix(), 10) })
		}, false},
		{"an annotation the mesh does not read", func(c *informerCluster, _ *Agent, _ *time.Time) {
			c.update(1, func(n *corev1.Node) { n.Annotations["example.com/owner"] = "x" })
		}, false},
		{"one annotation", func(c *informerCluster, _ *Agent, _ *time.Time) {
			c.update(2, func(n *corev1.Node) { n.Annotations[translate.PersistentKeepaliveKey] = "25" })
		}, true},
		{"one location label", func(c *informerCluster, _ *Agent, _ *time.Time) {
			c.update(2, func(n *corev1.Node) { n.Labels[translate.DefaultTopologyLabel] = "west" })
		}, true},
		{"a pod CIDR", func(c *informerCluster, _ *Agent, _ *time.Time) {
			c.update(1, func(n *corev1.Node) { n.Spec.PodCIDR = "10.2.9.0/24" })
		}, true},
		{"a node joins", func(c *informerCluster, _ *Agent, now *time.Time) {
			n := meshNode("d", "west", 3, *now)
			c.stamp(n)
			c.nodes = append(c.nodes, n)
		}, true},
		{"a node leaves", func(c *informerCluster, _ *Agent, _ *time.Time) { c.nodes = c.nodes[:2] }, true},
		{"a peer changes", func(c *informerCluster, _ *Agent, _ *time.Time) {
			c.peers = []*v1alpha1.Peer{cachePeer("phone", "10.5.0.2/32")}
		}, true},
		{"a peer joins", func(c *informerCluster, _ *Agent, _ *time.Time) {
			c.peers = append(c.peers, cachePeer("laptop", "10.5.0.3/32"))
		}, true},
		{"a liveness verdict: a node goes stale", func(c *informerCluster, _ *Agent, now *time.Time) {
			// Only a, the agent's own node, keeps its last-seen fresh.
			*now = now.Add(2 * time.Minute)
		}, true},
		{"a Ready condition turns False long ago", func(c *informerCluster, _ *Agent, now *time.Time) {
			c.update(2, func(n *corev1.Node) {
				n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse,
					LastTransitionTime: metav1.NewTime(now.Add(-time.Hour))}}
				n.Annotations[translate.LastSeenKey] = strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)
			})
		}, true},
		{"a setting", func(_ *informerCluster, a *Agent, _ *time.Time) { a.o.Settings.Port = 51821 }, true},
		{"a node option", func(_ *informerCluster, a *Agent, _ *time.Time) { a.o.Node.TopologyLabel = "example.com/zone" }, true},
		{"a hand-made object changed in place (no resource version)", func(c *informerCluster, _ *Agent, _ *time.Time) {
			n := c.nodes[2]
			n.ResourceVersion = ""
			n.Annotations[translate.PersistentKeepaliveKey] = "15"
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := start
			c := &informerCluster{peers: []*v1alpha1.Peer{cachePeer("phone", "10.5.0.1/32")}}
			for i, loc := range []string{"east", "east", "south"} {
				n := meshNode(string(rune('a'+i)), loc, i, now)
				c.stamp(n)
				c.nodes = append(c.nodes, n)
			}
			h := &fakeHost{}
			a, err := New(Options{
				Self:     Self{Name: "a", PrivateKey: wireguard.Key{1}, InternalIP: netip.MustParsePrefix("172.16.0.1/24"), Endpoint: wireguard.Endpoint{Addr: netip.MustParseAddr("172.16.0.1"), Port: 51820}},
				Settings: topology.DefaultSettings(),
				Host:     HostConfig{Interface: "kilo0", PrivateInterface: "eth0", MeshTable: 1107, EncapTable: 1108},
				Cluster:  c, Publisher: c, Data: h,
				Now: func() time.Time { return now },
			})
			if err != nil {
				t.Fatal(err)
			}
			for range 3 { // the first publishes the node's own annotations
				if err := a.Reconcile(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			before := a.builds.Builds
			if err := a.Reconcile(context.Background()); err != nil {
				t.Fatal(err)
			}
			if a.builds.Builds != before {
				t.Fatalf("an unchanged reconcile built the mesh (%d builds, then %d)", before, a.builds.Builds)
			}
			// Nor the host state: the iptables rules applied are the same
			// ones (MeshRules did not run; 20,000 rules at 10,000 nodes).
			if n := len(h.applied); n < 2 || len(h.applied[n-1].IPTables.Rules) == 0 ||
				&h.applied[n-2].IPTables.Rules[0] != &h.applied[n-1].IPTables.Rules[0] {
				t.Fatalf("an unchanged reconcile computed the iptables rules again")
			}
			tc.change(c, a, &now)
			if err := a.Reconcile(context.Background()); err != nil {
				t.Fatal(err)
			}
			if built := a.builds.Builds > before; built != tc.build {
				t.Errorf("built: %v, want %v", built, tc.build)
			}
			// Whether cached or not, the mesh used is a fresh build's.
			settings := a.o.Settings
			settings.Now = now
			fresh, _, err := source.Build(c.Objects(), source.Options{Settings: settings, Node: a.o.Node})
			if err != nil {
				t.Fatal(err)
			}
			view, _ := fresh.NodeView("a")
			want := desiredFor(fresh, view, a.o.Self.PrivateKey, a.o.Host)
			if d := cmp.Diff(want, h.applied[len(h.applied)-1], netipEqual); d != "" {
				t.Errorf("the state applied differs from a fresh build's (-fresh +applied):\n%s", d)
			}
		})
	}
}

var netipEqual = cmp.Options{
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }),
}

// The cache translates as source.Translate does: same problems, same
// mesh, problems of bad objects included.
func TestBuildCacheTranslatesAlike(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var objs source.Objects
	for i := range 6 {
		n := meshNode(fmt.Sprintf("n%d", i), []string{"east", "west"}[i%2], i, now.Add(-time.Duration(i)*40*time.Second))
		n.ResourceVersion = "7"
		objs.Nodes = append(objs.Nodes, n)
	}
	objs.Nodes[1].Annotations[translate.PersistentKeepaliveKey] = "ten"
	objs.Nodes[2].Annotations[translate.KeyKey] = "not a key"
	objs.Nodes[3].Annotations[translate.LastSeenKey] = "yesterday"
	objs.Peers = []*v1alpha1.Peer{cachePeer("p", "10.5.0.1/32"), cachePeer("bad", "nonsense")}
	objs.Problems = topology.Problems{{Severity: topology.Error, Kind: "Peer", Name: "undecoded", Message: "does not decode"}}
	settings := topology.DefaultSettings()
	settings.Now = now
	opts := source.Options{Settings: settings, Liveness: func(n *topology.Node) {
		if n.Name == "n5" {
			n.LastSeen = now // observed alive by the agent
		}
	}}
	want, wantProblems, err := source.Build(objs, opts)
	if err != nil {
		t.Fatal(err)
	}
	var c buildCache
	for round := range 2 { // built, then cached
		got, gotProblems, err := c.build(objs, opts)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(wantProblems, gotProblems); d != "" {
			t.Errorf("round %d: problems (-source.Build +cache):\n%s", round, d)
		}
		for _, n := range objs.Nodes {
			w, wok := want.NodeView(n.Name)
			g, gok := got.NodeView(n.Name)
			if wok != gok {
				t.Errorf("round %d: node %s: in one mesh only", round, n.Name)
			} else if wok {
				key := wireguard.Key{3}
				if d := cmp.Diff(desiredFor(want, w, key, HostConfig{Interface: "kilo0"}), desiredFor(got, g, key, HostConfig{Interface: "kilo0"}), netipEqual); d != "" {
					t.Errorf("round %d: node %s: (-source.Build +cache):\n%s", round, n.Name, d)
				}
			}
		}
	}
	if c.Builds != 1 {
		t.Errorf("%d builds, want 1", c.Builds)
	}
}
