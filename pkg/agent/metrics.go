package agent

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
}

// NewMetrics creates the metrics (unregistered).
func NewMetrics() *Metrics {
	return &Metrics{
		Reconciles:      prometheus.NewCounter(prometheus.CounterOpts{Name: "kgctl_reconciles_total", Help: "Reconciles run."}),
		ReconcileErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "kgctl_reconcile_errors_total", Help: "Reconciles that failed."}),
		Duration:        prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kgctl_reconcile_duration_seconds", Help: "Time to reconcile.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		Writes:          prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kgctl_host_writes_total", Help: "Writes to the host, by subsystem (0 on a no-op resync)."}, []string{"subsystem"}),
		Peers:           prometheus.NewGauge(prometheus.GaugeOpts{Name: "kgctl_wireguard_peers", Help: "WireGuard peers configured."}),
		Leader:          prometheus.NewGauge(prometheus.GaugeOpts{Name: "kgctl_leader", Help: "1 if this node leads its segment."}),
		Patches:         prometheus.NewCounter(prometheus.CounterOpts{Name: "kgctl_node_patches_total", Help: "Patches of the node's annotations."}),
	}
}

// Register adds the metrics to r.
func (m *Metrics) Register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.Reconciles, m.ReconcileErrors, m.Duration, m.Writes, m.Peers, m.Leader, m.Patches} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *Metrics) observe(d time.Duration, err error) {
	m.Reconciles.Inc()
	m.Duration.Observe(d.Seconds())
	if err != nil {
		m.ReconcileErrors.Inc()
	}
}

func (m *Metrics) applied(r HostResult, leader bool, peers int) {
	m.Writes.WithLabelValues("wireguard").Add(float64(r.WireGuardWrites))
	m.Writes.WithLabelValues("route").Add(float64(r.RouteWrites))
	m.Writes.WithLabelValues("iptables").Add(float64(r.IPTablesWrites))
	m.Peers.Set(float64(peers))
	if leader {
		m.Leader.Set(1)
	} else {
		m.Leader.Set(0)
	}
}
