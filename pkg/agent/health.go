package agent

import (
	"time"

	"github.com/kgctl/kgctl/pkg/health"
	"github.com/kgctl/kgctl/pkg/topology"
)

// PeerSampler is implemented by a Host that can read its WireGuard peers'
// live statistics (handshake, bytes). A Host without it publishes no
// status and no per-peer metrics.
type PeerSampler interface {
	Samples() ([]health.Sample, error)
}

// healthReport turns samples of the device into the node's status
// annotation (health.Key) and the per-peer metrics. The status is
// written only when its value changes: a resync with every tunnel in the
// same state writes nothing. With probes (Options.Probe) the
// device is sampled on every probe tick; without, once per reconcile.
type healthReport struct {
	tracker health.Tracker
	samples int
	applied string // hash of the last WireGuard config applied without error
	states  map[string]health.State
	value   string // the encoded status; "" until the tracker has held
}

// sampleHealth is the reconcile's part: it records the applied hash,
// samples the device unless the probe tick does, and renders the status.
// view is this node's view of m; applied says whether its WireGuard
// config was applied without an error.
func (a *Agent) sampleHealth(m *topology.Mesh, view topology.NodeView, applied bool, now time.Time) {
	if applied {
		a.health.applied = health.Hash(view.WireGuard)
	}
	if a.o.Probe.Interval <= 0 {
		a.observeTunnels(nil, now)
	}
	a.renderStatus()
}

// observeTunnels samples the device once: the tracker's states (the
// probed peers by received bytes) and the per-peer metrics. It reports
// whether the device could be sampled.
func (a *Agent) observeTunnels(probed map[string]bool, now time.Time) bool {
	h := &a.health
	ps, ok := a.o.Data.(PeerSampler)
	if !ok {
		return false
	}
	samples, err := ps.Samples()
	if err != nil {
		a.o.Logger.Warn("reading WireGuard peers for the status", "err", err)
		return false
	}
	h.states = h.tracker.ObserveProbed(now, samples, probed, a.o.Probe.Timeout)
	a.o.Metrics.Tunnels.set(samples, h.states, a.names)
	h.samples++
	return true
}

// renderStatus encodes the status from the last states, the applied hash
// and the demoted flag.
func (a *Agent) renderStatus() {
	h := &a.health
	// Before Hold samples every state is still unreported: publishing
	// then would write "0 up" after every restart, then the real value.
	if h.samples < health.Hold {
		return
	}
	s := health.Summarize(h.states, a.names, h.applied)
	if d := a.failover.demoted; !d.IsZero() {
		s.Demoted = d.Unix()
	}
	h.value = health.Encode(s)
}

// statusChange is the status to publish, with ok false when there is
// none yet (the tracker has not held) or the Node's annotations
// (current) already carry it.
func (a *Agent) statusChange(current map[string]string) (v string, ok bool) {
	v = a.health.value
	return v, v != "" && current[health.Key] != v
}

// statusOverlay adds the status about to be published to the node's
// annotations as the mesh is built from them, so a demotion takes effect
// in the same reconcile that publishes it.
func (a *Agent) statusOverlay(current map[string]string, patch map[string]*string) map[string]*string {
	v, ok := a.statusChange(current)
	if !ok {
		return patch
	}
	out := make(map[string]*string, len(patch)+1)
	for k, p := range patch {
		out[k] = p
	}
	out[health.Key] = &v
	return out
}

// statusPatch adds the status to patch when it differs from the Node's.
func (a *Agent) statusPatch(current map[string]string, patch map[string]*string) map[string]*string {
	v, ok := a.statusChange(current)
	if !ok {
		return patch
	}
	if patch == nil {
		patch = map[string]*string{}
	}
	patch[health.Key] = &v
	a.o.Metrics.Tunnels.StatusWrites.Inc()
	return patch
}

// peerNames names every WireGuard peer a node can have by public key: a
// segment by its leader node, a Peer as "peer/NAME" (a Peer and a Node
// may share a name).
func peerNames(m *topology.Mesh) map[string]string {
	out := make(map[string]string, len(m.Segments)+len(m.Peers))
	for i := range m.Segments {
		l := m.Segments[i].LeaderNode()
		out[l.Key.String()] = l.Name
	}
	for _, p := range m.Peers {
		out[p.PublicKey.String()] = "peer/" + p.Name
	}
	return out
}
