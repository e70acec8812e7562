package translate

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// FuzzNode: any Node annotations give a node whose addresses are usable
// (no zone, masked CIDRs, endpoints that round-trip), within the limits,
// with every problem naming this node and a field it read, and echoing no
// more than the limit.
func FuzzNode(f *testing.F) {
	// Kilo's annotation examples (docs/annotations.md) and hostile ones.
	f.Add(nodeKey, "198.51.100.1:51820", "", "10.0.0.5/24", "", "10.10.0.0/16, 192.168.0.0/24",
		`{"`+otherKey+`":{"IP":"203.0.113.7","Port":51820}}`, "25", "1700000000", "location", "true", "gcp", "10.2.0.0/24")
	f.Add("", "[fc00::1]:51820", "node.example.com:51820", "", "-", "", "", "", "", "full", "false", "", "fd00::/64")
	f.Add("short", "0.0.0.0.:1", "[fe80::1%eth0]:1", "fe80::1%eth0/64", "10.1.1.1", "0.0.0.0/0,::/0,x",
		`{"`+otherKey+`":{"IP":"fe80::1%eth0","Port":1}}`, "-1", "x", "cross", "", "", "bad")
	f.Fuzz(func(t *testing.T, key, ep, forceEP, ip, forceIP, allowed, discovered, keepalive, lastSeen, gran, leader, loc, podCIDR string) {
		a := map[string]string{}
		for k, v := range map[string]string{KeyKey: key, EndpointKey: ep, ForceEndpointKey: forceEP, InternalIPKey: ip,
			ForceInternalIPKey: forceIP, AllowedLocationIPsKey: allowed, DiscoveredEndpointsKey: discovered,
			PersistentKeepaliveKey: keepalive, LastSeenKey: lastSeen, GranularityKey: gran, LeaderKey: leader, LocationKey: loc} {
			if v != "" {
				a[k] = v
			}
		}
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "fuzz", Annotations: a}, Spec: corev1.NodeSpec{PodCIDR: podCIDR}}
		got, probs, _ := Node(n, NodeOptions{})
		checkEndpoint(t, got.Endpoint)
		if got.InternalIP.IsValid() && (got.InternalIP.Addr().Zone() != "" || got.InternalIP.Addr().Is4In6()) {
			t.Errorf("internal IP %v has a zone or 4-in-6 form", got.InternalIP)
		}
		if len(got.AllowedLocationIPs) > MaxAllowedLocationIPs || len(got.DiscoveredEndpoints) > MaxDiscoveredEndpoints {
			t.Errorf("over the limits: %d allowed location IPs, %d discovered", len(got.AllowedLocationIPs), len(got.DiscoveredEndpoints))
		}
		for _, c := range append(got.AllowedLocationIPs, got.PodCIDRs...) {
			if c != c.Masked() {
				t.Errorf("CIDR %v not masked", c)
			}
		}
		for _, ap := range got.DiscoveredEndpoints {
			if ap.Addr().Zone() != "" || ap.Port() == 0 {
				t.Errorf("discovered endpoint %v has a zone or no port", ap)
			}
		}
		for _, p := range probs {
			if p.Kind != "Node" || p.Name != "fuzz" || p.Message == "" {
				t.Errorf("problem does not name the node: %+v", p)
			}
			if _, read := a[p.Field]; !read && !strings.HasPrefix(p.Field, "spec.podCIDR") {
				t.Errorf("problem names field %q, which was not set", p.Field)
			}
			if strings.HasPrefix(p.Field, AnnotationPrefix) && len(p.Value) > maxBytes(p.Field) {
				t.Errorf("problem on %s echoes %d bytes", p.Field, len(p.Value))
			}
		}
	})
}

func checkEndpoint(t *testing.T, e wireguard.Endpoint) {
	t.Helper()
	if e.IsZero() {
		return
	}
	if e.Addr.Zone() != "" {
		t.Errorf("endpoint %v has a zone", e)
	}
	again, err := wireguard.ParseEndpoint(e.String())
	if err != nil || again != e {
		t.Errorf("endpoint %+v: %q parses as %+v, %v", e, e.String(), again, err)
	}
}

// FuzzPeer: a Peer spec gives a peer whose endpoint has no zone and
// round-trips, and whose accepted fields survive PeerResource and back.
func FuzzPeer(f *testing.F) {
	f.Add(nodeKey, "", "10.5.0.1/32,10.5.0.2/32", "203.0.113.5", "", int32(51820), 10)
	f.Add(otherKey, thirdKey, "fd00::5/128", "", "vpn.example.com", int32(51820), 0)
	f.Add(nodeKey, "", "10.5.0.1/32", "fe80::1%eth0", "", int32(51820), 0)
	f.Add(nodeKey, "", "10.5.0.1/32", "", "fe80::1%eth0", int32(1), 0)
	f.Add(nodeKey, "", "", "<nil>", "", int32(0), -1)
	f.Add("x", "y", "bad", "1.2.3.4", "a.b", int32(70000), 70000)
	f.Fuzz(func(t *testing.T, pub, psk, allowed, ip, dns string, port int32, keepalive int) {
		in := &v1alpha1.Peer{ObjectMeta: metav1.ObjectMeta{Name: "fuzz"}, Spec: v1alpha1.PeerSpec{
			PublicKey: pub, PresharedKey: psk, PersistentKeepalive: keepalive,
			Endpoint: &v1alpha1.PeerEndpoint{DNSOrIP: v1alpha1.DNSOrIP{IP: ip, DNS: dns}, Port: port},
		}}
		if allowed != "" {
			in.Spec.AllowedIPs = strings.Split(allowed, ",")
		}
		got, probs, ok := Peer(in)
		checkEndpoint(t, got.Endpoint)
		for _, p := range probs {
			if p.Kind != "Peer" || p.Name != "fuzz" || !strings.HasPrefix(p.Field, "spec.") {
				t.Errorf("problem does not name the peer and a spec field: %+v", p)
			}
			if p.Field == "spec.presharedKey" && p.Value != "" {
				t.Errorf("problem echoes the preshared key")
			}
		}
		if !ok {
			return
		}
		wp := wireguard.Peer{PublicKey: got.PublicKey, PresharedKey: got.PresharedKey, Endpoint: got.Endpoint,
			AllowedIPs: got.AllowedIPs, PersistentKeepalive: got.PersistentKeepalive}
		back, probs, ok := Peer(PeerResource("fuzz", wp))
		if !ok || len(probs) != 0 {
			t.Fatalf("PeerResource of an accepted peer is refused: %v", probs)
		}
		back.CreationTimestamp, got.CreationTimestamp = time.Time{}, time.Time{}
		if diff := cmp.Diff(got, back, cmpNet...); diff != "" {
			t.Errorf("Peer -> PeerResource -> Peer (-first +again):\n%s", diff)
		}
	})
}

// A Peer's endpoint with an IPv6 zone is refused in either field, as a
// Node's is: the zone names an interface on the writer's machine.
func TestPeerEndpointZone(t *testing.T) {
	for _, c := range []struct{ ip, dns, field string }{
		{"fe80::1%eth0", "", "spec.endpoint.dnsOrIP.ip"},
		{"", "fe80::1%eth0", "spec.endpoint.dnsOrIP.dns"},
	} {
		in := &v1alpha1.Peer{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: v1alpha1.PeerSpec{PublicKey: nodeKey,
			Endpoint: &v1alpha1.PeerEndpoint{DNSOrIP: v1alpha1.DNSOrIP{IP: c.ip, DNS: c.dns}, Port: 51820}}}
		got, probs, ok := Peer(in)
		if !ok || !got.Endpoint.IsZero() || len(probs) != 1 || probs[0].Field != c.field {
			t.Errorf("ip %q dns %q: ok %v, endpoint %v, problems %+v; want the endpoint refused on %s", c.ip, c.dns, ok, got.Endpoint, probs, c.field)
		}
	}
}
