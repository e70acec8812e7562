package translate

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kgctl/kgctl/pkg/health"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// NodeOptions are the agent flags that change how a Node is read.
type NodeOptions struct {
	// TopologyLabel is the label holding the location (--topology-label).
	TopologyLabel string
}

// problems collects the problems of one object.
type problems struct {
	kind, name string
	list       topology.Problems
}

func (p *problems) add(sev topology.Severity, field, value, msg string) {
	p.list = append(p.list, topology.Problem{Severity: sev, Kind: p.kind, Name: p.name, Field: field, Value: value, Message: msg})
}

// Node reads a Kubernetes Node. ok is false when the node cannot take
// part in the mesh at all (its key or endpoint is unreadable); the
// problems say why.
func Node(n *corev1.Node, opts NodeOptions) (topology.Node, topology.Problems, bool) {
	label := opts.TopologyLabel
	if label == "" {
		label = DefaultTopologyLabel
	}
	p := &problems{kind: "Node", name: n.Name}
	a := limitAnnotations(p, n.Annotations)
	out := topology.Node{Name: n.Name, CreationTimestamp: n.CreationTimestamp.Time}
	ok := true

	// The annotation wins over the label, so a node can be moved into a
	// location of its own (Kilo's mixed topologies).
	if loc, set := a[LocationKey]; set && loc != "" {
		out.Location = loc
	} else {
		out.Location = n.Labels[label]
	}

	if v, set := a[KeyKey]; set && v != "" {
		k, err := wireguard.ParseKey(v)
		if err != nil {
			p.add(topology.Error, KeyKey, v, "not a WireGuard public key (44 characters of base64); node left out of the mesh")
			ok = false
		}
		out.Key = k
	}

	out.Endpoint, ok = endpoint(p, a, ok)
	out.InternalIP = internalIP(p, a)
	out.PodCIDRs = podCIDRs(p, n)

	if v, set := a[PersistentKeepaliveKey]; set && v != "" {
		s, err := strconv.Atoi(v)
		if err != nil || s < 0 || s > 65535 {
			p.add(topology.Error, PersistentKeepaliveKey, v, "want whole seconds in 0-65535; ignored")
		} else {
			out.PersistentKeepalive = time.Duration(s) * time.Second
		}
	}
	if v, set := a[LeaderKey]; set {
		// Kilo counts the annotation's presence, whatever its value: a
		// cluster switching from Kilo keeps its leaders.
		out.Leader = true
		if strings.EqualFold(strings.TrimSpace(v), "false") {
			p.add(topology.Warning, LeaderKey, v, "any value asks to lead, as in Kilo; remove the annotation for this node not to ask")
		}
	}
	for i, s := range splitList(a[AllowedLocationIPsKey]) {
		if i == MaxAllowedLocationIPs {
			p.add(topology.Error, AllowedLocationIPsKey, fmt.Sprintf("%d CIDRs", len(splitList(a[AllowedLocationIPsKey]))),
				fmt.Sprintf("more than %d CIDRs; the rest ignored", MaxAllowedLocationIPs))
			break
		}
		c, err := netip.ParsePrefix(s)
		if err != nil {
			p.add(topology.Error, AllowedLocationIPsKey, s, "not a CIDR; ignored")
			continue
		}
		out.AllowedLocationIPs = append(out.AllowedLocationIPs, c.Masked())
	}
	if v, set := a[LastSeenKey]; set && v != "" {
		s, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			p.add(topology.Error, LastSeenKey, v, "want a Unix time in seconds; ignored")
		} else {
			out.LastSeen = time.Unix(s, 0)
		}
	}
	if v, set := a[GranularityKey]; set && v != "" {
		g, err := topology.ParseGranularity(v)
		if err != nil {
			p.add(topology.Warning, GranularityKey, v, err.Error()+"; ignored")
		}
		out.Granularity = g
	}
	if v := a[StatusKey]; v != "" {
		d, err := Demoted(v)
		if err != nil {
			p.add(topology.Warning, StatusKey, v, err.Error()+"; the node is not taken as demoted")
		}
		out.Demoted = d
	}
	out.DiscoveredEndpoints = discovered(p, a[DiscoveredEndpointsKey])
	out.Ready = Ready(n)
	if d, err := heartbeatInterval(a); err != nil {
		p.add(topology.Warning, HeartbeatIntervalKey, a[HeartbeatIntervalKey], err.Error()+"; ignored: a Ready node is alive whatever its last-seen")
	} else {
		out.HeartbeatInterval = d
	}
	return out, p.list, ok
}

// Demoted reads the "demoted" field of a status annotation (pkg/health):
// when the node's agent gave up leading its location; zero if it did
// not. Only a status that has the field is decoded (the rest of the
// status is kgctl status's business): an error means the value names
// the field but does not decode.
func Demoted(status string) (time.Time, error) {
	if !strings.Contains(status, `"demoted"`) {
		return time.Time{}, nil
	}
	s, err := health.Decode(status)
	if err != nil {
		return time.Time{}, fmt.Errorf("demoted: %w", err)
	}
	if s.Demoted == 0 {
		return time.Time{}, nil
	}
	return time.Unix(s.Demoted, 0), nil
}

// endpoint reads force-endpoint, falling back to the published endpoint.
func endpoint(p *problems, a map[string]string, ok bool) (wireguard.Endpoint, bool) {
	if v, set := a[ForceEndpointKey]; set && v != "" {
		e, err := wireguard.ParseEndpoint(v)
		if err == nil {
			return e, ok
		}
		p.add(topology.Error, ForceEndpointKey, v, err.Error()+"; ignored, using "+EndpointKey)
	}
	v := a[EndpointKey]
	if v == "" {
		return wireguard.Endpoint{}, ok
	}
	e, err := wireguard.ParseEndpoint(v)
	if err != nil {
		p.add(topology.Error, EndpointKey, v, err.Error()+"; node left out of the mesh")
		return wireguard.Endpoint{}, false
	}
	return e, ok
}

// internalIP reads force-internal-ip ("" or "-" disables the internal
// IP), falling back to the published internal-ip.
func internalIP(p *problems, a map[string]string) netip.Prefix {
	if v, set := a[ForceInternalIPKey]; set {
		v = strings.TrimSpace(v)
		if v == "" || v == "-" {
			return netip.Prefix{}
		}
		if c, err := parseHostPrefix(v); err == nil {
			return c
		}
		p.add(topology.Error, ForceInternalIPKey, v, `want a CIDR such as 10.0.0.5/24, or "-" to disable; ignored, using `+InternalIPKey)
	}
	v := a[InternalIPKey]
	if v == "" {
		return netip.Prefix{}
	}
	c, err := parseHostPrefix(v)
	if err != nil {
		p.add(topology.Error, InternalIPKey, v, "want a CIDR such as 10.0.0.5/24; node treated as having no internal IP")
		return netip.Prefix{}
	}
	return c
}

// parseHostPrefix parses an address with its subnet's mask, keeping the
// host bits (10.0.0.5/24); a bare address is a single host.
func parseHostPrefix(s string) (netip.Prefix, error) {
	if c, err := netip.ParsePrefix(s); err == nil {
		return netip.PrefixFrom(c.Addr().Unmap(), c.Bits()), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func podCIDRs(p *problems, n *corev1.Node) []netip.Prefix {
	field, list := "spec.podCIDRs", n.Spec.PodCIDRs
	if len(list) == 0 && n.Spec.PodCIDR != "" {
		field, list = "spec.podCIDR", []string{n.Spec.PodCIDR}
	}
	var out []netip.Prefix
	for i, s := range list {
		c, err := netip.ParsePrefix(s)
		if err != nil {
			f := field
			if field == "spec.podCIDRs" {
				f += "[" + strconv.Itoa(i) + "]"
			}
			p.add(topology.Error, f, s, "not a CIDR; ignored")
			continue
		}
		out = append(out, c.Masked())
	}
	return out
}

// discovered reads Kilo's discovered-endpoints annotation: a JSON object
// from base64 public key to Go's net.UDPAddr encoding ({"IP":…,"Port":…}).
func discovered(p *problems, v string) map[wireguard.Key]netip.AddrPort {
	if v == "" {
		return nil
	}
	var raw map[string]struct {
		IP   string
		Port int
	}
	if err := json.Unmarshal([]byte(v), &raw); err != nil {
		p.add(topology.Warning, DiscoveredEndpointsKey, v, "not a JSON object of endpoints; ignored")
		return nil
	}
	if len(raw) > MaxDiscoveredEndpoints {
		p.add(topology.Warning, DiscoveredEndpointsKey, fmt.Sprintf("%d entries", len(raw)),
			fmt.Sprintf("more than %d entries; ignored", MaxDiscoveredEndpoints))
		return nil
	}
	out := make(map[wireguard.Key]netip.AddrPort, len(raw))
	for k, e := range raw {
		key, err := wireguard.ParseKey(k)
		addr, aerr := netip.ParseAddr(e.IP)
		if err != nil || aerr != nil || addr.Zone() != "" || e.Port <= 0 || e.Port > 65535 {
			p.add(topology.Warning, DiscoveredEndpointsKey, k, "entry is not a key with an IP and port; ignored")
			continue
		}
		out[key] = netip.AddrPortFrom(addr.Unmap(), uint16(e.Port))
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
