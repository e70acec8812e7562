package agent

import (
	"fmt"
	"net/netip"

	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// Compatibility names the cluster network the mesh runs on top of (add-on
// mode, Kilo's --compatibility). The zero value is none: the mesh routes
// inside locations itself.
type Compatibility string

const (
	// CompatibilityNone: the mesh is the cluster's network.
	CompatibilityNone Compatibility = ""
	// CompatibilityFlannel: flannel owns the network inside a location
	// (its interface, its per-node routes, its CNI); the mesh carries
	// only what crosses locations, through the location's leader.
	CompatibilityFlannel Compatibility = "flannel"
)

// FlannelInterface is the link flannel's vxlan backend creates (the name
// Kilo's flannel mode looks for too).
const FlannelInterface = "flannel.1"

// ParseCompatibility parses a --compatibility value. Kilo's "cilium" is
// refused with a message rather than half-supported.
func ParseCompatibility(s string) (Compatibility, error) {
	switch c := Compatibility(s); c {
	case CompatibilityNone, CompatibilityFlannel:
		return c, nil
	case "cilium":
		return "", fmt.Errorf("%q is not supported yet (supported: flannel)", s)
	}
	return "", fmt.Errorf("%q: want flannel (or empty for none)", s)
}

// Settings adapts the mesh's settings to the network underneath: over
// flannel the mesh leaves routes inside a location to flannel (Kilo's
// add-on manifests run --local=false) and never encapsulates (flannel's
// vxlan already does).
func (c Compatibility) Settings(s topology.Settings) topology.Settings {
	if c == CompatibilityFlannel {
		s.Local = false
		s.Encapsulate = topology.EncapsulateNever
	}
	return s
}

// desiredFor is Desired adapted to the network the mesh runs on.
func desiredFor(m *topology.Mesh, v topology.NodeView, key wireguard.Key, hc HostConfig) State {
	s := Desired(m, v, key, hc)
	if hc.Compatibility == CompatibilityFlannel {
		overFlannel(&s, v, hc)
	}
	return s
}

// overFlannel sends a follower's traffic for other locations to its
// leader through flannel's vxlan, as Kilo does: the next hop is the
// leader's flannel address (the network address of its pod CIDR, which
// flannel puts on flannel.1 and resolves to the leader's VTEP) instead of
// the leader's internal IP on the private network. Clouds that drop
// packets with pod addresses between hosts still pass flannel's vxlan.
// A leader needs nothing: flannel's own routes bring replies back to the
// location's other nodes. When the leader has no pod CIDR in its
// internal IP's family (IPv6-only pods on an IPv4 network), the routes
// stay on the private network.
func overFlannel(s *State, v topology.NodeView, hc HostConfig) {
	if v.Leader || v.Segment == nil || len(v.Segment.Nodes) == 0 {
		return
	}
	leader := v.Segment.LeaderNode()
	if !leader.InternalIP.IsValid() {
		return
	}
	via := leader.InternalIP.Addr()
	gw := map[bool]netip.Addr{}
	for _, c := range leader.PodCIDRs {
		if _, ok := gw[c.Addr().Is4()]; !ok {
			gw[c.Addr().Is4()] = c.Masked().Addr()
		}
	}
	for i := range s.Routes.Routes {
		r := &s.Routes.Routes[i]
		if r.Dev != hc.PrivateInterface || r.Gw != via {
			continue
		}
		if g, ok := gw[r.Gw.Is4()]; ok {
			r.Dev, r.Gw, r.OnLink = FlannelInterface, g, true
		}
	}
}
