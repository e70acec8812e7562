package agent

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kgctl/kgctl/pkg/health"
)

// PeerMetrics exports each WireGuard peer's statistics as the device
// reported them at the last reconcile, labelled by node or Peer name
// (what Kilo users run a separate exporter for). A peer that leaves the
// device leaves the metrics with it.
type PeerMetrics struct {
	// StatusWrites counts writes of the status annotation.
	StatusWrites prometheus.Counter

	mu    sync.Mutex
	peers []peerSample

	handshake, rx, tx, up *prometheus.Desc
}

type peerSample struct {
	name string
	s    health.Sample
	up   float64
}

func newPeerMetrics() *PeerMetrics {
	l := []string{"peer"}
	return &PeerMetrics{
		StatusWrites: prometheus.NewCounter(prometheus.CounterOpts{Name: "kgctl_status_writes_total", Help: "Writes of the node's kilo.squat.ai/status annotation (one per change of a tunnel's state)."}),
		handshake:    prometheus.NewDesc("kgctl_peer_last_handshake_seconds", "Unix time of the latest WireGuard handshake with the peer (0: never); the age is time() minus this.", l, nil),
		rx:           prometheus.NewDesc("kgctl_peer_receive_bytes_total", "Bytes received from the peer, as WireGuard counts them.", l, nil),
		tx:           prometheus.NewDesc("kgctl_peer_transmit_bytes_total", "Bytes sent to the peer, as WireGuard counts them.", l, nil),
		up:           prometheus.NewDesc("kgctl_peer_up", "1 while the tunnel to the peer is up (a handshake within 180 s or bytes received since the last sample, held for two samples), else 0.", l, nil),
	}
}

// set replaces the exported peers.
func (p *PeerMetrics) set(samples []health.Sample, states map[string]health.State, names map[string]string) {
	out := make([]peerSample, 0, len(samples))
	for _, s := range samples {
		name := names[s.PublicKey]
		if name == "" {
			name = s.PublicKey
		}
		up := 0.0
		if states[s.PublicKey] == health.Up {
			up = 1
		}
		out = append(out, peerSample{name: name, s: s, up: up})
	}
	p.mu.Lock()
	p.peers = out
	p.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (p *PeerMetrics) Describe(ch chan<- *prometheus.Desc) {
	p.StatusWrites.Describe(ch)
	for _, d := range []*prometheus.Desc{p.handshake, p.rx, p.tx, p.up} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (p *PeerMetrics) Collect(ch chan<- prometheus.Metric) {
	p.StatusWrites.Collect(ch)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ps := range p.peers {
		hs := 0.0
		if !ps.s.LastHandshake.IsZero() {
			hs = float64(ps.s.LastHandshake.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(p.handshake, prometheus.GaugeValue, hs, ps.name)
		ch <- prometheus.MustNewConstMetric(p.rx, prometheus.CounterValue, float64(ps.s.RxBytes), ps.name)
		ch <- prometheus.MustNewConstMetric(p.tx, prometheus.CounterValue, float64(ps.s.TxBytes), ps.name)
		ch <- prometheus.MustNewConstMetric(p.up, prometheus.GaugeValue, ps.up, ps.name)
	}
}
