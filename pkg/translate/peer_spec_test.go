package translate

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

func peerProblem(field, value string) topology.Problem {
	return topology.Problem{Severity: topology.Error, Kind: "Peer", Name: "laptop", Field: field, Value: value}
}

func ipEndpoint(ip string, port int32) *v1alpha1.PeerEndpoint {
	return &v1alpha1.PeerEndpoint{DNSOrIP: v1alpha1.DNSOrIP{IP: ip}, Port: port}
}

func dnsEndpoint(dns string, port int32) *v1alpha1.PeerEndpoint {
	return &v1alpha1.PeerEndpoint{DNSOrIP: v1alpha1.DNSOrIP{DNS: dns}, Port: port}
}

func TestPeerSpec(t *testing.T) {
	pub, psk := mustKey(t, nodeKey), mustKey(t, otherKey)
	// The Peer from docs/vpn.md, with every optional field set.
	base := func() v1alpha1.PeerSpec {
		return v1alpha1.PeerSpec{
			AllowedIPs:          []string{"10.5.0.1/32"},
			PublicKey:           nodeKey,
			PresharedKey:        otherKey,
			Endpoint:            ipEndpoint("203.0.113.20", 51820),
			PersistentKeepalive: 10,
		}
	}
	baseWant := func() topology.Peer {
		return topology.Peer{
			Name:                "laptop",
			PublicKey:           pub,
			PresharedKey:        &psk,
			Endpoint:            wireguard.Endpoint{Addr: netip.MustParseAddr("203.0.113.20"), Port: 51820},
			AllowedIPs:          pfx("10.5.0.1/32"),
			PersistentKeepalive: 10 * time.Second,
		}
	}
	for _, tc := range []struct {
		name     string
		spec     func(*v1alpha1.PeerSpec)
		want     func(*topology.Peer)
		problems []topology.Problem
		notOK    bool
	}{
		{name: "valid"},
		{name: "minimal (docs/vpn.md without endpoint or keys)", spec: func(s *v1alpha1.PeerSpec) {
			s.PresharedKey, s.Endpoint, s.PersistentKeepalive = "", nil, 0
		}, want: func(p *topology.Peer) {
			p.PresharedKey, p.Endpoint, p.PersistentKeepalive = nil, wireguard.Endpoint{}, 0
		}},

		// keys
		{name: "bad public key", spec: func(s *v1alpha1.PeerSpec) { s.PublicKey = "not-a-key" },
			want:     func(p *topology.Peer) { p.PublicKey = wireguard.Key{} },
			problems: []topology.Problem{peerProblem("spec.publicKey", "not-a-key")}, notOK: true},
		{name: "missing public key", spec: func(s *v1alpha1.PeerSpec) { s.PublicKey = "" },
			want:     func(p *topology.Peer) { p.PublicKey = wireguard.Key{} },
			problems: []topology.Problem{peerProblem("spec.publicKey", "")}, notOK: true},
		{name: "bad preshared key is not echoed", spec: func(s *v1alpha1.PeerSpec) { s.PresharedKey = "c2VjcmV0LXByZXNoYXJlZC1rZXk=" },
			want:     func(p *topology.Peer) { p.PresharedKey = &wireguard.Key{} },
			problems: []topology.Problem{peerProblem("spec.presharedKey", "")}, notOK: true},
		{name: "both keys bad", spec: func(s *v1alpha1.PeerSpec) { s.PublicKey, s.PresharedKey = "x", "s3cret-psk" },
			want: func(p *topology.Peer) { p.PublicKey, p.PresharedKey = wireguard.Key{}, &wireguard.Key{} },
			problems: []topology.Problem{
				peerProblem("spec.publicKey", "x"),
				peerProblem("spec.presharedKey", ""),
			}, notOK: true},

		// allowed IPs
		{name: "allowed IPs IPv4 and IPv6",
			spec: func(s *v1alpha1.PeerSpec) {
				s.AllowedIPs = []string{"10.5.0.1/32", "fd00:5::1/128", "192.168.100.0/24"}
			},
			want: func(p *topology.Peer) { p.AllowedIPs = pfx("10.5.0.1/32", "fd00:5::1/128", "192.168.100.0/24") }},
		{name: "allowed IPs are masked", spec: func(s *v1alpha1.PeerSpec) { s.AllowedIPs = []string{"192.168.100.7/24"} },
			want: func(p *topology.Peer) { p.AllowedIPs = pfx("192.168.100.0/24") }},
		{name: "bad allowed IPs dropped, each named by index", spec: func(s *v1alpha1.PeerSpec) {
			s.AllowedIPs = []string{"10.5.0.1", "10.5.0.2/32", "home", "10.5.0.3/33"}
		}, want: func(p *topology.Peer) { p.AllowedIPs = pfx("10.5.0.2/32") },
			problems: []topology.Problem{
				peerProblem("spec.allowedIPs[0]", "10.5.0.1"),
				peerProblem("spec.allowedIPs[2]", "home"),
				peerProblem("spec.allowedIPs[3]", "10.5.0.3/33"),
			}},
		// The engine, not translation, refuses a peer with no allowed IPs.
		{name: "no allowed IPs", spec: func(s *v1alpha1.PeerSpec) { s.AllowedIPs = nil },
			want: func(p *topology.Peer) { p.AllowedIPs = nil }},

		// endpoint
		{name: "endpoint IPv6", spec: func(s *v1alpha1.PeerSpec) { s.Endpoint = ipEndpoint("2001:db8::20", 51821) },
			want: func(p *topology.Peer) {
				p.Endpoint = wireguard.Endpoint{Addr: netip.MustParseAddr("2001:db8::20"), Port: 51821}
			}},
		{name: "endpoint IPv4-mapped is unmapped", spec: func(s *v1alpha1.PeerSpec) { s.Endpoint = ipEndpoint("::ffff:203.0.113.20", 51820) }},
		{name: "endpoint DNS", spec: func(s *v1alpha1.PeerSpec) { s.Endpoint = dnsEndpoint("Laptop.Example.org", 51820) },
			want: func(p *topology.Peer) { p.Endpoint = wireguard.Endpoint{DNS: "laptop.example.org", Port: 51820} }},
		{name: "endpoint DNS holding an IP is an IP", spec: func(s *v1alpha1.PeerSpec) { s.Endpoint = dnsEndpoint("203.0.113.20", 51820) }},
		{name: "endpoint highest port", spec: func(s *v1alpha1.PeerSpec) { s.Endpoint = ipEndpoint("203.0.113.20", 65535) },
			want: func(p *topology.Peer) { p.Endpoint.Port = 65535 }},
		{name: "endpoint with both ip and dns", spec: func(s *v1alpha1.PeerSpec) {
			s.Endpoint = &v1alpha1.PeerEndpoint{DNSOrIP: v1alpha1.DNSOrIP{IP: "203.0.113.20", DNS: "laptop.example.org"}, Port: 51820}
		}, want: func(p *topology.Peer) { p.Endpoint = wireguard.Endpoint{} },
			problems: []topology.Problem{peerProblem("spec.endpoint.dnsOrIP", "ip 203.0.113.20, dns laptop.example.org")}},
		{name: "endpoint with neither ip nor dns", spec: func(s *v1alpha1.PeerSpec) { s.Endpoint = &v1alpha1.PeerEndpoint{Port: 51820} },
			want:     func(p *topology.Peer) { p.Endpoint = wireguard.Endpoint{} },
			problems: []topology.Problem{peerProblem("spec.endpoint.dnsOrIP", "")}},
		{name: "endpoint port 0", spec: func(s *v1alpha1.PeerSpec) { s.Endpoint = ipEndpoint("203.0.113.20", 0) },
			want:     func(p *topology.Peer) { p.Endpoint = wireguard.Endpoint{} },
			problems: []topology.Problem{peerProblem("spec.endpoint.port", "0")}},
		{name: "endpoint port -1 (Kilo's CRD admits it)", spec: func(s *v1alpha1.PeerSpec) { s.Endpoint = ipEndpoint("203.0.113.20", -1) },
			want:     func(p *topology.Peer) { p.Endpoint = wireguard.Endpoint{} },
			problems: []topology.Problem{peerProblem("spec.endpoint.port", "-1")}},
		// Kilo's kgctl showconf peer --as-peer -o yaml prints a peer
		// without an endpoint so: not an error, the peer simply roams.
		{name: "Kilo's printed empty endpoint", spec: func(s *v1alpha1.PeerSpec) { s.Endpoint = ipEndpoint("<nil>", 0) },
			want: func(p *topology.Peer) { p.Endpoint = wireguard.Endpoint{} },
			problems: []topology.Problem{{Severity: topology.Warning, Kind: "Peer", Name: "laptop",
				Field: "spec.endpoint", Value: "<nil>:0"}}},
		{name: "empty endpoint", spec: func(s *v1alpha1.PeerSpec) { s.Endpoint = &v1alpha1.PeerEndpoint{} },
			want: func(p *topology.Peer) { p.Endpoint = wireguard.Endpoint{} },
			problems: []topology.Problem{{Severity: topology.Warning, Kind: "Peer", Name: "laptop",
				Field: "spec.endpoint", Value: ":0"}}},
		{name: "endpoint port 65536", spec: func(s *v1alpha1.PeerSpec) { s.Endpoint = ipEndpoint("203.0.113.20", 65536) },
			want:     func(p *topology.Peer) { p.Endpoint = wireguard.Endpoint{} },
			problems: []topology.Problem{peerProblem("spec.endpoint.port", "65536")}},
		{name: "endpoint bad ip", spec: func(s *v1alpha1.PeerSpec) { s.Endpoint = ipEndpoint("203.0.113", 51820) },
			want:     func(p *topology.Peer) { p.Endpoint = wireguard.Endpoint{} },
			problems: []topology.Problem{peerProblem("spec.endpoint.dnsOrIP.ip", "203.0.113")}},
		{name: "endpoint ip with a CIDR", spec: func(s *v1alpha1.PeerSpec) { s.Endpoint = ipEndpoint("203.0.113.20/32", 51820) },
			want:     func(p *topology.Peer) { p.Endpoint = wireguard.Endpoint{} },
			problems: []topology.Problem{peerProblem("spec.endpoint.dnsOrIP.ip", "203.0.113.20/32")}},
		{name: "endpoint bad dns", spec: func(s *v1alpha1.PeerSpec) { s.Endpoint = dnsEndpoint("laptop_.example..org", 51820) },
			want:     func(p *topology.Peer) { p.Endpoint = wireguard.Endpoint{} },
			problems: []topology.Problem{peerProblem("spec.endpoint.dnsOrIP.dns", "laptop_.example..org")}},
		{name: "endpoint ip with a zone", spec: func(s *v1alpha1.PeerSpec) { s.Endpoint = ipEndpoint("fe80::1%eth0", 51820) },
			want:     func(p *topology.Peer) { p.Endpoint = wireguard.Endpoint{} },
			problems: []topology.Problem{peerProblem("spec.endpoint.dnsOrIP.ip", "fe80::1%eth0")}},
		{name: "endpoint dns holding an IP with a zone", spec: func(s *v1alpha1.PeerSpec) { s.Endpoint = dnsEndpoint("fe80::1%eth0", 51820) },
			want:     func(p *topology.Peer) { p.Endpoint = wireguard.Endpoint{} },
			problems: []topology.Problem{peerProblem("spec.endpoint.dnsOrIP.dns", "fe80::1%eth0")}},

		// keepalive
		{name: "keepalive 0", spec: func(s *v1alpha1.PeerSpec) { s.PersistentKeepalive = 0 },
			want: func(p *topology.Peer) { p.PersistentKeepalive = 0 }},
		{name: "keepalive maximum", spec: func(s *v1alpha1.PeerSpec) { s.PersistentKeepalive = 65535 },
			want: func(p *topology.Peer) { p.PersistentKeepalive = 65535 * time.Second }},
		{name: "keepalive negative", spec: func(s *v1alpha1.PeerSpec) { s.PersistentKeepalive = -1 },
			want:     func(p *topology.Peer) { p.PersistentKeepalive = 0 },
			problems: []topology.Problem{peerProblem("spec.persistentKeepalive", "-1")}},
		{name: "keepalive too large", spec: func(s *v1alpha1.PeerSpec) { s.PersistentKeepalive = 65536 },
			want:     func(p *topology.Peer) { p.PersistentKeepalive = 0 },
			problems: []topology.Problem{peerProblem("spec.persistentKeepalive", "65536")}},

		{name: "every optional field bad: the peer still joins", spec: func(s *v1alpha1.PeerSpec) {
			s.AllowedIPs = append(s.AllowedIPs, "x")
			s.Endpoint = ipEndpoint("y", 1)
			s.PersistentKeepalive = -5
		}, want: func(p *topology.Peer) { p.Endpoint, p.PersistentKeepalive = wireguard.Endpoint{}, 0 },
			problems: []topology.Problem{
				peerProblem("spec.allowedIPs[1]", "x"),
				peerProblem("spec.endpoint.dnsOrIP.ip", "y"),
				peerProblem("spec.persistentKeepalive", "-5"),
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := base()
			if tc.spec != nil {
				tc.spec(&spec)
			}
			in := &v1alpha1.Peer{ObjectMeta: metav1.ObjectMeta{Name: "laptop"}, Spec: spec}
			in.APIVersion, in.Kind = v1alpha1.SchemeGroupVersion.String(), v1alpha1.PeerKind
			before := in.DeepCopy()

			got, problems, ok := Peer(in)

			want := baseWant()
			if tc.want != nil {
				tc.want(&want)
			}
			if d := cmp.Diff(want, got, cmpNet...); d != "" {
				t.Errorf("peer (-want +got):\n%s", d)
			}
			checkProblems(t, tc.problems, problems)
			if ok != !tc.notOK {
				t.Errorf("ok = %v, want %v", ok, !tc.notOK)
			}
			// A preshared key, good or bad, is never repeated in a problem.
			for _, p := range problems {
				if spec.PresharedKey != "" && strings.Contains(p.String(), spec.PresharedKey) {
					t.Errorf("problem repeats the preshared key: %s", p)
				}
			}
			if d := cmp.Diff(before, in); d != "" {
				t.Errorf("Peer changed its input (-before +after):\n%s", d)
			}
		})
	}
}

// PeerResource is the inverse of Peer: Peer(PeerResource(x)) is x.
func TestPeerResourceInverse(t *testing.T) {
	pub, psk := mustKey(t, nodeKey), mustKey(t, otherKey)
	for _, tc := range []struct {
		name string
		in   wireguard.Peer
		// spec is what `peer add -o yaml` prints for in.
		spec v1alpha1.PeerSpec
	}{
		{name: "minimal",
			in:   wireguard.Peer{PublicKey: pub, AllowedIPs: pfx("10.5.0.1/32")},
			spec: v1alpha1.PeerSpec{PublicKey: nodeKey, AllowedIPs: []string{"10.5.0.1/32"}}},
		{name: "no allowed IPs",
			in:   wireguard.Peer{PublicKey: pub},
			spec: v1alpha1.PeerSpec{PublicKey: nodeKey, AllowedIPs: []string{}}},
		{name: "preshared key and keepalive",
			in:   wireguard.Peer{PublicKey: pub, PresharedKey: &psk, PersistentKeepalive: 25 * time.Second, AllowedIPs: pfx("10.5.0.1/32", "fd00:5::1/128")},
			spec: v1alpha1.PeerSpec{PublicKey: nodeKey, PresharedKey: otherKey, PersistentKeepalive: 25, AllowedIPs: []string{"10.5.0.1/32", "fd00:5::1/128"}}},
		{name: "IPv4 endpoint",
			in:   wireguard.Peer{PublicKey: pub, Endpoint: wireguard.Endpoint{Addr: netip.MustParseAddr("203.0.113.20"), Port: 51820}, AllowedIPs: pfx("10.5.0.1/32")},
			spec: v1alpha1.PeerSpec{PublicKey: nodeKey, Endpoint: ipEndpoint("203.0.113.20", 51820), AllowedIPs: []string{"10.5.0.1/32"}}},
		{name: "IPv6 endpoint",
			in:   wireguard.Peer{PublicKey: pub, Endpoint: wireguard.Endpoint{Addr: netip.MustParseAddr("2001:db8::20"), Port: 1}, AllowedIPs: pfx("10.5.0.1/32")},
			spec: v1alpha1.PeerSpec{PublicKey: nodeKey, Endpoint: ipEndpoint("2001:db8::20", 1), AllowedIPs: []string{"10.5.0.1/32"}}},
		{name: "DNS endpoint",
			in:   wireguard.Peer{PublicKey: pub, Endpoint: wireguard.Endpoint{DNS: "laptop.example.org", Port: 65535}, AllowedIPs: pfx("10.5.0.1/32")},
			spec: v1alpha1.PeerSpec{PublicKey: nodeKey, Endpoint: dnsEndpoint("laptop.example.org", 65535), AllowedIPs: []string{"10.5.0.1/32"}}},
		{name: "everything",
			in: wireguard.Peer{Name: "ignored label", PublicKey: pub, PresharedKey: &psk, PersistentKeepalive: time.Second,
				Endpoint: wireguard.Endpoint{DNS: "laptop.example.org", Port: 51820}, AllowedIPs: pfx("10.5.0.1/32", "192.168.100.0/24")},
			spec: v1alpha1.PeerSpec{PublicKey: nodeKey, PresharedKey: otherKey, PersistentKeepalive: 1,
				Endpoint: dnsEndpoint("laptop.example.org", 51820), AllowedIPs: []string{"10.5.0.1/32", "192.168.100.0/24"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := PeerResource("laptop", tc.in)
			wantRes := &v1alpha1.Peer{Spec: tc.spec}
			wantRes.APIVersion, wantRes.Kind, wantRes.Name = "kilo.squat.ai/v1alpha1", "Peer", "laptop"
			if d := cmp.Diff(wantRes, res); d != "" {
				t.Errorf("PeerResource (-want +got):\n%s", d)
			}

			back, problems, ok := Peer(res)
			if !ok || len(problems) > 0 {
				t.Fatalf("Peer(PeerResource(x)): ok %v, problems %v", ok, problems)
			}
			want := topology.Peer{
				Name:                "laptop",
				PublicKey:           tc.in.PublicKey,
				PresharedKey:        tc.in.PresharedKey,
				Endpoint:            tc.in.Endpoint,
				AllowedIPs:          tc.in.AllowedIPs,
				PersistentKeepalive: tc.in.PersistentKeepalive,
			}
			if d := cmp.Diff(want, back, cmpNet...); d != "" {
				t.Errorf("Peer(PeerResource(x)) (-x +got):\n%s", d)
			}
			// And the resource survives the other way round.
			again := PeerResource("laptop", wireguard.Peer{
				PublicKey: back.PublicKey, PresharedKey: back.PresharedKey, Endpoint: back.Endpoint,
				AllowedIPs: back.AllowedIPs, PersistentKeepalive: back.PersistentKeepalive,
			})
			if d := cmp.Diff(res, again); d != "" {
				t.Errorf("PeerResource(Peer(r)) (-r +got):\n%s", d)
			}
		})
	}
}
