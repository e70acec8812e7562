package host

import "github.com/kgctl/kgctl/pkg/health"

// Samples reads the WireGuard peers' statistics (agent.PeerSampler).
func (h *Linux) Samples() ([]health.Sample, error) {
	return h.Device.Samples()
}
