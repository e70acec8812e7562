package wg

import (
	"net/netip"
	"time"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// Peers reads the device's peers with their live statistics: last
// handshake, bytes received and sent, and the endpoint WireGuard uses now.
func (d *Device) Peers() ([]wgtypes.Peer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(); err != nil {
		return nil, err
	}
	dev, err := d.client.Device(d.name)
	if err != nil {
		return nil, fmtReadErr(d.name, err)
	}
	return dev.Peers, nil
}

// DiscoveredEndpoints returns, keyed by base64 public key, the endpoint
// WireGuard actually sees for every peer that completed a handshake at most
// maxAge before now on the host's clock, which the device stamps
// handshakes with (never the agent's injected one). For a peer behind NAT that is the address its NAT
// maps it to, which the node can publish for others (Kilo's
// discovered-endpoints annotation).
func (d *Device) DiscoveredEndpoints(maxAge time.Duration) (map[string]netip.AddrPort, error) {
	peers, err := d.Peers()
	if err != nil {
		return nil, err
	}
	return discoveredEndpoints(peers, maxAge, time.Now()), nil
}

// discoveredEndpoints is the pure half of DiscoveredEndpoints.
func discoveredEndpoints(peers []wgtypes.Peer, maxAge time.Duration, now time.Time) map[string]netip.AddrPort {
	out := make(map[string]netip.AddrPort)
	for _, p := range peers {
		ep := currentEndpoint(p.Endpoint)
		if !ep.IsValid() || p.LastHandshakeTime.IsZero() || now.Sub(p.LastHandshakeTime) > maxAge {
			continue
		}
		out[p.PublicKey.String()] = ep
	}
	return out
}
