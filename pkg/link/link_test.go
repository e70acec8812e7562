package link

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/source"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

func node(name, location, internal, pod string, key byte, endpoint string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name,
		Labels: map[string]string{translate.DefaultTopologyLabel: location},
		Annotations: map[string]string{
			translate.KeyKey:        wireguard.Key{0, key}.PublicKey().String(),
			translate.InternalIPKey: internal,
		}}}
	if endpoint != "" {
		n.Annotations[translate.EndpointKey] = endpoint
	}
	n.Spec.PodCIDR = pod
	return n
}

func mesh(t *testing.T, subnet string, nodes ...*corev1.Node) *topology.Mesh {
	t.Helper()
	s := topology.DefaultSettings()
	s.Subnet = netip.MustParsePrefix(subnet)
	m, _, err := source.Build(source.Objects{Nodes: nodes}, source.Options{Settings: s})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// clusterA has two locations; the Peers for cluster B carry each
// location's pods, internal IPs and WireGuard IP, plus A's service CIDR.
func clusterA(t *testing.T) *topology.Mesh {
	return mesh(t, "10.4.0.0/16",
		node("a1", "east", "10.80.1.11/24", "10.2.1.0/24", 1, "10.80.1.11:51820"),
		node("a2", "east", "10.80.1.12/24", "10.2.2.0/24", 2, "10.80.1.12:51820"),
		node("a3", "West_2", "10.80.2.11/24", "10.2.3.0/24", 3, "10.80.2.11:51820"),
	)
}

func TestPeers(t *testing.T) {
	got := Peers("ab", clusterA(t), []netip.Prefix{netip.MustParsePrefix("10.96.0.0/24")})
	var summary []string
	for _, p := range got {
		summary = append(summary, p.Name+" "+p.Labels[LabelKey]+" "+p.Spec.Endpoint.IP+" "+strings.Join(p.Spec.AllowedIPs, ","))
	}
	want := []string{
		"ab-east ab 10.80.1.11 10.2.1.0/24,10.80.1.11/32,10.2.2.0/24,10.80.1.12/32,10.4.0.2/32",
		// The first segment (Kilo's order) carries the service CIDR.
		"ab-west-2 ab 10.80.2.11 10.2.3.0/24,10.80.2.11/32,10.4.0.1/32,10.96.0.0/24",
	}
	if diff := cmp.Diff(want, summary); diff != "" {
		t.Errorf("peers (-want +got):\n%s", diff)
	}
}

// The service CIDRs of a cluster of two locations are routed once: the
// other mesh takes both Peers.
func TestCheckTakesServiceCIDRs(t *testing.T) {
	b := source.Objects{Nodes: []*corev1.Node{node("b1", "north", "10.81.1.11/24", "10.3.1.0/24", 5, "10.81.1.11:51820")}}
	s := topology.DefaultSettings()
	s.Subnet = netip.MustParsePrefix("10.6.0.0/16")
	peers := Peers("ab", clusterA(t), []netip.Prefix{netip.MustParsePrefix("10.96.0.0/12")})
	if err := Check(b, source.Options{Settings: s}, peers); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func peer(name, link string, allowed ...string) *v1alpha1.Peer {
	p := &v1alpha1.Peer{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: "7"}}
	if link != "" {
		p.Labels = map[string]string{LabelKey: link}
	}
	p.Spec.AllowedIPs = allowed
	return p
}

func TestDiff(t *testing.T) {
	tests := map[string]struct {
		want, have []*v1alpha1.Peer
		changes    []string
		err        string
	}{
		"first link creates":  {want: []*v1alpha1.Peer{peer("ab-east", "ab", "10.2.1.0/24")}, changes: []string{"create ab-east"}},
		"re-run changes none": {want: []*v1alpha1.Peer{peer("ab-east", "ab", "10.2.1.0/24")}, have: []*v1alpha1.Peer{peer("ab-east", "ab", "10.2.1.0/24")}, changes: []string{"unchanged ab-east"}},
		"a changed location updates, a gone one is deleted, others' peers stay": {
			want:    []*v1alpha1.Peer{peer("ab-east", "ab", "10.2.9.0/24")},
			have:    []*v1alpha1.Peer{peer("ab-east", "ab", "10.2.1.0/24"), peer("ab-west", "ab", "10.2.3.0/24"), peer("laptop", ""), peer("cd-east", "cd")},
			changes: []string{"update ab-east", "delete ab-west"},
		},
		"delete removes exactly the link's": {
			have:    []*v1alpha1.Peer{peer("ab-east", "ab"), peer("laptop", ""), peer("cd-east", "cd")},
			changes: []string{"delete ab-east"},
		},
		"a name held by someone else's peer is refused": {
			want: []*v1alpha1.Peer{peer("ab-east", "ab")}, have: []*v1alpha1.Peer{peer("ab-east", "")},
			err: `Peer "ab-east" exists and was not created by link "ab"`,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			cs, err := Diff("ab", tt.want, tt.have)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range cs {
				got = append(got, string(c.Action)+" "+c.Peer.Name)
			}
			if diff := cmp.Diff(tt.changes, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
}

// Apply against a fake API: the link's Peers appear, a second run finds
// nothing to do, and removing the link leaves the other Peers.
func TestApplyIdempotent(t *testing.T) {
	scheme := runtime.NewScheme()
	gvk := schema.GroupVersionKind{Group: v1alpha1.PeerGVR.Group, Version: v1alpha1.PeerGVR.Version, Kind: "Peer"}
	scheme.AddKnownTypeWithName(gvk, &v1alpha1.Peer{})
	scheme.AddKnownTypeWithName(gvk.GroupVersion().WithKind("PeerList"), &v1alpha1.PeerList{})
	laptop := peer("laptop", "", "10.5.0.1/32")
	laptop.APIVersion, laptop.Kind, laptop.ResourceVersion = v1alpha1.SchemeGroupVersion.String(), "Peer", ""
	laptop.Spec.PublicKey = wireguard.Key{0, 42}.PublicKey().String()
	dc := dynamicfake.NewSimpleDynamicClient(scheme, laptop)
	res := dc.Resource(v1alpha1.PeerGVR)
	ctx := context.Background()
	want := Peers("ab", clusterA(t), nil)
	run := func(want []*v1alpha1.Peer) []Change {
		t.Helper()
		have, err := source.KubePeers(ctx, dc)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := Diff("ab", want, have)
		if err != nil {
			t.Fatal(err)
		}
		if err := Apply(ctx, res, cs, false); err != nil {
			t.Fatal(err)
		}
		return cs
	}
	if cs := run(want); !Changed(cs) || len(cs) != 2 {
		t.Fatalf("first run: %v", cs)
	}
	if cs := run(want); Changed(cs) {
		t.Errorf("second run changed something: %+v", cs)
	}
	run(nil)
	have, _ := source.KubePeers(ctx, dc)
	if len(have) != 1 || have[0].Name != "laptop" {
		t.Errorf("after removing the link the cluster has %d peers, want only laptop", len(have))
	}
}

func TestCheckRefusesOverlap(t *testing.T) {
	// Cluster B uses A's WireGuard subnet: A's WireGuard IPs would take it over.
	b := source.Objects{Nodes: []*corev1.Node{node("b1", "north", "10.81.1.11/24", "10.3.1.0/24", 5, "10.81.1.11:51820")}}
	peers := Peers("ab", clusterA(t), nil)
	s := topology.DefaultSettings()
	if err := Check(b, source.Options{Settings: s}, peers); err == nil || !strings.Contains(err.Error(), "ab-east") {
		t.Errorf("Check with the same WireGuard subnet = %v, want an error naming Peer ab-east", err)
	}
	s.Subnet = netip.MustParsePrefix("10.6.0.0/16")
	if err := Check(b, source.Options{Settings: s}, peers); err != nil {
		t.Errorf("Check with distinct subnets: %v", err)
	}
}
