package wg

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/kgctl/kgctl/pkg/wireguard"
)

// testKey returns a distinct key for n; as a private key it is already
// clamped.
func testKey(n int) wgtypes.Key {
	var k wgtypes.Key
	k[1], k[2], k[3] = byte(n), byte(n>>8), 0xAA
	return clampPrivateKey(k)
}

func ptr[T any](v T) *T { return &v }

func pfxs(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// ipnets parses CIDRs the way wgctrl reports them (net.ParseCIDR).
func ipnets(ss ...string) []net.IPNet {
	out := make([]net.IPNet, len(ss))
	for i, s := range ss {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			panic(err)
		}
		out[i] = *n
	}
	return out
}

// udp is an endpoint as this package writes it.
func udp(s string) *net.UDPAddr { return net.UDPAddrFromAddrPort(netip.MustParseAddrPort(s)) }

// udp16 is an endpoint as a device may report it: 16-byte IPv4.
func udp16(s string) *net.UDPAddr {
	a, err := net.ResolveUDPAddr("udp", s)
	if err != nil {
		panic(err)
	}
	a.IP = a.IP.To16()
	return a
}

func ep(s string) wireguard.Endpoint {
	e, err := wireguard.ParseEndpoint(s)
	if err != nil {
		panic(err)
	}
	return e
}

// base is a device in sync with baseConfig.
func base() *wgtypes.Device {
	return &wgtypes.Device{
		PrivateKey: testKey(0),
		PublicKey:  testKey(0).PublicKey(),
		ListenPort: 51820,
		Peers: []wgtypes.Peer{
			{
				PublicKey:                   testKey(1),
				Endpoint:                    udp16("192.0.2.1:51820"),
				AllowedIPs:                  ipnets("10.4.0.1/32", "10.244.1.0/24"),
				PersistentKeepaliveInterval: 0,
			},
			{
				PublicKey:                   testKey(2),
				PresharedKey:                testKey(9),
				Endpoint:                    udp16("[2001:db8::2]:51820"),
				AllowedIPs:                  ipnets("10.244.2.0/24", "10.4.0.2/32", "fd00::2/128"),
				PersistentKeepaliveInterval: 25 * time.Second,
			},
		},
	}
}

func baseConfig() wireguard.Config {
	return wireguard.Config{
		Interface: wireguard.Interface{PrivateKey: ptr(testKey(0)), ListenPort: 51820},
		Peers: []wireguard.Peer{
			{
				Name:       "a",
				PublicKey:  testKey(1),
				Endpoint:   ep("192.0.2.1:51820"),
				AllowedIPs: pfxs("10.244.1.0/24", "10.4.0.1/32"),
			},
			{
				Name:                "b",
				PublicKey:           testKey(2),
				PresharedKey:        ptr(testKey(9)),
				Endpoint:            ep("[2001:db8::2]:51820"),
				AllowedIPs:          pfxs("fd00::2/128", "10.4.0.2/32", "10.244.2.0/24"),
				PersistentKeepalive: 25 * time.Second,
			},
		},
	}
}

// with returns baseConfig changed by f.
func with(f func(*wireguard.Config)) wireguard.Config {
	c := baseConfig()
	f(&c)
	return c
}

// deviceWith returns base changed by f.
func deviceWith(f func(*wgtypes.Device)) *wgtypes.Device {
	d := base()
	f(d)
	return d
}

func TestDiff(t *testing.T) {
	type out struct {
		Config wgtypes.Config
		Result Result
	}
	tests := map[string]struct {
		current  *wgtypes.Device
		desired  wireguard.Config
		resolved map[string]netip.Addr
		want     out
	}{
		"in sync: nothing to write": {
			current: base(),
			desired: baseConfig(),
		},
		"allowed IPs compared as a set: order, repeats and host bits do not matter": {
			current: base(),
			desired: with(func(c *wireguard.Config) {
				c.Peers[0].AllowedIPs = pfxs("10.244.1.77/24", "10.4.0.1/32", "10.244.1.0/24")
			}),
		},
		"empty device gets the interface and every peer": {
			current: &wgtypes.Device{},
			desired: baseConfig(),
			want: out{
				Config: wgtypes.Config{
					PrivateKey: ptr(testKey(0)),
					ListenPort: ptr(51820),
					Peers: []wgtypes.PeerConfig{
						{
							PublicKey:         testKey(1),
							Endpoint:          udp("192.0.2.1:51820"),
							ReplaceAllowedIPs: true,
							AllowedIPs:        ipnets("10.4.0.1/32", "10.244.1.0/24"),
						},
						{
							PublicKey:                   testKey(2),
							PresharedKey:                ptr(testKey(9)),
							Endpoint:                    udp("[2001:db8::2]:51820"),
							PersistentKeepaliveInterval: ptr(25 * time.Second),
							ReplaceAllowedIPs:           true,
							AllowedIPs:                  ipnets("10.4.0.2/32", "10.244.2.0/24", "fd00::2/128"),
						},
					},
				},
				Result: Result{PeersAdded: 2, InterfaceChanged: true},
			},
		},
		"nil device is an empty one": {
			current: nil,
			desired: wireguard.Config{Interface: wireguard.Interface{ListenPort: 51821}},
			want: out{
				Config: wgtypes.Config{ListenPort: ptr(51821)},
				Result: Result{InterfaceChanged: true},
			},
		},
		"new peer without endpoint, preshared key or keepalive sets none": {
			current: base(),
			desired: with(func(c *wireguard.Config) {
				c.Peers = append(c.Peers, wireguard.Peer{PublicKey: testKey(3), AllowedIPs: pfxs("10.4.0.3/32")})
			}),
			want: out{
				Config: wgtypes.Config{Peers: []wgtypes.PeerConfig{
					{PublicKey: testKey(3), ReplaceAllowedIPs: true, AllowedIPs: ipnets("10.4.0.3/32")},
				}},
				Result: Result{PeersAdded: 1},
			},
		},
		"peers gone from desired are removed one by one, sorted by key": {
			current: deviceWith(func(d *wgtypes.Device) {
				d.Peers = append(d.Peers, wgtypes.Peer{PublicKey: testKey(5)}, wgtypes.Peer{PublicKey: testKey(4)})
			}),
			desired: with(func(c *wireguard.Config) { c.Peers = c.Peers[1:] }),
			want: out{
				Config: wgtypes.Config{Peers: []wgtypes.PeerConfig{
					{PublicKey: testKey(1), Remove: true},
					{PublicKey: testKey(4), Remove: true},
					{PublicKey: testKey(5), Remove: true},
				}},
				Result: Result{PeersRemoved: 3},
			},
		},
		"changed allowed IPs are replaced for that peer only": {
			current: base(),
			desired: with(func(c *wireguard.Config) {
				c.Peers[1].AllowedIPs = pfxs("10.4.0.2/32", "10.244.3.0/24", "fd00::2/128")
			}),
			want: out{
				Config: wgtypes.Config{Peers: []wgtypes.PeerConfig{{
					PublicKey:         testKey(2),
					UpdateOnly:        true,
					ReplaceAllowedIPs: true,
					AllowedIPs:        ipnets("10.4.0.2/32", "10.244.3.0/24", "fd00::2/128"),
				}}},
				Result: Result{PeersUpdated: 1},
			},
		},
		"an endpoint learned by roaming stays when desired has none": {
			current: deviceWith(func(d *wgtypes.Device) { d.Peers[0].Endpoint = udp16("198.51.100.7:40000") }),
			desired: with(func(c *wireguard.Config) { c.Peers[0].Endpoint = wireguard.Endpoint{} }),
		},
		"a different desired endpoint replaces the current one": {
			current: deviceWith(func(d *wgtypes.Device) { d.Peers[0].Endpoint = udp16("198.51.100.7:40000") }),
			desired: baseConfig(),
			want: out{
				Config: wgtypes.Config{Peers: []wgtypes.PeerConfig{
					{PublicKey: testKey(1), UpdateOnly: true, Endpoint: udp("192.0.2.1:51820")},
				}},
				Result: Result{PeersUpdated: 1},
			},
		},
		"desired endpoint on a peer with none": {
			current: deviceWith(func(d *wgtypes.Device) { d.Peers[0].Endpoint = nil }),
			desired: baseConfig(),
			want: out{
				Config: wgtypes.Config{Peers: []wgtypes.PeerConfig{
					{PublicKey: testKey(1), UpdateOnly: true, Endpoint: udp("192.0.2.1:51820")},
				}},
				Result: Result{PeersUpdated: 1},
			},
		},
		"DNS endpoint uses its resolved address": {
			current: base(),
			desired: with(func(c *wireguard.Config) { c.Peers[0].Endpoint = ep("a.example:51820") }),
			resolved: map[string]netip.Addr{
				"a.example": netip.MustParseAddr("192.0.2.99"),
			},
			want: out{
				Config: wgtypes.Config{Peers: []wgtypes.PeerConfig{
					{PublicKey: testKey(1), UpdateOnly: true, Endpoint: udp("192.0.2.99:51820")},
				}},
				Result: Result{PeersUpdated: 1},
			},
		},
		"DNS endpoint resolving to the current address is in sync": {
			current:  base(),
			desired:  with(func(c *wireguard.Config) { c.Peers[0].Endpoint = ep("a.example:51820") }),
			resolved: map[string]netip.Addr{"a.example": netip.MustParseAddr("::ffff:192.0.2.1")},
		},
		"unresolved DNS endpoint keeps the current one": {
			current: base(),
			desired: with(func(c *wireguard.Config) { c.Peers[0].Endpoint = ep("a.example:51820") }),
		},
		"private key changed": {
			current: base(),
			desired: with(func(c *wireguard.Config) { c.Interface.PrivateKey = ptr(testKey(7)) }),
			want: out{
				Config: wgtypes.Config{PrivateKey: ptr(testKey(7))},
				Result: Result{InterfaceChanged: true},
			},
		},
		"unclamped private key equals the clamped key the device holds": {
			current: base(),
			desired: with(func(c *wireguard.Config) {
				k := testKey(0)
				k[0] |= 7
				k[31] |= 128
				c.Interface.PrivateKey = &k
			}),
		},
		"nil private key leaves the device's": {
			current: base(),
			desired: with(func(c *wireguard.Config) { c.Interface.PrivateKey = nil }),
		},
		"listen port changed": {
			current: base(),
			desired: with(func(c *wireguard.Config) { c.Interface.ListenPort = 51821 }),
			want: out{
				Config: wgtypes.Config{ListenPort: ptr(51821)},
				Result: Result{InterfaceChanged: true},
			},
		},
		"listen port 0 leaves the device's": {
			current: base(),
			desired: with(func(c *wireguard.Config) { c.Interface.ListenPort = 0 }),
		},
		"preshared key added": {
			current: base(),
			desired: with(func(c *wireguard.Config) { c.Peers[0].PresharedKey = ptr(testKey(8)) }),
			want: out{
				Config: wgtypes.Config{Peers: []wgtypes.PeerConfig{
					{PublicKey: testKey(1), UpdateOnly: true, PresharedKey: ptr(testKey(8))},
				}},
				Result: Result{PeersUpdated: 1},
			},
		},
		"preshared key removed is written as the zero key": {
			current: base(),
			desired: with(func(c *wireguard.Config) { c.Peers[1].PresharedKey = nil }),
			want: out{
				Config: wgtypes.Config{Peers: []wgtypes.PeerConfig{
					{PublicKey: testKey(2), UpdateOnly: true, PresharedKey: ptr(wgtypes.Key{})},
				}},
				Result: Result{PeersUpdated: 1},
			},
		},
		"zero preshared key is the same as none": {
			current: base(),
			desired: with(func(c *wireguard.Config) { c.Peers[0].PresharedKey = ptr(wgtypes.Key{}) }),
		},
		"keepalive changed": {
			current: base(),
			desired: with(func(c *wireguard.Config) { c.Peers[0].PersistentKeepalive = 10 * time.Second }),
			want: out{
				Config: wgtypes.Config{Peers: []wgtypes.PeerConfig{
					{PublicKey: testKey(1), UpdateOnly: true, PersistentKeepaliveInterval: ptr(10 * time.Second)},
				}},
				Result: Result{PeersUpdated: 1},
			},
		},
		"keepalive turned off is written as 0": {
			current: base(),
			desired: with(func(c *wireguard.Config) { c.Peers[1].PersistentKeepalive = 0 }),
			want: out{
				Config: wgtypes.Config{Peers: []wgtypes.PeerConfig{
					{PublicKey: testKey(2), UpdateOnly: true, PersistentKeepaliveInterval: ptr(time.Duration(0))},
				}},
				Result: Result{PeersUpdated: 1},
			},
		},
		"keepalive compared in whole seconds": {
			current: base(),
			desired: with(func(c *wireguard.Config) { c.Peers[1].PersistentKeepalive = 25*time.Second + 400*time.Millisecond }),
		},
		"everything about one peer changed at once": {
			current: base(),
			desired: with(func(c *wireguard.Config) {
				c.Peers[0] = wireguard.Peer{
					PublicKey:           testKey(1),
					PresharedKey:        ptr(testKey(8)),
					Endpoint:            ep("192.0.2.3:1"),
					AllowedIPs:          pfxs("10.4.0.1/32"),
					PersistentKeepalive: time.Second,
				}
			}),
			want: out{
				Config: wgtypes.Config{Peers: []wgtypes.PeerConfig{{
					PublicKey:                   testKey(1),
					UpdateOnly:                  true,
					PresharedKey:                ptr(testKey(8)),
					Endpoint:                    udp("192.0.2.3:1"),
					PersistentKeepaliveInterval: ptr(time.Second),
					ReplaceAllowedIPs:           true,
					AllowedIPs:                  ipnets("10.4.0.1/32"),
				}}},
				Result: Result{PeersUpdated: 1},
			},
		},
		"removals first, then additions and updates in desired order": {
			current: deviceWith(func(d *wgtypes.Device) { d.Peers[0].PublicKey = testKey(6) }),
			desired: with(func(c *wireguard.Config) { c.Peers[1].AllowedIPs = nil }),
			want: out{
				Config: wgtypes.Config{Peers: []wgtypes.PeerConfig{
					{PublicKey: testKey(6), Remove: true},
					{
						PublicKey:         testKey(1),
						Endpoint:          udp("192.0.2.1:51820"),
						ReplaceAllowedIPs: true,
						AllowedIPs:        ipnets("10.4.0.1/32", "10.244.1.0/24"),
					},
					{PublicKey: testKey(2), UpdateOnly: true, ReplaceAllowedIPs: true},
				}},
				Result: Result{PeersAdded: 1, PeersRemoved: 1, PeersUpdated: 1},
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, res := Diff(tt.current, tt.desired, tt.resolved)
			if diff := cmp.Diff(tt.want, out{cfg, res}); diff != "" {
				t.Errorf("Diff() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrefixFromIPNet(t *testing.T) {
	tests := map[string]struct {
		in     net.IPNet
		want   netip.Prefix
		wantOK bool
	}{
		"4-byte IPv4": {
			in:   net.IPNet{IP: net.IP{10, 0, 0, 0}, Mask: net.CIDRMask(8, 32)},
			want: netip.MustParsePrefix("10.0.0.0/8"), wantOK: true,
		},
		"16-byte IPv4 with 4-byte mask": {
			in:   net.IPNet{IP: net.ParseIP("10.1.2.3"), Mask: net.CIDRMask(16, 32)},
			want: netip.MustParsePrefix("10.1.0.0/16"), wantOK: true,
		},
		"IPv6": {
			in:   net.IPNet{IP: net.ParseIP("fd00::1"), Mask: net.CIDRMask(64, 128)},
			want: netip.MustParsePrefix("fd00::/64"), wantOK: true,
		},
		"IPv4-mapped IPv6 prefix stays IPv6": {
			in:   net.IPNet{IP: net.ParseIP("::ffff:0:0"), Mask: net.CIDRMask(96, 128)},
			want: netip.MustParsePrefix("::ffff:0.0.0.0/96"), wantOK: true,
		},
		"4-byte IPv4 with a 16-byte mask": {
			in: net.IPNet{IP: net.IP{10, 0, 0, 0}, Mask: net.CIDRMask(8, 128)},
		},
		"non-canonical mask": {
			in: net.IPNet{IP: net.IP{10, 0, 0, 0}, Mask: net.IPMask{255, 0, 255, 0}},
		},
		"no address": {},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := prefixFromIPNet(tt.in)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("prefixFromIPNet(%v) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestResultString(t *testing.T) {
	tests := map[string]struct {
		in   Result
		want string
	}{
		"no-op":   {Result{}, "0 peers added, 0 removed, 0 updated, 0 writes"},
		"changes": {Result{PeersAdded: 1, PeersRemoved: 2, PeersUpdated: 3, InterfaceChanged: true, Writes: 1}, "interface changed, 1 peers added, 2 removed, 3 updated, 1 writes"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

// benchState returns n peers in sync: a device and its desired config.
func benchState(n int) (*wgtypes.Device, wireguard.Config) {
	dev := &wgtypes.Device{PrivateKey: testKey(0), ListenPort: 51820}
	cfg := wireguard.Config{Interface: wireguard.Interface{PrivateKey: ptr(testKey(0)), ListenPort: 51820}}
	for i := 1; i <= n; i++ {
		wgIP := fmt.Sprintf("10.4.%d.%d/32", i>>8, i&0xff)
		pod := fmt.Sprintf("10.%d.%d.0/24", 100+i>>8, i&0xff)
		endpoint := fmt.Sprintf("192.0.2.%d:51820", i%250+1)
		dev.Peers = append(dev.Peers, wgtypes.Peer{
			PublicKey:                   testKey(i),
			Endpoint:                    udp16(endpoint),
			AllowedIPs:                  ipnets(pod, wgIP),
			PersistentKeepaliveInterval: 25 * time.Second,
		})
		cfg.Peers = append(cfg.Peers, wireguard.Peer{
			PublicKey:           testKey(i),
			Endpoint:            ep(endpoint),
			AllowedIPs:          pfxs(wgIP, pod),
			PersistentKeepalive: 25 * time.Second,
		})
	}
	return dev, cfg
}

func BenchmarkDiff(b *testing.B) {
	const n = 1000
	b.Run("noop-1000", func(b *testing.B) {
		dev, cfg := benchState(n)
		b.ReportAllocs()
		for b.Loop() {
			if _, res := Diff(dev, cfg, nil); res.Changed() {
				b.Fatalf("Diff() = %v, want no change", res)
			}
		}
	})
	b.Run("one-change-1000", func(b *testing.B) {
		dev, cfg := benchState(n)
		cfg.Peers[n/2].AllowedIPs = append(cfg.Peers[n/2].AllowedIPs, netip.MustParsePrefix("10.99.0.0/24"))
		b.ReportAllocs()
		for b.Loop() {
			if _, res := Diff(dev, cfg, nil); res.PeersUpdated != 1 {
				b.Fatalf("Diff() = %v, want 1 update", res)
			}
		}
	})
}
