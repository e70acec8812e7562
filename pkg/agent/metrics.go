package agent

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kgctl/kgctl/pkg/topology"
)

// Metrics are the agent's Prometheus metrics.
type Metrics struct {
	Reconciles      prometheus.Counter
	ReconcileErrors prometheus.Counter
	Duration        prometheus.Histogram
	Writes          *prometheus.CounterVec
	Peers           prometheus.Gauge
	Leader          prometheus.Gauge
	Patches         prometheus.Counter
	// Kilo holds Kilo's names for the same values, so a Kilo dashboard
	// keeps working.
	Kilo KiloMetrics

	ready     chan struct{}
	readyOnce sync.Once
	applyNow  bool // this reconcile applied the host
	mesh      atomic.Pointer[topology.Mesh]
	// PartErrors is 1 while a part of the host fails; PartFailures counts
	// the applies in which it failed.
	PartErrors   *prometheus.GaugeVec
	PartFailures *prometheus.CounterVec
	// Tunnels are the per-peer WireGuard metrics (peer_metrics.go).
	Tunnels *PeerMetrics
}

// NewMetrics creates the metrics (unregistered).
func NewMetrics() *Metrics {
	m := &Metrics{
		Kilo:            newKiloMetrics(),
		Tunnels:         newPeerMetrics(),
		ready:           make(chan struct{}),
		Reconciles:      prometheus.NewCounter(prometheus.CounterOpts{Name: "kgctl_reconciles_total", Help: "Reconciles run."}),
		ReconcileErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "kgctl_reconcile_errors_total", Help: "Reconciles that failed."}),
		Duration:        prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kgctl_reconcile_duration_seconds", Help: "Time to reconcile.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		Writes:          prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kgctl_host_writes_total", Help: "Writes to the host, by subsystem (0 on a no-op resync)."}, []string{"subsystem"}),
		Peers:           prometheus.NewGauge(prometheus.GaugeOpts{Name: "kgctl_wireguard_peers", Help: "WireGuard peers configured."}),
		Leader:          prometheus.NewGauge(prometheus.GaugeOpts{Name: "kgctl_leader", Help: "1 if this node leads its segment."}),
		Patches:         prometheus.NewCounter(prometheus.CounterOpts{Name: "kgctl_node_patches_total", Help: "Patches of the node's annotations."}),
		PartErrors:      prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kgctl_host_part_errors", Help: "1 while a part of the host (tunnel, wireguard, addresses, routes, rules, iptables, cni) fails to apply."}, []string{"part"}),
		PartFailures:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kgctl_host_part_failures_total", Help: "Applies in which a part of the host failed."}, []string{"part"}),
	}
	return m
}

// Register adds the metrics to r.
func (m *Metrics) Register(r prometheus.Registerer) error {
	for _, c := range append([]prometheus.Collector{m.Reconciles, m.ReconcileErrors, m.Duration, m.Writes, m.Peers, m.Leader, m.Patches, m.PartErrors, m.PartFailures, m.Tunnels}, m.Kilo.collectors()...) {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *Metrics) observe(d time.Duration, err error) {
	m.Reconciles.Inc()
	m.Kilo.Reconciles.Inc()
	m.Duration.Observe(d.Seconds())
	if err != nil {
		m.ReconcileErrors.Inc()
		m.Kilo.Errors.WithLabelValues("apply").Inc()
	} else if m.applyNow && m.ready != nil {
		m.readyOnce.Do(func() { close(m.ready) })
	}
	m.applyNow = false
}

// Ready is closed after the first reconcile that applied the whole host
// without an error: /health answers 200 from then on.
func (m *Metrics) Ready() <-chan struct{} { return m.ready }

// Mesh is the mesh the last reconcile computed (nil before the first):
// what /graph draws, the mesh as this agent sees it. It is read-only.
func (m *Metrics) Mesh() *topology.Mesh { return m.mesh.Load() }

// KiloMetrics are the metrics Kilo's agent exports, under its names.
type KiloMetrics struct {
	Nodes      prometheus.Gauge
	Peers      prometheus.Gauge
	Leader     prometheus.Gauge
	Reconciles prometheus.Counter
	// Errors is labelled by event as Kilo's is; every failed reconcile
	// counts as "apply".
	Errors *prometheus.CounterVec
}

func newKiloMetrics() KiloMetrics {
	k := KiloMetrics{
		Nodes:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "kilo_nodes", Help: "Number of nodes in the mesh."}),
		Peers:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "kilo_peers", Help: "Number of peers in the mesh."}),
		Leader:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "kilo_leader", Help: "Leadership status of the node."}),
		Reconciles: prometheus.NewCounter(prometheus.CounterOpts{Name: "kilo_reconciles_total", Help: "Number of reconciliation attempts."}),
		Errors:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kilo_errors_total", Help: "Number of errors that occurred while administering the mesh."}, []string{"event"}),
	}
	k.Errors.WithLabelValues("apply") // present at 0, as a rate() needs
	return k
}

func (k KiloMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{k.Nodes, k.Peers, k.Leader, k.Reconciles, k.Errors}
}

// meshed records the size of the mesh as Kilo counts it: the nodes and
// peers that take part.
func (m *Metrics) meshed(mesh *topology.Mesh) {
	m.mesh.Store(mesh)
	n := 0
	for _, s := range mesh.Segments {
		n += len(s.Nodes)
	}
	m.Kilo.Nodes.Set(float64(n))
	m.Kilo.Peers.Set(float64(len(mesh.Peers)))
}

func (m *Metrics) applied(r HostResult, leader bool, peers int) {
	m.Writes.WithLabelValues("wireguard").Add(float64(r.WireGuardWrites))
	m.Writes.WithLabelValues("route").Add(float64(r.RouteWrites))
	m.Writes.WithLabelValues("iptables").Add(float64(r.IPTablesWrites))
	m.Peers.Set(float64(peers))
	m.applyNow = true
	if leader {
		m.Leader.Set(1)
		m.Kilo.Leader.Set(1)
	} else {
		m.Leader.Set(0)
		m.Kilo.Leader.Set(0)
	}
}

func (m *Metrics) part(p Part, failed bool) {
	if failed {
		m.PartErrors.WithLabelValues(string(p)).Set(1)
		m.PartFailures.WithLabelValues(string(p)).Inc()
		return
	}
	m.PartErrors.WithLabelValues(string(p)).Set(0)
	m.PartFailures.WithLabelValues(string(p)) // present at 0 from the start
}
