package source

import (
	"flag"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kgctl/kgctl/internal/golden"
	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

const (
	keyA = "0cB+5fOn1uuZ0/hl87NQd8C5s3cJZUXBB9RzMvt9ljs="
	keyB = "GY5aT1N9dTR/nJnT1N2f4ClZWVj0jOAld0r8ysWLyjg="
	keyC = "2/xU029dz/WtvMZAbnSzmhicl8U1/Y3NYmunRr8EJ0Q="
	keyP = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
)

func kiloNode(name, key, endpoint, pod string, extra ...string) *corev1.Node {
	ann := map[string]string{translate.KeyKey: key, translate.EndpointKey: endpoint}
	for i := 0; i+1 < len(extra); i += 2 {
		ann[extra[i]] = extra[i+1]
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: ann, Labels: map[string]string{translate.DefaultTopologyLabel: "gcp"}},
		Spec:       corev1.NodeSpec{PodCIDR: pod},
	}
}

func kiloPeer(name, key string, allowed ...string) *v1alpha1.Peer {
	return &v1alpha1.Peer{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.PeerSpec{PublicKey: key, AllowedIPs: allowed}}
}

func problemLines(ps topology.Problems) []string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s %s/%s %s %s", p.Severity, p.Kind, p.Name, p.Field, p.Value))
	}
	return out
}

// One bad object never costs the others their place; every problem is
// returned, nodes' before peers', each in input order.
func TestTranslateKeepsGoodObjects(t *testing.T) {
	objs := Objects{
		Nodes: []*corev1.Node{
			kiloNode("a", keyA, "198.51.100.1:51820", "10.2.0.0/24"),
			kiloNode("bad-key", "nope", "198.51.100.2:51820", "10.2.1.0/24"),
			kiloNode("b", keyB, "198.51.100.3:51820", "10.2.2.0/24", translate.PersistentKeepaliveKey, "often"),
			kiloNode("bad-endpoint", keyC, "somewhere", "10.2.3.0/24"),
		},
		Peers: []*v1alpha1.Peer{
			kiloPeer("bad-peer", "short", "10.5.0.9/32"),
			kiloPeer("p", keyP, "10.5.0.1/32", "not-a-cidr"),
		},
	}
	settings := topology.DefaultSettings()
	settings.Port = 51999
	c, problems := Translate(objs, Options{Settings: settings})

	var nodes, peers []string
	for _, n := range c.Nodes {
		nodes = append(nodes, n.Name)
	}
	for _, p := range c.Peers {
		peers = append(peers, p.Name)
	}
	if d := cmp.Diff([]string{"a", "b"}, nodes); d != "" {
		t.Errorf("nodes (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"p"}, peers); d != "" {
		t.Errorf("peers (-want +got):\n%s", d)
	}
	want := []string{
		"error Node/bad-key kilo.squat.ai/key nope",
		"error Node/b kilo.squat.ai/persistent-keepalive often",
		"error Node/bad-endpoint kilo.squat.ai/endpoint somewhere",
		"error Peer/bad-peer spec.publicKey short",
		"error Peer/p spec.allowedIPs[1] not-a-cidr",
	}
	if d := cmp.Diff(want, problemLines(problems)); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	if c.Settings.Port != 51999 || c.Settings.Granularity != topology.LocationGranularity {
		t.Errorf("settings not passed through: %+v", c.Settings)
	}
	if got := c.Peers[0].AllowedIPs; len(got) != 1 || got[0] != netip.MustParsePrefix("10.5.0.1/32") {
		t.Errorf("peer p allowed IPs %v", got)
	}

	// The node options reach every node.
	c, _ = Translate(Objects{Nodes: []*corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "x", Labels: map[string]string{"example.com/site": "lab"}}}}},
		Options{Node: translate.NodeOptions{TopologyLabel: "example.com/site"}})
	if c.Nodes[0].Location != "lab" {
		t.Errorf("topology label not used: location %q", c.Nodes[0].Location)
	}

	// Nothing in, nothing out, and never nil nodes.
	c, problems = Translate(Objects{}, Options{})
	if c.Nodes == nil || len(c.Nodes) != 0 || len(c.Peers) != 0 || len(problems) != 0 {
		t.Errorf("empty: %+v %v", c, problems)
	}
}

func TestBuildProblems(t *testing.T) {
	objs := Objects{
		Nodes: []*corev1.Node{
			kiloNode("a", keyA, "198.51.100.1:51820", "10.2.0.0/24"),
			kiloNode("bad-key", "nope", "198.51.100.2:51820", "10.2.1.0/24"),
			kiloNode("a", keyB, "198.51.100.3:51820", "10.2.2.0/24"), // duplicate name
			kiloNode("no-pods", keyC, "198.51.100.4:51820", ""),
		},
		Peers: []*v1alpha1.Peer{kiloPeer("p", keyP, "10.5.0.1/32")},
	}
	m, problems, err := Build(objs, Options{Settings: topology.DefaultSettings()})
	if err != nil {
		t.Fatal(err)
	}
	// Translation's problems first, then the engine's.
	want := []string{
		"error Node/bad-key kilo.squat.ai/key nope",
		"error Node/a metadata.name a",
		"error Node/no-pods spec.podCIDR ",
	}
	if d := cmp.Diff(want, problemLines(problems)); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"a"}, m.NodeNames()); d != "" {
		t.Errorf("nodes in the mesh (-want +got):\n%s", d)
	}
	if n, ok := m.Node("a"); !ok || n.Key.String() != keyA {
		t.Errorf("the first node a is used: %+v", n)
	}
	if _, ok := m.Peer("p"); !ok {
		t.Error("peer p left out")
	}

	// Bad settings fail the build; translation's problems are still returned.
	bad := topology.DefaultSettings()
	bad.Port = 0
	m, problems, err = Build(objs, Options{Settings: bad})
	if err == nil || err.Error() != "--port: 0 is not in 1-65535" || m != nil {
		t.Errorf("bad settings: %v, %v", m, err)
	}
	if d := cmp.Diff(want[:1], problemLines(problems)); d != "" {
		t.Errorf("problems with bad settings (-want +got):\n%s", d)
	}
}

func TestObjectsSortStable(t *testing.T) {
	n := func(name, tag string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"tag": tag}}}
	}
	p := func(name, tag string) *v1alpha1.Peer {
		return &v1alpha1.Peer{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"tag": tag}}}
	}
	objs := Objects{
		Nodes: []*corev1.Node{n("b", "1"), n("a", "1"), n("b", "2"), n("A", "1"), n("a", "2"), n("a-1", "1")},
		Peers: []*v1alpha1.Peer{p("z", "1"), p("y", "1"), p("z", "2")},
	}
	objs.Sort()
	var got []string
	for _, x := range objs.Nodes {
		got = append(got, "node/"+x.Name+"#"+x.Labels["tag"])
	}
	for _, x := range objs.Peers {
		got = append(got, "peer/"+x.Name+"#"+x.Labels["tag"])
	}
	// Byte order (upper case first), and equal names keep their order.
	want := []string{"node/A#1", "node/a#1", "node/a#2", "node/a-1#1", "node/b#1", "node/b#2", "peer/y#1", "peer/z#1", "peer/z#2"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	var empty Objects
	empty.Sort()
	if empty.Nodes != nil || empty.Peers != nil {
		t.Errorf("sorting nothing made %+v", empty)
	}
}

// TestClusterDump reads testdata/cluster (a `kubectl get -o yaml` dump of
// a Kilo cluster, Kilo's manifests and a README) the way `kgctl -f DIR`
// does, and pins what the engine is given and the problems found.
func TestClusterDump(t *testing.T) {
	objs, err := Files([]string{filepath.Join("testdata", "cluster")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	objs.Sort()
	settings := topology.DefaultSettings()
	settings.Now = time.Unix(1700000030, 0)
	m, problems, err := Build(objs, Options{Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := Translate(objs, Options{Settings: settings})

	var b strings.Builder
	for _, n := range c.Nodes {
		fmt.Fprintf(&b, "node %s\n", n.Name)
		line := func(k string, v any) {
			if s := fmt.Sprint(v); s != "" && s != "[]" && s != "false" && s != "0s" {
				fmt.Fprintf(&b, "  %s: %s\n", k, s)
			}
		}
		line("location", n.Location)
		line("leader", n.Leader)
		line("key", n.Key)
		line("endpoint", n.Endpoint)
		if n.InternalIP.IsValid() {
			line("internal IP", n.InternalIP)
		}
		line("pod CIDRs", n.PodCIDRs)
		line("keepalive", n.PersistentKeepalive)
		line("allowed location IPs", n.AllowedLocationIPs)
		if !n.LastSeen.IsZero() {
			line("last seen", n.LastSeen.UTC().Format(time.RFC3339))
		}
		line("granularity", n.Granularity)
	}
	for _, p := range c.Peers {
		fmt.Fprintf(&b, "peer %s\n  key: %s\n  allowed IPs: %v\n", p.Name, p.PublicKey, p.AllowedIPs)
		if !p.Endpoint.IsZero() {
			fmt.Fprintf(&b, "  endpoint: %s\n", p.Endpoint)
		}
		if p.PersistentKeepalive > 0 {
			fmt.Fprintf(&b, "  keepalive: %s\n", p.PersistentKeepalive)
		}
	}
	b.WriteString("\nproblems\n")
	for _, p := range problems {
		fmt.Fprintf(&b, "  %s\n", p)
	}
	b.WriteString("\nsegments\n")
	for _, s := range m.Segments {
		var members []string
		for _, n := range s.Nodes {
			members = append(members, n.Name)
		}
		fmt.Fprintf(&b, "  %s: nodes %s, leader %s, WireGuard IP %s\n", s.Name, strings.Join(members, " "), s.LeaderNode().Name, s.WireGuardIP)
	}
	golden.File(t, filepath.Join("testdata", "cluster.golden"), b.String(), *update)

	// The README and Kilo's own manifests were passed over quietly.
	if !slices.ContainsFunc(objs.Nodes, func(n *corev1.Node) bool { return n.Name == "gcp-1" }) || len(objs.Nodes) != 4 || len(objs.Peers) != 3 {
		t.Errorf("read %v", names(objs))
	}
	if _, ok := m.NodeConfig("gcp-1"); !ok {
		t.Error("no config for gcp-1")
	}
}
