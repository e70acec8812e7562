package agent

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"

	"github.com/kgctl/kgctl/pkg/health"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// samplingHost is fakeHost with WireGuard statistics set by the test.
type samplingHost struct {
	fakeHost
	samples []health.Sample
}

func (h *samplingHost) Samples() ([]health.Sample, error) { return h.samples, nil }

func TestStatusPublishedOnChange(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	bKey := wireguard.Key{9}
	b := node("b", "west", "10.0.1.1/24", "10.2.1.0/24", map[string]string{
		translate.KeyKey:      bKey.PublicKey().String(),
		translate.EndpointKey: "198.51.100.2:51820", translate.InternalIPKey: "10.0.1.1/24",
		translate.LastSeenKey: "1800000000",
	})
	self := node("a", "east", "", "10.2.0.0/24", nil)
	cluster := &fakeCluster{nodes: []*corev1.Node{self, b}}
	h := &samplingHost{}
	reg := prometheus.NewPedanticRegistry()
	metrics := NewMetrics()
	if err := metrics.Register(reg); err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{
		Self: Self{Name: "a", PrivateKey: wireguard.Key{7}, InternalIP: netip.MustParsePrefix("10.0.0.1/24"),
			Endpoint: wireguard.Endpoint{Addr: netip.MustParseAddr("198.51.100.1"), Port: 51820}},
		Settings:  topology.DefaultSettings(),
		Host:      HostConfig{Interface: "kilo0", PrivateInterface: "eth0", MeshTable: 1107, EncapTable: 1108},
		Cluster:   cluster,
		Publisher: cluster,
		Data:      h,
		Metrics:   metrics,
		Now:       func() time.Time { return now },
		// A long resync: last-seen refreshes stay out of the way.
		ResyncPeriod: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	handshake := now
	// step reconciles once with b's handshake at handshake and rx bytes.
	step := func(rx int64) {
		t.Helper()
		now = now.Add(10 * time.Second)
		// b's agent stays alive.
		cluster.nodes[1] = withAnnotations(cluster.nodes[1], map[string]*string{translate.LastSeenKey: ptrTo(strconv.FormatInt(now.Unix(), 10))})
		h.samples = []health.Sample{{PublicKey: bKey.PublicKey().String(), LastHandshake: handshake, RxBytes: rx, TxBytes: 2 * rx}}
		if err := a.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	statusWrites := func() []string {
		var out []string
		for _, p := range cluster.patches {
			if v, ok := p[health.Key]; ok {
				out = append(out, *v)
			}
		}
		return out
	}
	step(100)
	// The hash of the config the engine gave this node.
	view, _ := metrics.Mesh().NodeView("a")
	applied := health.Hash(view.WireGuard)
	if got := statusWrites(); len(got) != 0 {
		t.Fatalf("status written after one sample (before hysteresis held): %q", got)
	}
	step(100)
	want := []string{`{"v":1,"up":1,"applied":"` + applied + `"}`}
	if d := cmp.Diff(want, statusWrites()); d != "" {
		t.Fatalf("after two samples (-want +got):\n%s", d)
	}
	// Unchanged states: ten reconciles, no write.
	for range 10 {
		handshake = now
		step(100)
	}
	if d := cmp.Diff(want, statusWrites()); d != "" {
		t.Fatalf("unchanged states wrote the status (-want +got):\n%s", d)
	}
	// The tunnel dies: one old sample is not enough, two are.
	now = now.Add(3 * time.Minute)
	step(100)
	if d := cmp.Diff(want, statusWrites()); d != "" {
		t.Fatalf("one down sample wrote (-want +got):\n%s", d)
	}
	step(100)
	want = append(want, `{"v":1,"up":0,"down":["b"],"applied":"`+applied+`"}`)
	if d := cmp.Diff(want, statusWrites()); d != "" {
		t.Fatalf("after two down samples (-want +got):\n%s", d)
	}
	if got := testutil.ToFloat64(metrics.Tunnels.StatusWrites); got != 2 {
		t.Errorf("kgctl_status_writes_total = %v, want 2", got)
	}

	// Per-peer metrics, labelled by node name.
	wantMetrics := `
# HELP kgctl_peer_receive_bytes_total Bytes received from the peer, as WireGuard counts them.
# TYPE kgctl_peer_receive_bytes_total counter
kgctl_peer_receive_bytes_total{peer="b"} 100
# HELP kgctl_peer_transmit_bytes_total Bytes sent to the peer, as WireGuard counts them.
# TYPE kgctl_peer_transmit_bytes_total counter
kgctl_peer_transmit_bytes_total{peer="b"} 200
# HELP kgctl_peer_up 1 while the tunnel to the peer is up (a handshake within 180 s or bytes received since the last sample, held for two samples), else 0.
# TYPE kgctl_peer_up gauge
kgctl_peer_up{peer="b"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(wantMetrics), "kgctl_peer_receive_bytes_total", "kgctl_peer_transmit_bytes_total", "kgctl_peer_up"); err != nil {
		t.Error(err)
	}
	if got, want := gauge(t, reg, "kgctl_peer_last_handshake_seconds"), float64(handshake.Unix()); got != want {
		t.Errorf("kgctl_peer_last_handshake_seconds = %v, want %v", got, want)
	}

	// b leaves the device: its series go.
	h.samples = nil
	now = now.Add(10 * time.Second)
	if err := a.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, "kgctl_peer_up", "kgctl_peer_receive_bytes_total"); err != nil || n != 0 {
		t.Errorf("series of a removed peer: %d (%v), want 0", n, err)
	}
}

func gauge(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) == 1 {
			return mf.Metric[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no single %s series", name)
	return 0
}

func ptrTo[T any](v T) *T { return &v }
