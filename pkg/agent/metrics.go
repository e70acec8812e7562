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
	// PartErrors is 1 while a part of the host fails; PartFailures counts
	// the applies in which it failed.
	PartErrors   *prometheus.GaugeVec
	PartFailures *prometheus.CounterVec
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
		PartErrors:      prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kgctl_host_part_errors", Help: "1 while a part of the host (tunnel, wireguard, addresses, routes, rules, iptables, cni) fails to apply."}, []string{"part"}),
		PartFailures:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kgctl_host_part_failures_total", Help: "Applies in which a part of the host failed."}, []string{"part"}),
	}
}

// Register adds the metrics to r.
func (m *Metrics) Register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.Reconciles, m.ReconcileErrors, m.Duration, m.Writes, m.Peers, m.Leader, m.Patches, m.PartErrors, m.PartFailures} {
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

func (m *Metrics) part(p Part, failed bool) {
	if failed {
		m.PartErrors.WithLabelValues(string(p)).Set(1)
		m.PartFailures.WithLabelValues(string(p)).Inc()
		return
	}
	m.PartErrors.WithLabelValues(string(p)).Set(0)
	m.PartFailures.WithLabelValues(string(p)) // present at 0 from the start
}
