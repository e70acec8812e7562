// Package detect finds what a node's agent publishes when no annotation
// overrides it: the private interface and internal IP (with its subnet's
// mask), and a public IP for the endpoint. It only reads the host's
// addresses and routes; it changes nothing.
package detect

import "net/netip"

// Facts are what the host says about itself.
type Facts struct {
	// PrivateInterface carries InternalIP: routes to other members of the
	// location leave through it.
	PrivateInterface string
	InternalIP       netip.Prefix
	// PublicIP is the first global, non-private address, if any.
	PublicIP netip.Addr
}

// Options narrow the search.
type Options struct {
	// InternalCIDRs, when set, are where the internal IP must lie
	// (--internal-cidr); otherwise the address the default route uses.
	InternalCIDRs []netip.Prefix
	// Skip lists interfaces that are the mesh's own (kilo0, tunnels).
	Skip []string
}
