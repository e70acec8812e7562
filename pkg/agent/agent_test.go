package agent

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kgctl/kgctl/pkg/source"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// fakeCluster applies patches to its own nodes, like the API server would.
type fakeCluster struct {
	nodes   []*corev1.Node
	patches []map[string]*string
	events  []string
}

func (f *fakeCluster) Objects() source.Objects  { return source.Objects{Nodes: f.nodes} }
func (f *fakeCluster) Changed() <-chan struct{} { return nil }
func (f *fakeCluster) Event(node, reason, msg string) {
	f.events = append(f.events, node+" "+reason+" "+msg)
}
func (f *fakeCluster) Annotate(_ context.Context, node string, a map[string]*string) error {
	f.patches = append(f.patches, a)
	for i, n := range f.nodes {
		if n.Name == node {
			f.nodes[i] = withAnnotations(n, a)
		}
	}
	return nil
}

// fakeHost records states and counts writes the way the real drivers
// do: a state equal to the last one costs nothing.
type fakeHost struct {
	applied []State
}

func (h *fakeHost) Apply(_ context.Context, s State) HostResult {
	r := HostResult{Peers: len(s.WireGuard.Peers)}
	if n := len(h.applied); n == 0 || !sameState(h.applied[n-1], s) {
		r.WireGuardWrites = 1
	}
	h.applied = append(h.applied, s)
	return r
}

func (h *fakeHost) EnsureTunnel(context.Context, string) error { return nil }

func (h *fakeHost) Discovered(time.Duration) (map[string]netip.AddrPort, error) {
	return nil, nil
}

func sameState(a, b State) bool {
	if len(a.WireGuard.Peers) != len(b.WireGuard.Peers) || len(a.Routes.Routes) != len(b.Routes.Routes) {
		return false
	}
	for i := range a.WireGuard.Peers {
		if !a.WireGuard.Peers[i].Equal(b.WireGuard.Peers[i]) {
			return false
		}
	}
	for i := range a.Routes.Routes {
		if a.Routes.Routes[i] != b.Routes.Routes[i] {
			return false
		}
	}
	return true
}

func node(name, location, internal, pod string, annotations map[string]string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{translate.DefaultTopologyLabel: location}, Annotations: annotations}}
	n.Spec.PodCIDR = pod
	return n
}

func TestReconcile(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	peerKey := wireguard.Key{9}
	other := node("b", "west", "10.0.1.1/24", "10.2.1.0/24", map[string]string{
		translate.KeyKey:      peerKey.PublicKey().String(),
		translate.EndpointKey: "198.51.100.2:51820", translate.InternalIPKey: "10.0.1.1/24",
		translate.LastSeenKey: "1800000000",
	})
	self := node("a", "east", "", "10.2.0.0/24", map[string]string{translate.PersistentKeepaliveKey: "ten"})
	cluster := &fakeCluster{nodes: []*corev1.Node{self, other}}
	h := &fakeHost{}
	key := wireguard.Key{7}
	a, err := New(Options{
		Self: Self{Name: "a", PrivateKey: key, InternalIP: netip.MustParsePrefix("10.0.0.1/24"),
			Endpoint: wireguard.Endpoint{Addr: netip.MustParseAddr("198.51.100.1"), Port: 51820}},
		Settings:  topology.DefaultSettings(),
		Host:      HostConfig{Interface: "kilo0", PrivateInterface: "eth0", MeshTable: 1107, EncapTable: 1108},
		Cluster:   cluster,
		Publisher: cluster,
		Data:      h,
		Now:       func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(h.applied) != 1 {
		t.Fatalf("applied %d states, want 1 on the first reconcile (before the patch round trip)", len(h.applied))
	}
	s := h.applied[0]
	if got := s.WireGuard.Interface.PrivateKey; got == nil || *got != key {
		t.Error("state lacks the private key")
	}
	if len(s.WireGuard.Peers) != 1 || s.WireGuard.Peers[0].PublicKey != peerKey.PublicKey() {
		t.Errorf("peers = %+v, want node b's location", s.WireGuard.Peers)
	}
	if got := s.Routes.Addresses["kilo0"]; len(got) != 1 || got[0] != netip.MustParsePrefix("10.4.0.1/16") {
		t.Errorf("kilo0 addresses = %v, want the leader's 10.4.0.1/16", got)
	}
	p := cluster.patches[0]
	for k, want := range map[string]string{
		translate.KeyKey: key.PublicKey().String(), translate.InternalIPKey: "10.0.0.1/24",
		translate.EndpointKey: "198.51.100.1:51820", translate.LastSeenKey: "1800000000",
		translate.GranularityKey: "location", translate.WireGuardIPKey: "10.4.0.1/16",
	} {
		if p[k] == nil || *p[k] != want {
			t.Errorf("patch %s = %v, want %q", k, p[k], want)
		}
	}
	if len(cluster.events) != 1 || !strings.Contains(cluster.events[0], "persistent-keepalive") {
		t.Errorf("events = %q, want one about the bad persistent-keepalive", cluster.events)
	}

	// A resync with nothing changed writes nothing and patches nothing.
	now = now.Add(5 * time.Second)
	if err := a.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(cluster.patches) != 1 {
		t.Errorf("second reconcile patched %v", cluster.patches[1:])
	}
	if len(cluster.events) != 1 {
		t.Errorf("the same problem was reported again: %q", cluster.events)
	}
	if n := len(h.applied); n != 2 || !sameState(h.applied[0], h.applied[1]) {
		t.Errorf("second reconcile applied a different state")
	}

	// last-seen is refreshed once it is half a resync period old.
	now = now.Add(20 * time.Second)
	a.Reconcile(context.Background())
	if len(cluster.patches) != 2 || len(cluster.patches[1]) != 1 || cluster.patches[1][translate.LastSeenKey] == nil {
		t.Errorf("want one patch refreshing only last-seen, got %v", cluster.patches[1:])
	}
}

func TestReconcileMissingNodeDoesNotApply(t *testing.T) {
	h := &fakeHost{}
	c := &fakeCluster{}
	a, _ := New(Options{Self: Self{Name: "gone"}, Settings: topology.DefaultSettings(), Cluster: c, Publisher: c, Data: h})
	if err := a.Reconcile(context.Background()); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("err = %v", err)
	}
	if len(h.applied) != 0 {
		t.Error("the data plane was touched while the node is missing from the cache")
	}
}

func TestLearnedStaysPublished(t *testing.T) {
	private := wireguard.Endpoint{Addr: netip.MustParseAddr("192.168.1.10"), Port: 51820}
	nat := netip.MustParseAddrPort("203.0.113.9:40000")
	public := netip.MustParseAddrPort("198.51.100.1:51820")
	configured := map[string]wireguard.Endpoint{
		"natted": private,
		"direct": {Addr: public.Addr(), Port: public.Port()},
	}
	seen := map[string]netip.AddrPort{"natted": nat, "direct": public, "unknown": nat}
	got := learned(seen, configured)
	if len(got) != 1 || got["natted"] != nat {
		t.Errorf("learned = %v, want only the NATed peer's endpoint", got)
	}
	// Once the mesh uses the discovered endpoint, WireGuard keeps seeing
	// it; it must stay published (compared with the announced endpoint).
	if again := learned(map[string]netip.AddrPort{"natted": nat}, configured); again["natted"] != nat {
		t.Error("the discovered endpoint was withdrawn once in use")
	}
}

// The CNI configuration follows the node's pod CIDR: written once it has
// one (often after the agent started), not rewritten while unchanged.
func TestCNIFollowsPodCIDR(t *testing.T) {
	self := node("a", "east", "", "", nil)
	c := &fakeCluster{nodes: []*corev1.Node{self}}
	var written []string
	a, err := New(Options{
		Self: Self{Name: "a", PrivateKey: wireguard.Key{7}, InternalIP: netip.MustParsePrefix("10.0.0.1/24"),
			Endpoint: wireguard.Endpoint{Addr: netip.MustParseAddr("198.51.100.1"), Port: 51820}},
		Settings: topology.DefaultSettings(), Cluster: c, Publisher: c, Data: &fakeHost{},
		WriteCNI: func(p []netip.Prefix) error { written = append(written, fmt.Sprint(p)); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	reconcile := func() {
		t.Helper()
		if err := a.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	reconcile()
	if len(written) != 0 {
		t.Fatalf("written without a pod CIDR: %v", written)
	}
	c.nodes[0].Spec.PodCIDR = "10.2.0.0/24"
	reconcile()
	reconcile()
	c.nodes[0].Spec.PodCIDRs = []string{"10.2.0.0/24", "fd00:2::/64"}
	reconcile()
	if want := []string{"[10.2.0.0/24]", "[10.2.0.0/24 fd00:2::/64]"}; !slices.Equal(written, want) {
		t.Fatalf("written %v, want %v", written, want)
	}
}

// TestStateWithoutEncapsulation: on a host that cannot encapsulate, the
// state for --encapsulate=always is exactly the one --encapsulate=never
// gives (no tunnel, no encapsulation routes or rules).
func TestStateWithoutEncapsulation(t *testing.T) {
	nodes := func() []*corev1.Node {
		var out []*corev1.Node
		for i, n := range []struct{ name, loc, ip, pod string }{
			{"a", "east", "10.0.0.1", "10.2.0.0/24"}, {"b", "east", "10.0.0.2", "10.2.1.0/24"}, {"c", "west", "10.1.0.1", "10.2.2.0/24"},
		} {
			k := wireguard.Key{0, byte(i + 1)}
			out = append(out, node(n.name, n.loc, "", n.pod, map[string]string{
				translate.KeyKey: k.PublicKey().String(), translate.InternalIPKey: n.ip + "/24",
				translate.EndpointKey: n.ip + ":51820", translate.LastSeenKey: "1800000000",
			}))
		}
		return out
	}
	hc := HostConfig{Interface: "kilo0", PrivateInterface: "eth0", Tunnel: "tunl0", MeshTable: 1107, EncapTable: 1108, EncapPriority: 1106, FirewallMark: 0x1000}
	state := func(enc topology.Encapsulation) State {
		s := topology.DefaultSettings()
		s.Encapsulate, s.Local, s.Now = enc, true, time.Unix(1_800_000_000, 0)
		m, _, err := source.Build(source.Objects{Nodes: nodes()}, source.Options{Settings: s})
		if err != nil {
			t.Fatal(err)
		}
		v, ok := m.NodeView("a")
		if !ok {
			t.Fatal("no view of a")
		}
		return Desired(m, v, wireguard.Key{0, 1}, hc)
	}
	always, never := state(topology.EncapsulateAlways), state(topology.EncapsulateNever)
	if always.Tunnel == "" {
		t.Fatal("--encapsulate=always uses no tunnel: the test proves nothing")
	}
	got := always.On(hc, Capabilities{})
	if diff := cmp.Diff(never.Routes, got.Routes, cmpopts.EquateEmpty(), cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})); diff != "" {
		t.Errorf("routes without encapsulation (-never +always on a host without ipip):\n%s", diff)
	}
	if got.Tunnel != "" {
		t.Errorf("tunnel %q, want none", got.Tunnel)
	}
	if diff := cmp.Diff(always.Routes, always.On(hc, Capabilities{Encapsulation: true}).Routes, cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})); diff != "" {
		t.Errorf("with encapsulation the state must not change:\n%s", diff)
	}
}
