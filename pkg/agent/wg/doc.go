// Package wg is the agent's WireGuard host driver, the only code in kgctl
// that touches WireGuard devices.
//
// Open creates (or reuses) a WireGuard interface, either a kernel link made
// through netlink or WireGuard embedded in this process
// (golang.zx2c4.com/wireguard on a TUN device) that serves the same UAPI
// socket as wireguard-go, so wgctrl and wg(8) see both alike. Apply reads
// the device, computes the difference to a desired wireguard.Config with the
// pure function Diff, and writes only that difference: a resync that finds
// nothing to change makes no write at all. Peers and DiscoveredEndpoints read
// live peer statistics.
//
// It does not decide what the configuration should be (that is the
// engine's job), and it does not manage addresses, routes or firewall rules
// on the interface. It never logs or returns the private key.
package wg
