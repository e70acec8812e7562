package translate

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kgctl/kgctl/pkg/topology"
)

// Limits on what one Node's annotations may cost every agent that reads
// them: without them a 10 MB annotation took seconds and hundreds of MB in
// each agent, on every resync.
const (
	// MaxAnnotationBytes bounds every single-valued Kilo annotation (a
	// key is 44 bytes, a DNS endpoint at most 259).
	MaxAnnotationBytes = 1024
	// MaxAllowedLocationIPs bounds the CIDRs of allowed-location-ips.
	MaxAllowedLocationIPs = 256
	// MaxDiscoveredEndpoints bounds the entries of discovered-endpoints
	// (one per peer behind NAT the node has seen).
	MaxDiscoveredEndpoints = 1024
)

// maxBytes is the length limit of one Kilo annotation: the list-valued
// ones hold up to their entry limit of the longest entry.
func maxBytes(key string) int {
	switch key {
	case AllowedLocationIPsKey:
		return MaxAllowedLocationIPs * 64 // "ffff:...:ffff/128, "
	case DiscoveredEndpointsKey:
		return MaxDiscoveredEndpoints * 128 // "\"<44>\":{\"IP\":\"<39>\",\"Port\":65535},"
	}
	return MaxAnnotationBytes
}

// limitAnnotations returns the annotations with every Kilo annotation over
// its length limit left out (as if unset), each with a problem naming the
// annotation and its size. The map is copied only when one is dropped.
func limitAnnotations(p *problems, a map[string]string) map[string]string {
	var over []string
	for k, v := range a {
		if strings.HasPrefix(k, AnnotationPrefix) && len(v) > maxBytes(k) {
			over = append(over, k)
		}
	}
	if len(over) == 0 {
		return a
	}
	sort.Strings(over)
	out := make(map[string]string, len(a))
	for k, v := range a {
		out[k] = v
	}
	for _, k := range over {
		delete(out, k)
		p.add(topology.Error, k, fmt.Sprintf("%d bytes", len(a[k])),
			fmt.Sprintf("longer than the %d-byte limit; ignored", maxBytes(k)))
	}
	return out
}
