package topology

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kgctl/kgctl/pkg/wireguard"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func with(n Node, f func(*Node)) Node { f(&n); return n }

func tpeer(name string, key int, ips ...string) Peer {
	p := Peer{Name: name, PublicKey: tkey(key)}
	for _, s := range ips {
		p.AllowedIPs = append(p.AllowedIPs, pfx(s))
	}
	return p
}

var (
	t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Hour)
)

// errorKeys lists the errors as "Kind/name field value".
func errorKeys(ps Problems) []string {
	var out []string
	for _, p := range ps {
		if p.Severity == Error {
			out = append(out, fmt.Sprintf("%s/%s %s %s", p.Kind, p.Name, p.Field, p.Value))
		}
	}
	slices.Sort(out)
	return out
}

// members lists the nodes and peers in the mesh.
func members(m *Mesh) []string {
	out := slices.Clone(m.NodeNames())
	slices.Sort(out)
	for _, p := range m.Peers {
		out = append(out, "peer:"+p.Name+fmt.Sprint(p.AllowedIPs))
	}
	return out
}

// Every collision and takeover of issue 12: the later object (by rank)
// is refused by name, the rest of the mesh is built as if it were absent.
func TestCollisions(t *testing.T) {
	a, b, c := tnode(1, "a", "east", true), tnode(2, "b", "west", true), tnode(3, "c", "north", true)
	service := pfx("10.96.0.0/12")
	for _, tc := range []struct {
		name    string
		nodes   []Node
		peers   []Peer
		errors  []string
		members []string
		// contains is a substring of the first error's message.
		contains string
	}{
		{
			name:     "two nodes with one key: the later name is refused",
			nodes:    []Node{a, with(b, func(n *Node) { n.Key = a.Key })},
			errors:   []string{"Node/b kilo.squat.ai/key " + a.Key.String()},
			members:  []string{"a"},
			contains: `same WireGuard key as node "a"`,
		},
		{
			name: "two nodes with one key: the older keeps it whatever its name",
			nodes: []Node{
				with(a, func(n *Node) { n.CreationTimestamp = t1 }),
				with(b, func(n *Node) { n.Key = a.Key; n.CreationTimestamp = t0 }),
			},
			errors:  []string{"Node/a kilo.squat.ai/key " + a.Key.String()},
			members: []string{"b"},
		},
		{
			name:    "a node with a timestamp ranks before one without",
			nodes:   []Node{a, with(b, func(n *Node) { n.Key = a.Key; n.CreationTimestamp = t1 })},
			errors:  []string{"Node/a kilo.squat.ai/key " + a.Key.String()},
			members: []string{"b"},
		},
		{
			name:     "a peer with a node's key",
			nodes:    []Node{a, b},
			peers:    []Peer{tpeer("p", 1, "10.5.0.1/32")},
			errors:   []string{"Peer/p spec.publicKey " + a.Key.String()},
			members:  []string{"a", "b"},
			contains: `same WireGuard key as node "a"`,
		},
		{
			name:  "a peer with a node's key loses even when older",
			nodes: []Node{with(a, func(n *Node) { n.CreationTimestamp = t1 })},
			peers: []Peer{func() Peer { p := tpeer("p", 1, "10.5.0.1/32"); p.CreationTimestamp = t0; return p }()},
			// Nodes claim before peers.
			errors:  []string{"Peer/p spec.publicKey " + a.Key.String()},
			members: []string{"a"},
		},
		{
			name:    "two peers with one key: the later is refused",
			nodes:   []Node{a},
			peers:   []Peer{tpeer("p2", 50, "10.5.0.2/32"), tpeer("p1", 50, "10.5.0.1/32")},
			errors:  []string{"Peer/p2 spec.publicKey " + tkey(50).String()},
			members: []string{"a", "peer:p1[10.5.0.1/32]"},
		},
		{
			name:     "one pod CIDR in two locations",
			nodes:    []Node{a, with(b, func(n *Node) { n.PodCIDRs = a.PodCIDRs })},
			errors:   []string{"Node/b spec.podCIDR 10.2.1.0/24"},
			members:  []string{"a"},
			contains: `overlaps 10.2.1.0/24 (spec.podCIDR) of node "a"`,
		},
		{
			name:    "a newcomer's pod CIDR covering an older node's",
			nodes:   []Node{with(a, func(n *Node) { n.CreationTimestamp = t1; n.PodCIDRs = []netip.Prefix{pfx("10.2.0.0/16")} }), with(b, func(n *Node) { n.CreationTimestamp = t0 })},
			errors:  []string{"Node/a spec.podCIDR 10.2.0.0/16"},
			members: []string{"b"},
		},
		{
			name:     "a pod CIDR 0.0.0.0/0",
			nodes:    []Node{a, with(b, func(n *Node) { n.PodCIDRs = []netip.Prefix{pfx("0.0.0.0/0")} })},
			errors:   []string{"Node/b spec.podCIDR 0.0.0.0/0"},
			members:  []string{"a"},
			contains: "default route",
		},
		{
			name:     "a pod CIDR covering the WireGuard subnet",
			nodes:    []Node{a, with(b, func(n *Node) { n.PodCIDRs = []netip.Prefix{pfx("10.0.0.0/8")} })},
			errors:   []string{"Node/b spec.podCIDR 10.0.0.0/8"},
			members:  []string{"a"},
			contains: "the WireGuard subnet (--subnet)",
		},
		{
			name:    "a pod CIDR inside the WireGuard subnet",
			nodes:   []Node{a, with(b, func(n *Node) { n.PodCIDRs = []netip.Prefix{pfx("10.4.7.0/24")} })},
			errors:  []string{"Node/b spec.podCIDR 10.4.7.0/24"},
			members: []string{"a"},
		},
		{
			name:     "a pod CIDR in the service CIDR",
			nodes:    []Node{a, with(b, func(n *Node) { n.PodCIDRs = []netip.Prefix{pfx("10.96.1.0/24")} })},
			errors:   []string{"Node/b spec.podCIDR 10.96.1.0/24"},
			members:  []string{"a"},
			contains: "the service CIDR (--service-cidr)",
		},
		{
			name:     "a pod CIDR covering another node's endpoint",
			nodes:    []Node{a, with(b, func(n *Node) { n.PodCIDRs = []netip.Prefix{pfx("198.51.100.0/24")} })},
			errors:   []string{"Node/b spec.podCIDR 198.51.100.0/24"},
			members:  []string{"a"},
			contains: `covers 198.51.100.1/32 (kilo.squat.ai/endpoint) of node "a"`,
		},
		{
			name:    "an endpoint inside an older node's pod CIDR",
			nodes:   []Node{a, with(b, func(n *Node) { n.Endpoint.Addr = netip.MustParseAddr("10.2.1.9") })},
			errors:  []string{"Node/b kilo.squat.ai/endpoint 10.2.1.9:51820"},
			members: []string{"a"},
		},
		{
			name:     "one internal IP in two locations: only the later's is not routed",
			nodes:    []Node{a, with(b, func(n *Node) { n.InternalIP = a.InternalIP })},
			errors:   []string{"Node/b kilo.squat.ai/internal-ip 192.168.1.1/24"},
			members:  []string{"a", "b"},
			contains: "not routed through the mesh",
		},
		{
			name: "allowed location IPs covering another location's pod CIDR",
			nodes: []Node{a, with(b, func(n *Node) {
				n.AllowedLocationIPs = []netip.Prefix{pfx("10.2.0.0/16"), pfx("172.20.0.0/16")}
			})},
			errors:   []string{"Node/b kilo.squat.ai/allowed-location-ips 10.2.0.0/16"},
			members:  []string{"a", "b"},
			contains: "; ignored",
		},
		{
			name:    "allowed location IPs covering the WireGuard subnet",
			nodes:   []Node{a, with(b, func(n *Node) { n.AllowedLocationIPs = []netip.Prefix{pfx("10.0.0.0/8")} })},
			errors:  []string{"Node/b kilo.squat.ai/allowed-location-ips 10.0.0.0/8"},
			members: []string{"a", "b"},
		},
		{
			name:    "allowed location IPs 0.0.0.0/0",
			nodes:   []Node{a, with(b, func(n *Node) { n.AllowedLocationIPs = []netip.Prefix{pfx("0.0.0.0/0")} })},
			errors:  []string{"Node/b kilo.squat.ai/allowed-location-ips 0.0.0.0/0"},
			members: []string{"a", "b"},
		},
		{
			name:    "allowed location IPs covering another leader's endpoint",
			nodes:   []Node{a, with(b, func(n *Node) { n.AllowedLocationIPs = []netip.Prefix{pfx("198.51.100.0/30")} })},
			errors:  []string{"Node/b kilo.squat.ai/allowed-location-ips 198.51.100.0/30"},
			members: []string{"a", "b"},
		},
		{
			name: "two locations with one range: the older keeps it",
			nodes: []Node{
				with(a, func(n *Node) { n.AllowedLocationIPs = []netip.Prefix{pfx("172.20.0.0/16")} }),
				with(b, func(n *Node) { n.AllowedLocationIPs = []netip.Prefix{pfx("172.20.1.0/24")} }),
			},
			errors:  []string{"Node/b kilo.squat.ai/allowed-location-ips 172.20.1.0/24"},
			members: []string{"a", "b"},
		},
		{
			name:    "a peer cannot take a location's range",
			nodes:   []Node{with(a, func(n *Node) { n.AllowedLocationIPs = []netip.Prefix{pfx("172.20.0.0/16")} })},
			peers:   []Peer{tpeer("p", 50, "10.5.0.1/32", "172.20.0.0/24")},
			errors:  []string{"Peer/p spec.allowedIPs 172.20.0.0/24"},
			members: []string{"a", "peer:p[10.5.0.1/32]"},
		},
		{
			name:     "a peer covering another leader's endpoint",
			nodes:    []Node{a, b},
			peers:    []Peer{tpeer("p", 50, "198.51.100.2/32")},
			errors:   []string{"Peer/p spec.allowedIPs 198.51.100.2/32"},
			members:  []string{"a", "b"},
			contains: "; peer refused",
		},
		{
			name:     "a peer covering the service CIDR",
			nodes:    []Node{a},
			peers:    []Peer{tpeer("p", 50, "10.96.0.0/11")},
			errors:   []string{"Peer/p spec.allowedIPs 10.96.0.0/11"},
			members:  []string{"a"},
			contains: "covers 10.96.0.0/12, the service CIDR (--service-cidr); peer refused",
		},
		{
			name:     "a peer covering a pod CIDR",
			nodes:    []Node{a},
			peers:    []Peer{tpeer("p", 50, "10.2.0.0/16")},
			errors:   []string{"Peer/p spec.allowedIPs 10.2.0.0/16"},
			members:  []string{"a"},
			contains: `covers 10.2.1.0/24 (spec.podCIDR) of node "a"; peer refused`,
		},
		{
			name:    "a peer inside the WireGuard subnet loses that prefix",
			nodes:   []Node{a},
			peers:   []Peer{tpeer("p", 50, "10.5.0.1/32", "10.4.9.9/32")},
			errors:  []string{"Peer/p spec.allowedIPs 10.4.9.9/32"},
			members: []string{"a", "peer:p[10.5.0.1/32]"},
		},
		{
			name:  "two peers overlapping: the later loses the prefix",
			nodes: []Node{a},
			peers: []Peer{
				func() Peer { p := tpeer("old", 50, "192.168.100.0/24"); p.CreationTimestamp = t0; return p }(),
				func() Peer {
					p := tpeer("new", 51, "192.168.100.128/25", "10.5.0.9/32")
					p.CreationTimestamp = t1
					return p
				}(),
			},
			errors:  []string{"Peer/new spec.allowedIPs 192.168.100.128/25"},
			members: []string{"a", "peer:new[10.5.0.9/32]", "peer:old[192.168.100.0/24]"},
		},
		{
			name:  "a refused node frees what it claimed",
			nodes: []Node{a, with(b, func(n *Node) { n.Key = a.Key }), with(c, func(n *Node) { n.PodCIDRs = b.PodCIDRs })},
			// b is refused for its key, so c's pod CIDR (b's) is free.
			errors:  []string{"Node/b kilo.squat.ai/key " + a.Key.String()},
			members: []string{"a", "c"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := DefaultSettings()
			s.ServiceCIDRs = []netip.Prefix{service}
			// Stable whatever the input order.
			for seed := range uint64(8) {
				nodes, peers := slices.Clone(tc.nodes), slices.Clone(tc.peers)
				r := rand.New(rand.NewPCG(seed, 2))
				r.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
				r.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
				m := build(t, Cluster{Settings: s, Nodes: nodes, Peers: peers})
				if d := cmp.Diff(tc.errors, errorKeys(m.Problems)); d != "" {
					t.Fatalf("seed %d: errors (-want +got):\n%s\n%v", seed, d, m.Problems)
				}
				if d := cmp.Diff(tc.members, members(m)); d != "" {
					t.Fatalf("seed %d: members (-want +got):\n%s", seed, d)
				}
				if tc.contains != "" {
					if msg := firstError(m.Problems); !strings.Contains(msg, tc.contains) {
						t.Fatalf("message %q does not say %q", msg, tc.contains)
					}
				}
				checkInvariants(t, m)
			}
		})
	}
}

func firstError(ps Problems) string {
	for _, p := range ps {
		if p.Severity == Error {
			return p.String()
		}
	}
	return ""
}

// A refused internal IP is neither an allowed IP nor a route target.
func TestUnroutedInternalIP(t *testing.T) {
	a, b := tnode(1, "a", "east", true), tnode(2, "b", "west", true)
	b.InternalIP = a.InternalIP
	m := build(t, Cluster{Nodes: []Node{a, b, tnode(3, "c", "north", true)}})
	v, _ := m.NodeView("c")
	n := 0
	for _, r := range FlatRoutes(v.Routes) {
		if r.Dst == pfx("192.168.1.1/32") {
			n++
			if r.Gw != netip.MustParseAddr("10.4.0.1") {
				t.Errorf("192.168.1.1 routed to %s, want a's segment", r.Gw)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d routes to 192.168.1.1/32, want 1", n)
	}
	checkInvariants(t, m)
}

// The engine's claims are what peer add and plan look things up in.
func TestOwner(t *testing.T) {
	a := tnode(1, "a", "east", true)
	a.AllowedLocationIPs = []netip.Prefix{pfx("172.20.0.0/16")}
	m := build(t, Cluster{Nodes: []Node{a}, Peers: []Peer{tpeer("p", 50, "10.5.0.1/32")}})
	for _, tc := range []struct{ query, want string }{
		{"10.2.1.7/32", `10.2.1.0/24 (spec.podCIDR) of node "a"`},
		{"10.2.0.0/16", `10.2.1.0/24 (spec.podCIDR) of node "a"`},
		{"10.4.200.0/24", `10.4.0.0/16, the WireGuard subnet (--subnet)`},
		{"172.20.3.0/24", `172.20.0.0/16 (kilo.squat.ai/allowed-location-ips) of location "east"`},
		{"10.5.0.0/30", `10.5.0.1/32 (spec.allowedIPs) of peer "p"`},
		{"198.51.100.1/32", `198.51.100.1/32 (kilo.squat.ai/endpoint) of node "a"`},
		{"192.168.1.1/32", `192.168.1.1/32 (kilo.squat.ai/internal-ip) of node "a"`},
		{"10.5.0.2/32", ""},
	} {
		c, ok := m.Owner(pfx(tc.query))
		got := ""
		if ok {
			got = c.describe()
		}
		if got != tc.want {
			t.Errorf("Owner(%s) = %q, want %q", tc.query, got, tc.want)
		}
	}
	if got := len(m.Claims()); got != 6 {
		t.Errorf("%d claims, want 6: %v", got, m.Claims())
	}
}

// checkInvariants holds what the WireGuard driver refuses (and what
// would hijack traffic) away from every view: peer keys unique and not
// the viewer's own, allowed IPs disjoint across peers, no peer holding
// the viewer's own prefixes.
func checkInvariants(t *testing.T, m *Mesh) {
	t.Helper()
	check := func(who string, own wireguard.Key, ownPrefixes []netip.Prefix, c wireguard.Config) {
		t.Helper()
		keys := make(map[wireguard.Key]string)
		type held struct {
			p    netip.Prefix
			peer string
		}
		var all []held
		for _, p := range c.Peers {
			if p.PublicKey == own {
				t.Errorf("%s: peer %s has the viewer's own key", who, p.Name)
			}
			if o, dup := keys[p.PublicKey]; dup {
				t.Errorf("%s: peers %s and %s share a key", who, o, p.Name)
			}
			keys[p.PublicKey] = p.Name
			for _, a := range p.AllowedIPs {
				all = append(all, held{a, p.Name})
				for _, o := range ownPrefixes {
					if o.Overlaps(a) {
						t.Errorf("%s: peer %s holds %s, overlapping the viewer's own %s", who, p.Name, a, o)
					}
				}
			}
		}
		slices.SortFunc(all, func(x, y held) int { return comparePrefix(x.p, y.p) })
		for i := range all {
			for j := i + 1; j < len(all) && all[i].p.Overlaps(all[j].p); j++ {
				if all[i].peer != all[j].peer {
					t.Errorf("%s: %s of %s overlaps %s of %s", who, all[i].p, all[i].peer, all[j].p, all[j].peer)
				}
			}
		}
	}
	for _, name := range m.NodeNames() {
		v, ok := m.NodeView(name)
		if !ok {
			t.Fatalf("no view of %s", name)
		}
		n, _ := m.Node(name)
		own := slices.Clone(n.PodCIDRs)
		if n.InternalIP.IsValid() && !m.unrouted[name] {
			own = append(own, hostPrefix(n.InternalIP.Addr()))
		}
		check("node "+name, n.Key, own, v.WireGuard)
	}
	for _, p := range m.Peers {
		c, ok := m.PeerConfig(p.Name)
		if !ok {
			t.Fatalf("no config of peer %s", p.Name)
		}
		check("peer "+p.Name, p.PublicKey, p.AllowedIPs, c)
	}
}

// randomCluster is a small, often hostile cluster: keys, prefixes and
// endpoints come from small pools so that they collide.
func randomCluster(r *rand.Rand) Cluster {
	s := DefaultSettings()
	s.Granularity = Granularities[r.IntN(len(Granularities))]
	if r.IntN(2) == 0 {
		s.ServiceCIDRs = []netip.Prefix{pfx("10.96.0.0/12")}
	}
	prefixes := []string{
		"0.0.0.0/0", "10.0.0.0/8", "10.4.0.0/16", "10.4.3.0/24", "10.96.0.0/12", "10.96.5.0/24",
		"10.2.0.0/16", "10.2.1.0/24", "10.2.2.0/24", "10.2.1.128/25", "10.2.3.0/24",
		"172.20.0.0/16", "172.20.1.0/24", "192.168.1.0/24", "192.168.1.1/32", "192.168.2.1/32",
		"198.51.100.0/24", "198.51.100.1/32", "10.5.0.1/32", "10.5.0.0/24", "fd00::/8", "fd00:2::/64", "::/0",
	}
	addrs := []string{"192.168.1.1", "192.168.2.1", "192.168.3.1", "198.51.100.1", "198.51.100.2", "10.2.1.5", "10.4.0.1", "2001:db8::1"}
	pick := func() netip.Prefix { return pfx(prefixes[r.IntN(len(prefixes))]) }
	addr := func() netip.Addr { return netip.MustParseAddr(addrs[r.IntN(len(addrs))]) }
	stamp := func() time.Time {
		if r.IntN(3) == 0 {
			return time.Time{}
		}
		return t0.Add(time.Duration(r.IntN(4)) * time.Hour)
	}
	var c Cluster
	c.Settings = s
	for i := range 2 + r.IntN(7) {
		n := Node{
			Name:              fmt.Sprintf("n%d", i),
			Location:          []string{"east", "west", "north"}[r.IntN(3)],
			Key:               tkey(1 + r.IntN(6)),
			Endpoint:          wireguard.Endpoint{Addr: addr(), Port: 51820},
			CreationTimestamp: stamp(),
		}
		if r.IntN(5) > 0 {
			a := addr()
			n.InternalIP = netip.PrefixFrom(a, a.BitLen()-8)
		}
		for range 1 + r.IntN(2) {
			if r.IntN(3) == 0 {
				n.PodCIDRs = append(n.PodCIDRs, pick())
			} else {
				n.PodCIDRs = append(n.PodCIDRs, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 2, byte(r.IntN(6)), 0}), 24))
			}
		}
		for range r.IntN(3) {
			n.AllowedLocationIPs = append(n.AllowedLocationIPs, pick())
		}
		n.Leader = r.IntN(4) == 0
		c.Nodes = append(c.Nodes, n)
	}
	for i := range r.IntN(5) {
		p := Peer{Name: fmt.Sprintf("p%d", i), PublicKey: tkey(1 + r.IntN(10)), CreationTimestamp: stamp()}
		for range 1 + r.IntN(3) {
			p.AllowedIPs = append(p.AllowedIPs, pick())
		}
		c.Peers = append(c.Peers, p)
	}
	return c
}

// Many generated clusters, hostile ones included: every view keeps the
// invariants, and the result does not depend on the input order.
func TestInvariantsRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 12))
	for i := range 2000 {
		c := randomCluster(r)
		m := build(t, c)
		checkInvariants(t, m)
		if t.Failed() {
			t.Fatalf("cluster %d: %+v\nproblems: %v", i, c, m.Problems)
		}
		r.Shuffle(len(c.Nodes), func(i, j int) { c.Nodes[i], c.Nodes[j] = c.Nodes[j], c.Nodes[i] })
		r.Shuffle(len(c.Peers), func(i, j int) { c.Peers[i], c.Peers[j] = c.Peers[j], c.Peers[i] })
		m2 := build(t, c)
		if d := cmp.Diff(errorKeys(m.Problems), errorKeys(m2.Problems)); d != "" {
			t.Fatalf("cluster %d: refusals depend on input order (-first +shuffled):\n%s", i, d)
		}
		if d := cmp.Diff(members(m), members(m2)); d != "" {
			t.Fatalf("cluster %d: members depend on input order (-first +shuffled):\n%s", i, d)
		}
	}
}

// A segment the subnet has no address for is absent: what its nodes
// claimed is free for a peer.
func TestExhaustedSegmentFreesClaims(t *testing.T) {
	s := DefaultSettings()
	s.Subnet = pfx("10.4.0.0/30") // room for 3 segments
	var nodes []Node
	for i := 1; i <= 4; i++ {
		nodes = append(nodes, tnode(i, fmt.Sprintf("n%d", i), fmt.Sprintf("loc%d", i), true))
	}
	m := build(t, Cluster{Settings: s, Nodes: nodes, Peers: []Peer{tpeer("p", 50, "10.2.4.0/24")}})
	if _, ok := m.Peer("p"); !ok {
		t.Fatalf("peer refused for n4's pod CIDR, but n4 is not in the mesh: %v", m.Problems)
	}
	checkInvariants(t, m)
}
