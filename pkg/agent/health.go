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

// healthReport turns a sample per reconcile into the node's status
// annotation (health.Key) and the per-peer metrics. The status is
// written only when its value changes: a resync with every tunnel in the
// same state writes nothing.
type healthReport struct {
	tracker health.Tracker
	samples int
	applied string // hash of the last WireGuard config applied without error
	value   string // the encoded status; "" until the tracker has held
}

// sampleHealth samples the device once and updates the status value and
// the per-peer metrics. view is this node's view of m; applied says
// whether its WireGuard config was applied without an error.
func (a *Agent) sampleHealth(m *topology.Mesh, view topology.NodeView, applied bool, now time.Time) {
	h := &a.health
	if applied {
		h.applied = health.Hash(view.WireGuard)
	}
	ps, ok := a.o.Data.(PeerSampler)
	if !ok {
		return
	}
	samples, err := ps.Samples()
	if err != nil {
		a.o.Logger.Warn("reading WireGuard peers for the status", "err", err)
		return
	}
	names := peerNames(m)
	states := h.tracker.Observe(now, samples)
	a.o.Metrics.Tunnels.set(samples, states, names)
	// Before Hold samples every state is still unreported: publishing
	// then would write "0 up" after every restart, then the real value.
	if h.samples++; h.samples < health.Hold {
		return
	}
	h.value = health.Encode(health.Summarize(states, names, h.applied))
}

// statusPatch adds the status to patch when it differs from the Node's.
func (a *Agent) statusPatch(current map[string]string, patch map[string]*string) map[string]*string {
	v := a.health.value
	if v == "" || current[health.Key] == v {
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
