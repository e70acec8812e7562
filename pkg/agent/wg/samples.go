package wg

import (
	"time"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/kgctl/kgctl/pkg/health"
)

// Samples reads every peer's latest handshake, byte counters and current
// endpoint, for the tunnels' status and metrics.
func (d *Device) Samples() ([]health.Sample, error) {
	peers, err := d.Peers()
	if err != nil {
		return nil, err
	}
	return samples(peers), nil
}

// samples is the pure half of Samples.
func samples(peers []wgtypes.Peer) []health.Sample {
	out := make([]health.Sample, len(peers))
	for i, p := range peers {
		out[i] = health.Sample{
			PublicKey:     p.PublicKey.String(),
			LastHandshake: p.LastHandshakeTime,
			RxBytes:       p.ReceiveBytes,
			TxBytes:       p.TransmitBytes,
			Endpoint:      currentEndpoint(p.Endpoint),
		}
		// wgctrl reports "never" as the Unix epoch, not the zero time.
		if p.LastHandshakeTime.Unix() <= 0 {
			out[i].LastHandshake = time.Time{}
		}
	}
	return out
}
