package topology

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kgctl/kgctl/internal/imports"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// tkey is a distinct, valid public key per i.
func tkey(i int) wireguard.Key {
	var k wireguard.Key
	k[0], k[1] = byte(i), byte(i>>8)
	k[31] = 0x40
	return k
}

// tnode makes a ready node: i picks its key, pod CIDR 10.2.i.0/24 and
// internal IP 192.168.i.1/24 unless changed; public says whether its
// endpoint is a public address.
func tnode(i int, name, location string, public bool) Node {
	ep := netip.AddrFrom4([4]byte{192, 168, byte(i), 1})
	if public {
		ep = netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
	}
	return Node{
		Name:       name,
		Location:   location,
		Key:        tkey(i),
		InternalIP: netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(i), 1}), 24),
		Endpoint:   wireguard.Endpoint{Addr: ep, Port: 51820},
		PodCIDRs:   []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 2, byte(i), 0}), 24)},
	}
}

func build(t *testing.T, c Cluster) *Mesh {
	t.Helper()
	if c.Settings.Subnet == (netip.Prefix{}) {
		c.Settings = DefaultSettings()
	}
	m, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// summary renders segments as "name[leader]:members@wgip".
func summary(m *Mesh) []string {
	var out []string
	for _, s := range m.Segments {
		var names []string
		for _, n := range s.Nodes {
			names = append(names, n.Name)
		}
		out = append(out, fmt.Sprintf("%s[%s]:%s@%s", s.Name, s.LeaderNode().Name, strings.Join(names, ","), s.WireGuardIP))
	}
	return out
}

func problemKeys(ps Problems) []string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s %s/%s %s", p.Severity, p.Kind, p.Name, p.Field))
	}
	return out
}

func TestLeaderElection(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nodes []Node
		want  string
	}{
		{"first by name when all private", []Node{tnode(2, "b", "x", false), tnode(1, "a", "x", false)}, "a"},
		{"public endpoint preferred", []Node{tnode(1, "a", "x", false), tnode(2, "b", "x", true), tnode(3, "c", "x", true)}, "b"},
		{"annotation beats public endpoint", []Node{tnode(1, "a", "x", true), func() Node { n := tnode(2, "b", "x", false); n.Leader = true; return n }()}, "b"},
		{"among annotated, the public one", []Node{
			func() Node { n := tnode(1, "a", "x", false); n.Leader = true; return n }(),
			func() Node { n := tnode(2, "b", "x", true); n.Leader = true; return n }(),
		}, "b"},
		{"among annotated private ones, first by name", []Node{
			func() Node { n := tnode(2, "b", "x", false); n.Leader = true; return n }(),
			func() Node { n := tnode(1, "a", "x", false); n.Leader = true; return n }(),
			tnode(3, "c", "x", true),
		}, "a"},
		{"DNS endpoint counts as public", []Node{tnode(1, "a", "x", false), func() Node {
			n := tnode(2, "b", "x", false)
			n.Endpoint = wireguard.Endpoint{DNS: "b.example.org", Port: 51820}
			return n
		}()}, "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeader(t, tc.nodes, tc.want)
		})
	}
	// Several asking to lead is reported.
	a, b := tnode(1, "a", "x", false), tnode(2, "b", "x", false)
	a.Leader, b.Leader = true, true
	m := build(t, Cluster{Nodes: []Node{a, b}})
	if d := cmp.Diff([]string{"warning Location/x kilo.squat.ai/leader"}, problemKeys(m.Problems)); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
}

func TestReadiness(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	fresh := tnode(1, "fresh", "x", true)
	fresh.LastSeen = now.Add(-10 * time.Second)
	stale := tnode(2, "stale", "x", true)
	stale.LastSeen = now.Add(-time.Hour)
	nokey := tnode(3, "nokey", "x", true)
	nokey.Key = wireguard.Key{}
	noep := tnode(4, "noep", "x", true)
	noep.Endpoint = wireguard.Endpoint{}
	nopod := tnode(5, "nopod", "x", true)
	nopod.PodCIDRs = nil
	never := tnode(6, "never", "x", true) // no last-seen at all
	dup := tnode(7, "fresh", "x", true)
	nodes := []Node{fresh, stale, nokey, noep, nopod, never, dup}

	s := DefaultSettings()
	s.Now, s.StaleAfter = now, time.Minute
	m := build(t, Cluster{Settings: s, Nodes: nodes})
	if d := cmp.Diff([]string{"x[fresh]:fresh@10.4.0.1"}, summary(m)); d != "" {
		t.Errorf("segments (-want +got):\n%s", d)
	}
	want := []string{
		"error Node/stale kilo.squat.ai/last-seen",
		"warning Node/nokey kilo.squat.ai/key", // normal during a rollout
		"error Node/noep kilo.squat.ai/endpoint",
		"error Node/nopod spec.podCIDR",
		"error Node/never kilo.squat.ai/last-seen",
		"error Node/fresh metadata.name",
	}
	if d := cmp.Diff(want, problemKeys(m.Problems)); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	// Without a clock (files from Git) last-seen is not checked.
	m = build(t, Cluster{Nodes: nodes})
	if d := cmp.Diff([]string{"x[fresh]:fresh,never,stale@10.4.0.1"}, summary(m)); d != "" {
		t.Errorf("no clock (-want +got):\n%s", d)
	}
}

func TestGranularity(t *testing.T) {
	nodes := []Node{
		tnode(1, "a1", "east", true), tnode(2, "a2", "east", false),
		tnode(3, "b1", "west", false), tnode(4, "b2", "west", false),
		func() Node { n := tnode(5, "solo", "east", true); n.InternalIP = netip.Prefix{}; return n }(),
	}
	for _, tc := range []struct {
		g    Granularity
		want []string
	}{
		// Named locations first, then single-node segments; a node
		// without internal IP is a segment of its own in any granularity.
		{LocationGranularity, []string{"east[a1]:a1,a2@10.4.0.1", "west[b1]:b1,b2@10.4.0.2", "solo[solo]:solo@10.4.0.3"}},
		{FullGranularity, []string{"a1[a1]:a1@10.4.0.1", "a2[a2]:a2@10.4.0.2", "b1[b1]:b1@10.4.0.3", "b2[b2]:b2@10.4.0.4", "solo[solo]:solo@10.4.0.5"}},
	} {
		t.Run(string(tc.g), func(t *testing.T) {
			s := DefaultSettings()
			s.Granularity = tc.g
			m := build(t, Cluster{Settings: s, Nodes: nodes})
			if d := cmp.Diff(tc.want, summary(m)); d != "" {
				t.Errorf("segments (-want +got):\n%s", d)
			}
		})
	}
	s := DefaultSettings()
	s.Granularity = CrossGranularity
	m := build(t, Cluster{Settings: s, Nodes: nodes})
	if len(m.Segments) != 5 {
		t.Fatalf("cross: %v", summary(m))
	}
	for _, seg := range m.Segments {
		if seg.Name == "a2" && seg.Location != "east" {
			t.Errorf("cross segment a2 keeps location east, got %q", seg.Location)
		}
	}
}

func TestAllowedIPs(t *testing.T) {
	a1, a2 := tnode(1, "a1", "east", true), tnode(2, "a2", "east", false)
	a1.AllowedLocationIPs = []netip.Prefix{netip.MustParsePrefix("172.16.0.0/16")}
	a2.AllowedLocationIPs = []netip.Prefix{
		netip.MustParsePrefix("172.16.0.0/16"), // repeated: once
		netip.MustParsePrefix("10.2.3.0/25"),   // inside b1's pod CIDR: dropped
	}
	m := build(t, Cluster{Nodes: []Node{a1, a2, tnode(3, "b1", "west", true)}})
	east := m.Segments[0]
	if got := fmt.Sprint(east.AllowedIPs); got != "[10.2.1.0/24 192.168.1.1/32 10.2.2.0/24 192.168.2.1/32 10.4.0.1/32]" {
		t.Errorf("allowed IPs %s", got)
	}
	if got := fmt.Sprint(east.AllowedLocationIPs); got != "[172.16.0.0/16]" {
		t.Errorf("allowed location IPs %s", got)
	}
	if !slices.ContainsFunc(m.Problems, func(p Problem) bool {
		return p.Field == "kilo.squat.ai/allowed-location-ips" && p.Value == "10.2.3.0/25"
	}) {
		t.Errorf("dropped allowed location IP not reported: %v", problemKeys(m.Problems))
	}
	// b1's view of east carries the location IPs.
	c, _ := m.NodeConfig("b1")
	if got := fmt.Sprint(c.Peers[0].AllowedIPs); !strings.Contains(got, "172.16.0.0/16") {
		t.Errorf("b1's peer for east: %s", got)
	}
}

func TestSubnetExhausted(t *testing.T) {
	s := DefaultSettings()
	s.Subnet = netip.MustParsePrefix("10.4.0.0/30") // .1 .2 .3
	var nodes []Node
	for i := 1; i <= 5; i++ {
		nodes = append(nodes, tnode(i, "n"+strconv.Itoa(i), "loc"+strconv.Itoa(i), true))
	}
	m := build(t, Cluster{Settings: s, Nodes: nodes})
	if d := cmp.Diff([]string{"loc1[n1]:n1@10.4.0.1", "loc2[n2]:n2@10.4.0.2", "loc3[n3]:n3@10.4.0.3"}, summary(m)); d != "" {
		t.Errorf("segments (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"error Location/loc4 --subnet", "error Location/loc5 --subnet"}, problemKeys(m.Problems)); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	if _, ok := m.NodeView("n4"); ok {
		t.Error("n4 has a view without a WireGuard IP")
	}
	if _, ok := m.NodeView("n3"); !ok {
		t.Error("n3 lost its view")
	}
}

func routeTo(rs []Route, dst string) (Route, bool) {
	for _, r := range rs {
		if r.Dst.String() == dst {
			return r, true
		}
	}
	return Route{}, false
}

func TestRoutes(t *testing.T) {
	m := build(t, Cluster{Nodes: []Node{tnode(1, "a1", "east", true), tnode(2, "a2", "east", false), tnode(3, "b1", "west", true)}})
	for _, tc := range []struct {
		node, dst string
		want      string // "device gw table" or "" for no route
	}{
		// A follower sends other locations to its leader over the
		// private network.
		{"a2", "10.2.3.0/24", "private 192.168.1.1 mesh"},
		{"a2", "10.4.0.2/32", "private 192.168.1.1 mesh"},
		// The leader sends them into WireGuard, to the other leader's
		// WireGuard IP.
		{"a1", "10.2.3.0/24", "wireguard 10.4.0.2 mesh"},
		{"a1", "192.168.3.1/32", "wireguard 10.4.0.2 mesh"},
		// The leader reaches its followers' pods over the private network.
		{"a1", "10.2.2.0/24", "private 192.168.2.1 mesh"},
		// Nobody routes its own pod CIDR.
		{"a1", "10.2.1.0/24", ""},
		{"b1", "10.2.3.0/24", ""},
		// The other location's leader reaches both east pod CIDRs via WireGuard.
		{"b1", "10.2.1.0/24", "wireguard 10.4.0.1 mesh"},
		{"b1", "10.2.2.0/24", "wireguard 10.4.0.1 mesh"},
		{"b1", "10.4.0.1/32", ""}, // the WireGuard IP itself is on-link through the peer
	} {
		t.Run(tc.node+"->"+tc.dst, func(t *testing.T) {
			v, ok := m.NodeView(tc.node)
			if !ok {
				t.Fatal("no view")
			}
			r, ok := routeTo(FlatRoutes(v.Routes), tc.dst)
			got := ""
			if ok {
				got = fmt.Sprintf("%s %s %s", r.Device, r.Gw, r.Table)
			}
			if got != tc.want {
				t.Errorf("route %q, want %q (all: %v)", got, tc.want, FlatRoutes(v.Routes))
			}
		})
	}
}

// TestRoutesDualStack: an IPv6 pod CIDR of another segment cannot go via
// its leader's IPv4 WireGuard IP; it is routed into the WireGuard device
// without a gateway (the device sends by allowed IPs), never left out.
func TestRoutesDualStack(t *testing.T) {
	a1, b1 := tnode(1, "a1", "east", true), tnode(3, "b1", "west", true)
	a1.PodCIDRs = append(a1.PodCIDRs, netip.MustParsePrefix("fd00:2:1::/64"))
	b1.PodCIDRs = append(b1.PodCIDRs, netip.MustParsePrefix("fd00:2:3::/64"))
	m := build(t, Cluster{Nodes: []Node{a1, b1}})
	for _, tc := range []struct{ node, dst, want string }{
		{"a1", "10.2.3.0/24", "wireguard 10.4.0.2 mesh"},
		{"a1", "fd00:2:3::/64", "wireguard invalid IP mesh"},
		{"b1", "fd00:2:1::/64", "wireguard invalid IP mesh"},
		{"a1", "fd00:2:1::/64", ""},
	} {
		v, _ := m.NodeView(tc.node)
		r, ok := routeTo(FlatRoutes(v.Routes), tc.dst)
		got := ""
		if ok {
			got = fmt.Sprintf("%s %s %s", r.Device, r.Gw, r.Table)
		}
		if got != tc.want {
			t.Errorf("%s -> %s: route %q, want %q (all: %v)", tc.node, tc.dst, got, tc.want, FlatRoutes(v.Routes))
		}
	}
}

func TestNodeConfigs(t *testing.T) {
	psk := tkey(99)
	peer := Peer{Name: "laptop", PublicKey: tkey(50), PresharedKey: &psk, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.5.0.1/32")}, PersistentKeepalive: 10 * time.Second}
	m := build(t, Cluster{
		Nodes: []Node{tnode(1, "a1", "east", true), tnode(2, "a2", "east", false), tnode(3, "b1", "west", true)},
		Peers: []Peer{peer},
	})
	names := func(c wireguard.Config) []string {
		var out []string
		for _, p := range c.Peers {
			out = append(out, p.Name)
		}
		return out
	}
	leader, _ := m.NodeConfig("a1")
	if d := cmp.Diff([]string{`location "west" (leader b1)`, "peer laptop"}, names(leader)); d != "" {
		t.Errorf("a1's peers (-want +got):\n%s", d)
	}
	if leader.Interface.ListenPort != 51820 || leader.Interface.PrivateKey != nil {
		t.Errorf("a1's interface: %+v", leader.Interface)
	}
	lp := leader.Peers[1]
	if lp.PresharedKey == nil || *lp.PresharedKey != psk || fmt.Sprint(lp.AllowedIPs) != "[10.5.0.1/32]" {
		t.Errorf("a1's peer laptop: %+v", lp)
	}
	// As in Kilo, every member of a location configures the same peers
	// (a follower takes over at once if it becomes leader); its routes,
	// not its WireGuard config, send its traffic through the leader.
	if follower, _ := m.NodeConfig("a2"); !cmp.Equal(names(follower), names(leader)) {
		t.Errorf("a follower's peers %v differ from its leader's %v", names(follower), names(leader))
	}
	pc, ok := m.PeerConfig("laptop")
	if !ok {
		t.Fatal("no peer config")
	}
	if d := cmp.Diff([]string{`location "east" (leader a1)`, `location "west" (leader b1)`}, names(pc)); d != "" {
		t.Errorf("laptop's peers (-want +got):\n%s", d)
	}
	for _, p := range pc.Peers {
		if p.PersistentKeepalive != 10*time.Second || p.PresharedKey == nil || p.Endpoint.IsZero() {
			t.Errorf("laptop's peer %s: %+v", p.Name, p)
		}
	}
	if as, ok := m.AsPeer("a2"); !ok || as.PublicKey != tkey(1) || as.Endpoint.String() != "198.51.100.1:51820" {
		t.Errorf("AsPeer(a2) = %+v, %v", as, ok)
	}
}

func TestPeersRefused(t *testing.T) {
	for _, tc := range []struct {
		name     string
		allowed  string
		accepted bool
	}{
		{"plain client", "10.5.0.1/32", true},
		{"default route", "0.0.0.0/0", false},
		{"the WireGuard subnet", "10.4.0.0/16", false},
		{"a node's pod CIDR", "10.2.1.0/24", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Peer{Name: "p", PublicKey: tkey(50), AllowedIPs: []netip.Prefix{netip.MustParsePrefix(tc.allowed)}}
			m := build(t, Cluster{Nodes: []Node{tnode(1, "a1", "east", true)}, Peers: []Peer{p}})
			if _, ok := m.Peer("p"); ok != tc.accepted {
				t.Fatalf("accepted = %v, problems %v", ok, problemKeys(m.Problems))
			}
			if !tc.accepted && !slices.ContainsFunc(m.Problems, func(p Problem) bool { return p.Kind == "Peer" && p.Name == "p" && p.Severity == Error }) {
				t.Errorf("refusal not reported: %v", problemKeys(m.Problems))
			}
		})
	}
}

func TestDiscoveredEndpoint(t *testing.T) {
	// c1 sits behind NAT with keepalive; a1 saw its packets come from
	// the NAT's public address and published that.
	a1 := tnode(1, "a1", "east", true)
	c1 := tnode(3, "c1", "home", false)
	c1.PersistentKeepalive = 5 * time.Second
	natted := netip.MustParseAddrPort("203.0.113.50:40000")
	a1.DiscoveredEndpoints = map[wireguard.Key]netip.AddrPort{c1.Key: natted}
	m := build(t, Cluster{Nodes: []Node{a1, tnode(2, "b1", "west", true), c1}})
	c, _ := m.NodeConfig("b1")
	for _, p := range c.Peers {
		if p.PublicKey == c1.Key && p.Endpoint.String() != natted.String() {
			t.Errorf("b1 reaches c1 at %s, want the discovered %s", p.Endpoint, natted)
		}
	}
}

func TestEmptyAndSingle(t *testing.T) {
	m := build(t, Cluster{})
	if len(m.Segments) != 0 || len(m.Problems) != 0 {
		t.Fatalf("empty: %v %v", summary(m), m.Problems)
	}
	if _, ok := m.NodeView("x"); ok {
		t.Error("view of a missing node")
	}
	m = build(t, Cluster{Nodes: []Node{tnode(1, "only", "x", true)}})
	v, _ := m.NodeView("only")
	if !v.Leader || len(v.WireGuard.Peers) != 0 || v.WireGuardIP.String() != "10.4.0.1/16" {
		t.Errorf("single node view: %+v", v)
	}
}

func TestIPv6(t *testing.T) {
	a := tnode(1, "a", "east", false)
	a.Endpoint = wireguard.Endpoint{Addr: netip.MustParseAddr("2001:db8::1"), Port: 51820}
	a.PodCIDRs = append(a.PodCIDRs, netip.MustParsePrefix("fd00:2:1::/64"))
	m := build(t, Cluster{Nodes: []Node{a, tnode(2, "b", "west", true)}})
	c, _ := m.NodeConfig("b")
	if got := c.Peers[0].Endpoint.String(); got != "[2001:db8::1]:51820" {
		t.Errorf("endpoint %s", got)
	}
	if !slices.Contains(c.Peers[0].AllowedIPs, netip.MustParsePrefix("fd00:2:1::/64")) {
		t.Errorf("IPv6 pod CIDR missing: %v", c.Peers[0].AllowedIPs)
	}
}

// The engine is pure: no I/O, no Kubernetes, no clock.
func TestPure(t *testing.T) {
	forbidden := []string{"os", "os/exec", "net/http", "io/ioutil", "syscall", "k8s.io/", "github.com/vishvananda/"}
	for _, imp := range imports.OfDir(t, ".") {
		for _, bad := range forbidden {
			if imp.Path == bad || strings.HasSuffix(bad, "/") && strings.HasPrefix(imp.Path, bad) {
				t.Errorf("%s imports %s: the engine must stay pure", imp.File, imp.Path)
			}
		}
	}
}

// checkLeader builds nodes, one segment, in ten shuffled orders: its
// leader must be want whatever the input order.
func checkLeader(t *testing.T, nodes []Node, want string) {
	t.Helper()
	for seed := range uint64(10) {
		nodes := slices.Clone(nodes)
		rand.New(rand.NewPCG(seed, 1)).Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
		m := build(t, Cluster{Nodes: nodes})
		if len(m.Segments) != 1 {
			t.Fatalf("segments: %v", summary(m))
		}
		if got := m.Segments[0].LeaderNode().Name; got != want {
			t.Fatalf("seed %d: leader %s, want %s", seed, got, want)
		}
	}
}
