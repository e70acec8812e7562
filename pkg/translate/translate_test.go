package translate

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

const pub = "0cB+5fOn1uuZ0/hl87NQd8C5s3cJZUXBB9RzMvt9ljs="

func node(labels, ann map[string]string, pod string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: labels, Annotations: ann},
		Spec:       corev1.NodeSpec{PodCIDR: pod},
	}
}

// ready is what an agent publishes for a healthy node.
func ready(extra map[string]string) map[string]string {
	a := map[string]string{
		KeyKey:        pub,
		EndpointKey:   "198.51.100.1:51820",
		InternalIPKey: "10.0.0.5/24",
	}
	for k, v := range extra {
		a[k] = v
	}
	return a
}

func TestNode(t *testing.T) {
	k, _ := wireguard.ParseKey(pub)
	region := map[string]string{DefaultTopologyLabel: "eu"}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		ann    map[string]string
		opts   NodeOptions
		check  func(*testing.T, topology.Node)
		// problems as "severity field value"; ok is whether the node joins.
		problems []string
		notOK    bool
	}{
		{name: "published state", labels: region, ann: ready(nil), check: func(t *testing.T, n topology.Node) {
			want := topology.Node{Name: "n1", Location: "eu", Key: k,
				Endpoint:   wireguard.Endpoint{Addr: netip.MustParseAddr("198.51.100.1"), Port: 51820},
				InternalIP: netip.MustParsePrefix("10.0.0.5/24"), PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.2.0.0/24")}}
			if d := cmp.Diff(want, n, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		}},
		{name: "location annotation beats the label", labels: region, ann: ready(map[string]string{LocationKey: "home"}), check: func(t *testing.T, n topology.Node) {
			if n.Location != "home" {
				t.Errorf("location %q", n.Location)
			}
		}},
		{name: "custom topology label", labels: map[string]string{"example.com/site": "lab"}, ann: ready(nil), opts: NodeOptions{TopologyLabel: "example.com/site"}, check: func(t *testing.T, n topology.Node) {
			if n.Location != "lab" {
				t.Errorf("location %q", n.Location)
			}
		}},
		{name: "leader annotation, any value", ann: ready(map[string]string{LeaderKey: ""}), check: func(t *testing.T, n topology.Node) {
			if !n.Leader {
				t.Error("not leader")
			}
		}},
		// Kilo: the annotation's presence asks, "false" too (a warning).
		{name: "leader false", ann: ready(map[string]string{LeaderKey: " False "}), check: func(t *testing.T, n topology.Node) {
			if !n.Leader {
				t.Error("not leader")
			}
		}, problems: []string{"warning kilo.squat.ai/leader  False "}},
		{name: "force-endpoint IPv6", ann: ready(map[string]string{ForceEndpointKey: "[2001:db8::7]:51821"}), check: func(t *testing.T, n topology.Node) {
			if n.Endpoint.String() != "[2001:db8::7]:51821" {
				t.Errorf("endpoint %s", n.Endpoint)
			}
		}},
		{name: "force-endpoint DNS", ann: ready(map[string]string{ForceEndpointKey: "Lab.Example.org:51820"}), check: func(t *testing.T, n topology.Node) {
			if n.Endpoint.DNS != "lab.example.org" {
				t.Errorf("endpoint %+v", n.Endpoint)
			}
		}},
		{name: "bad force-endpoint falls back to the published one", ann: ready(map[string]string{ForceEndpointKey: "lab.example.org"}),
			problems: []string{"error kilo.squat.ai/force-endpoint lab.example.org"},
			check: func(t *testing.T, n topology.Node) {
				if n.Endpoint.String() != "198.51.100.1:51820" {
					t.Errorf("endpoint %s", n.Endpoint)
				}
			}},
		{name: "bad published endpoint leaves the node out", ann: ready(map[string]string{EndpointKey: "nope"}),
			problems: []string{"error kilo.squat.ai/endpoint nope"}, notOK: true},
		{name: "bad key leaves the node out", ann: ready(map[string]string{KeyKey: "short"}),
			problems: []string{"error kilo.squat.ai/key short"}, notOK: true},
		{name: "no key yet is not a problem here", ann: map[string]string{}, check: func(t *testing.T, n topology.Node) {
			if n.Key != (wireguard.Key{}) {
				t.Error("key set")
			}
		}},
		{name: "force-internal-ip", ann: ready(map[string]string{ForceInternalIPKey: "192.168.1.10/24"}), check: func(t *testing.T, n topology.Node) {
			if n.InternalIP.String() != "192.168.1.10/24" {
				t.Errorf("internal IP %s", n.InternalIP)
			}
		}},
		{name: "force-internal-ip bare address", ann: ready(map[string]string{ForceInternalIPKey: "192.168.1.10"}), check: func(t *testing.T, n topology.Node) {
			if n.InternalIP.String() != "192.168.1.10/32" {
				t.Errorf("internal IP %s", n.InternalIP)
			}
		}},
		{name: "force-internal-ip - disables", ann: ready(map[string]string{ForceInternalIPKey: "-"}), check: func(t *testing.T, n topology.Node) {
			if n.InternalIP.IsValid() {
				t.Errorf("internal IP %s", n.InternalIP)
			}
		}},
		{name: "force-internal-ip empty disables", ann: ready(map[string]string{ForceInternalIPKey: ""}), check: func(t *testing.T, n topology.Node) {
			if n.InternalIP.IsValid() {
				t.Errorf("internal IP %s", n.InternalIP)
			}
		}},
		{name: "bad force-internal-ip falls back", ann: ready(map[string]string{ForceInternalIPKey: "10.0.0.300/24"}),
			problems: []string{"error kilo.squat.ai/force-internal-ip 10.0.0.300/24"},
			check: func(t *testing.T, n topology.Node) {
				if n.InternalIP.String() != "10.0.0.5/24" {
					t.Errorf("internal IP %s", n.InternalIP)
				}
			}},
		{name: "persistent keepalive", ann: ready(map[string]string{PersistentKeepaliveKey: "25"}), check: func(t *testing.T, n topology.Node) {
			if n.PersistentKeepalive != 25*time.Second {
				t.Errorf("keepalive %s", n.PersistentKeepalive)
			}
		}},
		{name: "bad keepalive ignored", ann: ready(map[string]string{PersistentKeepaliveKey: "-5"}),
			problems: []string{"error kilo.squat.ai/persistent-keepalive -5"}},
		{name: "keepalive not a number", ann: ready(map[string]string{PersistentKeepaliveKey: "10s"}),
			problems: []string{"error kilo.squat.ai/persistent-keepalive 10s"}},
		{name: "allowed location IPs, one bad", ann: ready(map[string]string{AllowedLocationIPsKey: "10.10.0.0/16, 192.168.5.9/24,nope"}),
			problems: []string{"error kilo.squat.ai/allowed-location-ips nope"},
			check: func(t *testing.T, n topology.Node) {
				if got := prefixes(n.AllowedLocationIPs); got != "10.10.0.0/16 192.168.5.0/24" {
					t.Errorf("allowed location IPs %s", got)
				}
			}},
		{name: "last seen in Unix seconds", ann: ready(map[string]string{LastSeenKey: "1700000000"}), check: func(t *testing.T, n topology.Node) {
			if !n.LastSeen.Equal(time.Unix(1700000000, 0)) {
				t.Errorf("last seen %s", n.LastSeen)
			}
		}},
		{name: "bad last seen", ann: ready(map[string]string{LastSeenKey: "yesterday"}),
			problems: []string{"error kilo.squat.ai/last-seen yesterday"}},
		{name: "granularity", ann: ready(map[string]string{GranularityKey: "full"}), check: func(t *testing.T, n topology.Node) {
			if n.Granularity != topology.FullGranularity {
				t.Errorf("granularity %q", n.Granularity)
			}
		}},
		{name: "unknown granularity is a warning", ann: ready(map[string]string{GranularityKey: "region"}),
			problems: []string{"warning kilo.squat.ai/granularity region"}},
		{name: "discovered endpoints as Kilo writes them", ann: ready(map[string]string{DiscoveredEndpointsKey: `{"` + pub + `":{"IP":"203.0.113.9","Port":40000,"Zone":""}}`}),
			check: func(t *testing.T, n topology.Node) {
				if got := n.DiscoveredEndpoints[k]; got.String() != "203.0.113.9:40000" {
					t.Errorf("discovered %v", n.DiscoveredEndpoints)
				}
			}},
		{name: "discovered endpoints not JSON", ann: ready(map[string]string{DiscoveredEndpointsKey: "{"}),
			problems: []string{"warning kilo.squat.ai/discovered-endpoints {"}},
		{name: "bad pod CIDR", ann: ready(nil), problems: []string{"error spec.podCIDR 10.2.0.0/33"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := "10.2.0.0/24"
			if tc.name == "bad pod CIDR" {
				pod = "10.2.0.0/33"
			}
			n, ps, ok := Node(node(tc.labels, tc.ann, pod), tc.opts)
			var got []string
			for _, p := range ps {
				if p.Kind != "Node" || p.Name != "n1" || p.Message == "" {
					t.Errorf("problem does not name the node: %+v", p)
				}
				got = append(got, strings.ToLower(string(p.Severity))+" "+p.Field+" "+p.Value)
			}
			if d := cmp.Diff(tc.problems, got); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
			if ok == tc.notOK {
				t.Errorf("ok = %v", ok)
			}
			if tc.check != nil {
				tc.check(t, n)
			}
		})
	}
}

func TestPodCIDRs(t *testing.T) {
	n := node(nil, nil, "10.2.0.0/24")
	n.Spec.PodCIDRs = []string{"10.2.0.0/24", "fd00:2::/64", "bad"}
	got, ps, _ := Node(n, NodeOptions{})
	if prefixes(got.PodCIDRs) != "10.2.0.0/24 fd00:2::/64" {
		t.Errorf("pod CIDRs %v", got.PodCIDRs)
	}
	if len(ps) != 1 || ps[0].Field != "spec.podCIDRs[2]" {
		t.Errorf("problems %v", ps)
	}
}

func prefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}

func TestPeer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		spec     v1alpha1.PeerSpec
		problems []string // fields
		notOK    bool
	}{
		{name: "valid", spec: v1alpha1.PeerSpec{PublicKey: pub, AllowedIPs: []string{"10.5.0.1/32"}, PersistentKeepalive: 10}},
		{name: "bad public key", spec: v1alpha1.PeerSpec{PublicKey: "x", AllowedIPs: []string{"10.5.0.1/32"}}, problems: []string{"spec.publicKey"}, notOK: true},
		{name: "bad preshared key", spec: v1alpha1.PeerSpec{PublicKey: pub, PresharedKey: "secret-value"}, problems: []string{"spec.presharedKey"}, notOK: true},
		{name: "bad allowed IP dropped", spec: v1alpha1.PeerSpec{PublicKey: pub, AllowedIPs: []string{"10.5.0.1/32", "nope"}}, problems: []string{"spec.allowedIPs[1]"}},
		{name: "endpoint ip and dns", spec: v1alpha1.PeerSpec{PublicKey: pub, Endpoint: &v1alpha1.PeerEndpoint{DNSOrIP: v1alpha1.DNSOrIP{IP: "1.2.3.4", DNS: "a.example"}, Port: 1}}, problems: []string{"spec.endpoint.dnsOrIP"}},
		{name: "endpoint port 0", spec: v1alpha1.PeerSpec{PublicKey: pub, Endpoint: &v1alpha1.PeerEndpoint{DNSOrIP: v1alpha1.DNSOrIP{IP: "1.2.3.4"}}}, problems: []string{"spec.endpoint.port"}},
		{name: "endpoint bad ip", spec: v1alpha1.PeerSpec{PublicKey: pub, Endpoint: &v1alpha1.PeerEndpoint{DNSOrIP: v1alpha1.DNSOrIP{IP: "1.2.3"}, Port: 51820}}, problems: []string{"spec.endpoint.dnsOrIP.ip"}},
		{name: "keepalive out of range", spec: v1alpha1.PeerSpec{PublicKey: pub, PersistentKeepalive: 70000}, problems: []string{"spec.persistentKeepalive"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &v1alpha1.Peer{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: tc.spec}
			_, ps, ok := Peer(in)
			var got []string
			for _, p := range ps {
				got = append(got, p.Field)
				if strings.Contains(p.String(), "secret-value") {
					t.Errorf("a preshared key is echoed: %s", p)
				}
			}
			if d := cmp.Diff(tc.problems, got); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
			if ok == tc.notOK {
				t.Errorf("ok = %v", ok)
			}
		})
	}
}

// PeerResource is the inverse of Peer.
func TestPeerResourceRoundTrip(t *testing.T) {
	k, _ := wireguard.ParseKey(pub)
	psk := k
	for _, wp := range []wireguard.Peer{
		{PublicKey: k, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.5.0.1/32")}},
		{PublicKey: k, PresharedKey: &psk, PersistentKeepalive: 25 * time.Second,
			Endpoint:   wireguard.Endpoint{Addr: netip.MustParseAddr("2001:db8::1"), Port: 51820},
			AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.5.0.2/32"), netip.MustParsePrefix("192.168.100.0/24")}},
		{PublicKey: k, Endpoint: wireguard.Endpoint{DNS: "gw.example.org", Port: 51820}, AllowedIPs: []netip.Prefix{}},
	} {
		res := PeerResource("p", wp)
		if res.APIVersion != "kilo.squat.ai/v1alpha1" || res.Kind != "Peer" || res.Name != "p" {
			t.Fatalf("type meta: %+v", res.TypeMeta)
		}
		back, ps, ok := Peer(res)
		if !ok || len(ps) > 0 {
			t.Fatalf("%v %v", ok, ps)
		}
		wp.Name = "p"
		if back.PublicKey != wp.PublicKey || back.Endpoint != wp.Endpoint || back.PersistentKeepalive != wp.PersistentKeepalive ||
			prefixes(back.AllowedIPs) != prefixes(wp.AllowedIPs) || (back.PresharedKey == nil) != (wp.PresharedKey == nil) {
			t.Errorf("round trip:\n got %+v\nwant %+v", back, wp)
		}
	}
}
