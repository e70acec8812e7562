package peer

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

func claims(ps ...string) []Claim {
	var out []Claim
	for _, p := range ps {
		out = append(out, Claim{netip.MustParsePrefix(p), "test"})
	}
	return out
}

func TestFreeAddress(t *testing.T) {
	for _, tc := range []struct {
		name, pool string
		taken      []string
		want       string // "" means exhausted
	}{
		{"empty pool picks first host", "10.5.0.0/24", nil, "10.5.0.1/32"},
		{"skips taken hosts", "10.5.0.0/24", []string{"10.5.0.1/32", "10.5.0.2/32"}, "10.5.0.3/32"},
		{"unordered claims", "10.5.0.0/24", []string{"10.5.0.2/32", "10.5.0.1/32"}, "10.5.0.3/32"},
		{"gap is used", "10.5.0.0/24", []string{"10.5.0.1/32", "10.5.0.3/32"}, "10.5.0.2/32"},
		{"jumps over a taken subnet", "10.5.0.0/24", []string{"10.5.0.0/25"}, "10.5.0.128/32"},
		{"nested claims", "10.5.0.0/24", []string{"10.5.0.0/26", "10.5.0.1/32", "10.5.0.64/32"}, "10.5.0.65/32"},
		{"claims outside the pool ignored", "10.5.0.0/24", []string{"10.4.0.0/16", "10.6.0.1/32"}, "10.5.0.1/32"},
		{"claim covering the pool", "10.5.0.0/24", []string{"10.0.0.0/8"}, ""},
		{"broadcast never handed out", "10.5.0.0/30", []string{"10.5.0.1/32", "10.5.0.2/32"}, ""},
		{"/31 uses both addresses", "10.5.0.0/31", []string{"10.5.0.0/32"}, "10.5.0.1/32"},
		{"/32 pool", "10.5.0.7/32", nil, "10.5.0.7/32"},
		{"unmasked pool", "10.5.0.9/24", nil, "10.5.0.1/32"},
		{"IPv6", "fd00:5::/64", []string{"fd00:5::1/128"}, "fd00:5::2/128"},
		{"IPv6 tail of the pool", "fd00:5::/126", []string{"fd00:5::1/128", "fd00:5::2/128"}, "fd00:5::3/128"},
		{"end of the address space", "255.255.255.254/31", []string{"255.255.255.254/32"}, "255.255.255.255/32"},
		{"end of the address space, taken", "255.255.255.254/31", []string{"255.255.255.254/31"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FreeAddress(netip.MustParsePrefix(tc.pool), claims(tc.taken...))
			if tc.want == "" {
				if !errors.Is(err, ErrPoolExhausted) {
					t.Fatalf("got %v, %v; want ErrPoolExhausted", got, err)
				}
				return
			}
			if err != nil || got.String() != tc.want {
				t.Fatalf("got %v, %v; want %s", got, err, tc.want)
			}
		})
	}
}

// A pool filled one address at a time hands out every host exactly once.
func TestFreeAddressFillsPool(t *testing.T) {
	pool := netip.MustParsePrefix("10.5.0.0/28")
	var taken []Claim
	for i := 1; i <= 14; i++ {
		p, err := FreeAddress(pool, taken)
		if err != nil {
			t.Fatalf("address %d: %v", i, err)
		}
		if want := netip.AddrFrom4([4]byte{10, 5, 0, byte(i)}); p.Addr() != want {
			t.Fatalf("address %d: got %s", i, p)
		}
		taken = append(taken, Claim{p, "x"})
	}
	if _, err := FreeAddress(pool, taken); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("full pool: got %v", err)
	}
}

func key(t *testing.T, b byte) wireguard.Key {
	t.Helper()
	var k wireguard.Key
	for i := range k {
		k[i] = b
	}
	return k
}

func testMesh(t *testing.T, peers ...topology.Peer) *topology.Mesh {
	t.Helper()
	s := topology.DefaultSettings()
	c := topology.Cluster{Settings: s, Peers: peers, Nodes: []topology.Node{{
		Name:       "a",
		Location:   "east",
		Key:        key(t, 1).PublicKey(),
		InternalIP: netip.MustParsePrefix("192.168.0.1/24"),
		Endpoint:   wireguard.Endpoint{Addr: netip.MustParseAddr("198.51.100.1"), Port: 51820},
		PodCIDRs:   []netip.Prefix{netip.MustParsePrefix("10.2.0.0/24")},
	}}}
	m, err := topology.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestClaims(t *testing.T) {
	m := testMesh(t, topology.Peer{Name: "office", PublicKey: key(t, 2).PublicKey(), AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.5.0.1/32")}})
	var got []string
	for _, c := range Claims(m) {
		got = append(got, c.Prefix.String()+" "+c.Owner)
	}
	// The engine's claims, sorted by prefix; the WireGuard IPs are
	// inside the subnet's claim.
	want := []string{
		`10.2.0.0/24 segment "east"`,
		"10.4.0.0/16 the WireGuard subnet (--subnet)",
		`10.5.0.1/32 Peer "office"`,
		`192.168.0.1/32 segment "east"`,
		`198.51.100.1/32 segment "east"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("claims:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if c, ok := Conflict(netip.MustParsePrefix("10.2.0.128/25"), Claims(m)); !ok || c.Owner != `segment "east"` {
		t.Fatalf("conflict: %v %v", c, ok)
	}
	if _, ok := Conflict(netip.MustParsePrefix("10.5.0.2/32"), Claims(m)); ok {
		t.Fatal("10.5.0.2/32 should be free")
	}
}

// The address pick avoids what the engine would refuse a peer for: a
// node's endpoint and the service CIDRs, not only routed prefixes.
func TestFreeAddressFollowsTheEngine(t *testing.T) {
	s := topology.DefaultSettings()
	s.ServiceCIDRs = []netip.Prefix{netip.MustParsePrefix("10.5.0.0/30")}
	c := topology.Cluster{Settings: s, Nodes: []topology.Node{{
		Name:       "a",
		Key:        key(t, 1).PublicKey(),
		InternalIP: netip.MustParsePrefix("192.168.0.1/24"),
		Endpoint:   wireguard.Endpoint{Addr: netip.MustParseAddr("10.5.0.4"), Port: 51820},
		PodCIDRs:   []netip.Prefix{netip.MustParsePrefix("10.2.0.0/24")},
	}}}
	m, err := topology.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := FreeAddress(netip.MustParsePrefix("10.5.0.0/24"), Claims(m))
	if err != nil || got.String() != "10.5.0.5/32" {
		t.Fatalf("got %v, %v; want 10.5.0.5/32 (past the service CIDR and a's endpoint)", got, err)
	}
	// And the engine accepts a peer there.
	c.Peers = []topology.Peer{{Name: "x", PublicKey: key(t, 2).PublicKey(), AllowedIPs: []netip.Prefix{got}}}
	if m, _ = topology.Build(c); len(m.Peers) != 1 || m.Problems.HasErrors() {
		t.Fatalf("the engine refuses the picked address: %v", m.Problems)
	}
}

func TestClientConfig(t *testing.T) {
	psk := key(t, 9)
	r := Request{
		Name:         "laptop",
		AllowedIPs:   []netip.Prefix{netip.MustParsePrefix("10.5.0.1/32"), netip.MustParsePrefix("10.6.0.0/24")},
		PrivateKey:   key(t, 7),
		PresharedKey: &psk,
		Keepalive:    25 * time.Second,
		DNS:          []string{"10.96.0.10"},
		MTU:          1380,
	}
	res := r.Resource()
	if res.Spec.PublicKey != key(t, 7).PublicKey().String() || res.Spec.PersistentKeepalive != 25 || res.Spec.PresharedKey != psk.String() {
		t.Fatalf("resource: %+v", res.Spec)
	}
	if b, _ := json.Marshal(res); strings.Contains(string(b), key(t, 7).String()) {
		t.Fatal("the Peer resource holds the private key")
	}
	m := testMesh(t, topology.Peer{Name: "laptop", PublicKey: key(t, 7).PublicKey(), PresharedKey: &psk, AllowedIPs: r.AllowedIPs, PersistentKeepalive: r.Keepalive})
	c, err := ClientConfig(m, r)
	if err != nil {
		t.Fatal(err)
	}
	if *c.Interface.PrivateKey != key(t, 7) || c.Interface.MTU != 1380 || len(c.Interface.DNS) != 1 {
		t.Fatalf("interface: %+v", c.Interface)
	}
	// Only single addresses become the interface address.
	if len(c.Interface.Address) != 1 || c.Interface.Address[0].String() != "10.5.0.1/32" {
		t.Fatalf("address: %v", c.Interface.Address)
	}
	if len(c.Peers) != 1 || c.Peers[0].Endpoint.String() != "198.51.100.1:51820" || c.Peers[0].PersistentKeepalive != 25*time.Second || *c.Peers[0].PresharedKey != psk {
		t.Fatalf("peers: %+v", c.Peers)
	}
	// Service CIDRs go to the first segment.
	r.ServiceCIDRs = []netip.Prefix{netip.MustParsePrefix("10.96.0.0/12")}
	if c, _ = ClientConfig(m, r); c.Peers[0].AllowedIPs[len(c.Peers[0].AllowedIPs)-1].String() != "10.96.0.0/12" {
		t.Fatalf("service CIDR: %v", c.Peers[0].AllowedIPs)
	}
	if a, _ := m.PeerConfig("laptop"); len(a.Peers[0].AllowedIPs) != 3 {
		t.Fatalf("ClientConfig changed the mesh's slices: %v", a.Peers[0].AllowedIPs)
	}
	// An explicit address wins.
	r.Address = []netip.Prefix{netip.MustParsePrefix("10.6.0.1/24")}
	if got := r.InterfaceAddress(); len(got) != 1 || got[0].String() != "10.6.0.1/24" {
		t.Fatalf("explicit address: %v", got)
	}
	// A peer the mesh does not know has no config.
	if _, err := ClientConfig(testMesh(t), r); err == nil || !strings.Contains(err.Error(), `"laptop"`) {
		t.Fatalf("missing peer: %v", err)
	}
}
