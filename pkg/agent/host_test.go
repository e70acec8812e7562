package agent_test

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kgctl/kgctl/internal/golden"
	"github.com/kgctl/kgctl/pkg/agent"
	"github.com/kgctl/kgctl/pkg/agent/host/fakehost"
	"github.com/kgctl/kgctl/pkg/source"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// cluster is a cache that applies the agent's patches and records its
// Events.
type cluster struct {
	nodes  []*corev1.Node
	events []string
}

func (c *cluster) Objects() source.Objects  { return source.Objects{Nodes: c.nodes} }
func (c *cluster) Changed() <-chan struct{} { return nil }
func (c *cluster) Event(node, reason, msg string) {
	c.events = append(c.events, fmt.Sprintf("Warning %s node/%s: %s", reason, node, msg))
}
func (c *cluster) Annotate(_ context.Context, name string, a map[string]*string) error {
	for _, n := range c.nodes {
		if n.Name != name {
			continue
		}
		for k, v := range a {
			if v == nil {
				delete(n.Annotations, k)
			} else {
				n.Annotations[k] = *v
			}
		}
	}
	return nil
}

var now = time.Unix(1_800_000_000, 0)

func meshNode(name, location, internal, pod string, key byte) *corev1.Node {
	k := wireguard.Key{0, key}
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{translate.DefaultTopologyLabel: location}, Annotations: map[string]string{
		translate.KeyKey: k.PublicKey().String(), translate.InternalIPKey: internal + "/24",
		translate.EndpointKey: internal + ":51820", translate.LastSeenKey: fmt.Sprint(now.Unix()),
	}}}
	n.Spec.PodCIDR = pod
	return n
}

// world is one node's agent over a fake host, in a cluster of three: a
// (this node) and b in location east, c in west.
type world struct {
	t       *testing.T
	c       *cluster
	h       *fakehost.Host
	a       *agent.Agent
	m       *agent.Metrics
	cniErr  error
	log     strings.Builder
	out     strings.Builder
	settled int // events already printed
}

func newWorld(t *testing.T, h *fakehost.Host) *world {
	w := &world{t: t, h: h, c: &cluster{nodes: []*corev1.Node{
		meshNode("a", "east", "10.0.0.1", "10.2.0.0/24", 1),
		meshNode("b", "east", "10.0.0.2", "10.2.1.0/24", 2),
		meshNode("c", "west", "10.1.0.1", "10.2.2.0/24", 3),
	}}}
	w.start()
	return w
}

// start runs a new agent over the host as it is (a restart).
func (w *world) start() {
	w.t.Helper()
	m := agent.NewMetrics()
	if err := m.Register(prometheus.NewRegistry()); err != nil {
		w.t.Fatal(err)
	}
	w.m = m
	a, err := agent.New(agent.Options{
		Self: agent.Self{Name: "a", PrivateKey: wireguard.Key{0, 1}, InternalIP: netip.MustParsePrefix("10.0.0.1/24"),
			Endpoint: wireguard.Endpoint{Addr: netip.MustParseAddr("10.0.0.1"), Port: 51820}},
		Settings: func() topology.Settings {
			s := topology.DefaultSettings()
			s.Encapsulate, s.Local = topology.EncapsulateAlways, true // the agent's defaults
			return s
		}(),
		Host: agent.HostConfig{Interface: "kilo0", PrivateInterface: "eth0", Tunnel: "tunl0",
			MeshTable: 1107, EncapTable: 1108, EncapPriority: 1106, FirewallMark: 0x1000, MarkPriority: 1105, CNI: true},
		Cluster: w.c, Publisher: w.c, Data: w.h,
		Now:      func() time.Time { return now },
		Logger:   slog.New(slog.NewTextHandler(&w.log, &slog.HandlerOptions{ReplaceAttr: dropTime})),
		Metrics:  m,
		WriteCNI: func([]netip.Prefix) error { return w.cniErr },
	})
	if err != nil {
		w.t.Fatal(err)
	}
	w.a = a
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// step reconciles once and records the host, the new Events and log
// lines, and the part metrics under the step's name.
func (w *world) step(name string) {
	w.t.Helper()
	if err := w.a.Reconcile(context.Background()); err != nil {
		w.t.Fatalf("%s: reconcile: %v", name, err)
	}
	fmt.Fprintf(&w.out, "=== %s\n%s", name, w.h)
	fmt.Fprintf(&w.out, "# events\n")
	for _, e := range w.c.events[w.settled:] {
		fmt.Fprintln(&w.out, e)
	}
	w.settled = len(w.c.events)
	fmt.Fprintf(&w.out, "# log\n%s", w.log.String())
	w.log.Reset()
	fmt.Fprintf(&w.out, "# metrics\n")
	for _, p := range agent.Parts {
		fmt.Fprintf(&w.out, "kgctl_host_part_errors{part=%q} %v, failures %v\n", p,
			value(w.m.PartErrors.WithLabelValues(string(p))), value(w.m.PartFailures.WithLabelValues(string(p))))
	}
}

func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return -1
	}
	if d.Gauge != nil {
		return d.Gauge.GetValue()
	}
	return d.Counter.GetValue()
}

func (w *world) check() {
	w.t.Helper()
	golden.File(w.t, filepath.Join("testdata", "host", w.t.Name()+".golden"), w.out.String(), *update)
}

// TestHostWithoutIPIP: with the default --encapsulate=always on a kernel
// without ipip, the node says so once and routes inside its location
// without encapsulation; a resync says nothing new and writes nothing;
// once ipip appears, the tunnel is used.
func TestHostWithoutIPIP(t *testing.T) {
	w := newWorld(t, fakehost.New("kilo0", "eth0"))
	w.step("first reconcile, no ipip")
	w.step("resync, still no ipip")
	w.h.IPIP = true
	w.step("ipip appears")
	w.check()
}

// TestHostPartFails: each part failing on its own is reported once (log
// line, Event, metric) while every other part converges, and recovers.
func TestHostPartFails(t *testing.T) {
	for _, p := range agent.Parts {
		t.Run(string(p), func(t *testing.T) {
			h := fakehost.New("kilo0", "eth0")
			h.IPIP = true
			w := newWorld(t, h)
			if p == agent.PartCNI {
				w.cniErr = fmt.Errorf("open /etc/cni/net.d/10-kilo.conflist: read-only file system")
			} else {
				h.Fail(p, nil)
			}
			w.step("fails")
			w.step("resync, still failing")
			w.cniErr = nil
			h.Heal(p)
			w.step("healed")
			w.check()
		})
	}
}

// TestHostRestart: a new agent over the state an earlier one left writes
// nothing and says nothing.
func TestHostRestart(t *testing.T) {
	h := fakehost.New("kilo0", "eth0")
	h.IPIP = true
	w := newWorld(t, h)
	w.step("first agent")
	w.start()
	w.step("second agent over the same host")
	w.check()
}

// TestHostTwoPartsFail: parts failing together are one Event naming each
// (the events API folds Events of one reason on one object into one).
func TestHostTwoPartsFail(t *testing.T) {
	h := fakehost.New("kilo0", "eth0")
	h.IPIP = true
	w := newWorld(t, h)
	h.Fail(agent.PartRules, nil)
	h.Fail(agent.PartIPTables, nil)
	w.step("rules and iptables fail")
	w.check()
}
