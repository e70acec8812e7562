package agent

import (
	"encoding/json"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// Published is the state a node's agent announces about itself.
type Published struct {
	PublicKey   wireguard.Key
	InternalIP  netip.Prefix
	Endpoint    wireguard.Endpoint
	WireGuardIP netip.Prefix
	Granularity topology.Granularity
	// Discovered are endpoints WireGuard learned for NATed peers, keyed by
	// base64 public key.
	Discovered map[string]netip.AddrPort
	Now        time.Time
	// Refresh is how old last-seen may get before it is rewritten: only
	// the periodic resync refreshes it, so the update our own patch causes
	// does not cause another patch.
	Refresh time.Duration
}

// AnnotationPatch returns the annotations to set (nil value: remove) so
// that current announces p; empty when nothing needs writing.
func AnnotationPatch(current map[string]string, p Published) map[string]*string {
	want := map[string]string{
		translate.KeyKey:         p.PublicKey.String(),
		translate.GranularityKey: string(p.Granularity),
	}
	if p.InternalIP.IsValid() {
		want[translate.InternalIPKey] = p.InternalIP.String()
	}
	if !p.Endpoint.IsZero() {
		want[translate.EndpointKey] = p.Endpoint.String()
	}
	if p.WireGuardIP.IsValid() {
		want[translate.WireGuardIPKey] = p.WireGuardIP.String()
	}
	if len(p.Discovered) > 0 {
		want[translate.DiscoveredEndpointsKey] = discoveredJSON(p.Discovered)
	}
	patch := map[string]*string{}
	for k, v := range want {
		if cur, ok := current[k]; !ok || cur != v {
			patch[k] = &v
		}
	}
	for _, k := range []string{translate.InternalIPKey, translate.EndpointKey, translate.WireGuardIPKey, translate.DiscoveredEndpointsKey} {
		if _, ok := want[k]; !ok {
			if _, has := current[k]; has {
				patch[k] = nil
			}
		}
	}
	seen, err := strconv.ParseInt(current[translate.LastSeenKey], 10, 64)
	if err != nil || p.Now.Sub(time.Unix(seen, 0)) >= p.Refresh || len(patch) > 0 {
		v := strconv.FormatInt(p.Now.Unix(), 10)
		patch[translate.LastSeenKey] = &v
	}
	if len(patch) == 0 {
		return nil
	}
	return patch
}

// discoveredJSON encodes endpoints the way Kilo does (Go's net.UDPAddr),
// so Kilo agents and kgctl agents read each other's.
func discoveredJSON(d map[string]netip.AddrPort) string {
	type udpAddr struct {
		IP   string
		Port int
		Zone string
	}
	out := make(map[string]udpAddr, len(d))
	for _, k := range slices.Sorted(maps.Keys(d)) {
		out[k] = udpAddr{IP: d[k].Addr().String(), Port: int(d[k].Port())}
	}
	b, _ := json.Marshal(out)
	return string(b)
}
