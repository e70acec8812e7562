package plan

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/kgctl/kgctl/pkg/topology"
)

// warnings are the after state's problems (the engine already checks
// unreachable leaders, peers without a reachable segment and the
// overlaps it drops), plus what only a plan sees: allowed IPs that
// overlap between segments, and WireGuard IPs that are renumbered. A
// warning is New when the before state did not have it.
func warnings(b, a *topology.Mesh, bp, ap topology.Problems) []Warning {
	seen := make(map[topology.Problem]bool, len(bp))
	for _, p := range bp {
		seen[p] = true
	}
	for _, p := range overlaps(b) {
		seen[p] = true
	}
	var out []Warning
	add := func(p topology.Problem) {
		out = append(out, Warning{Severity: p.Severity, Kind: p.Kind, Name: p.Name, Field: p.Field, Value: p.Value, Message: p.Message, New: !seen[p]})
	}
	for _, p := range ap {
		add(p)
	}
	for _, p := range overlaps(a) {
		add(p)
	}
	if w, ok := renumbered(b, a); ok {
		out = append(out, w)
	}
	slices.SortStableFunc(out, compareWarning)
	return slices.CompactFunc(out, func(x, y Warning) bool { return x == y })
}

func compareWarning(a, b Warning) int {
	if a.Severity != b.Severity {
		if a.Severity == topology.Error {
			return -1
		}
		if b.Severity == topology.Error {
			return 1
		}
	}
	return cmp.Or(
		strings.Compare(a.Kind, b.Kind),
		strings.Compare(a.Name, b.Name),
		strings.Compare(a.Field, b.Field),
		strings.Compare(a.Value, b.Value),
		strings.Compare(a.Message, b.Message),
	)
}

// owned is a prefix some segment routes, and what it comes from.
type owned struct {
	prefix  netip.Prefix
	segment int
	kind    string
	name    string
	field   string
}

// phrase names the owner for a message.
func (o owned) phrase(m *topology.Mesh) string {
	s := &m.Segments[o.segment]
	if o.kind == "Node" {
		return fmt.Sprintf("node %s in %s", o.name, segmentName(s.Name, s.Location))
	}
	return fmt.Sprintf("%s (%s)", segmentName(s.Name, s.Location), o.field)
}

// overlaps finds allowed IPs of different segments that overlap: the
// WireGuard peer with the most specific one gets the traffic, so part of
// one segment's addresses are sent to another. Equal pod CIDRs are left
// to the engine, which reports them already.
func overlaps(m *topology.Mesh) topology.Problems {
	var all []owned
	for si := range m.Segments {
		s := &m.Segments[si]
		for _, n := range s.Nodes {
			for _, c := range n.PodCIDRs {
				all = append(all, owned{c.Masked(), si, "Node", n.Name, "spec.podCIDR"})
			}
			if n.InternalIP.IsValid() {
				a := n.InternalIP.Addr()
				all = append(all, owned{netip.PrefixFrom(a, a.BitLen()), si, "Node", n.Name, "kilo.squat.ai/internal-ip"})
			}
		}
		for _, c := range s.AllowedLocationIPs {
			all = append(all, owned{c.Masked(), si, "Location", s.Name, "kilo.squat.ai/allowed-location-ips"})
		}
		if a := s.WireGuardIP; a.IsValid() {
			all = append(all, owned{netip.PrefixFrom(a, a.BitLen()), si, "Location", s.Name, "wireguard-ip"})
		}
	}
	// Sorted by address, the shortest prefix first, a prefix overlaps
	// exactly the ones still open on the stack that contain its address.
	slices.SortStableFunc(all, func(x, y owned) int { return comparePrefix(x.prefix, y.prefix) })
	var ps topology.Problems
	var open []owned
	for _, o := range all {
		for len(open) > 0 && !open[len(open)-1].prefix.Contains(o.prefix.Addr()) {
			open = open[:len(open)-1]
		}
		for i := len(open) - 1; i >= 0; i-- {
			c := open[i]
			if c.segment == o.segment {
				continue
			}
			if c.prefix == o.prefix && c.field == "spec.podCIDR" && o.field == "spec.podCIDR" {
				break
			}
			ps = append(ps, topology.Problem{Severity: topology.Warning, Kind: o.kind, Name: o.name, Field: o.field, Value: o.prefix.String(),
				Message: fmt.Sprintf("overlaps %s of %s: WireGuard sends each address to the segment with the most specific allowed IP", c.prefix, c.phrase(m))})
			break
		}
		open = append(open, o)
	}
	return ps
}

// renumbered warns once when nodes that lead before and after get
// another WireGuard IP: leaders are numbered in segment order, so adding
// or removing a segment shifts the ones after it, and connections to the
// old addresses break.
func renumbered(b, a *topology.Mesh) (Warning, bool) {
	old := make(map[string]netip.Addr, len(b.Segments))
	for i := range b.Segments {
		s := &b.Segments[i]
		old[s.LeaderNode().Name] = s.WireGuardIP
	}
	var moved []string
	for i := range a.Segments {
		s := &a.Segments[i]
		l := s.LeaderNode().Name
		if ip, ok := old[l]; ok && ip != s.WireGuardIP {
			moved = append(moved, fmt.Sprintf("%s %s→%s", l, ip, s.WireGuardIP))
		}
	}
	if len(moved) == 0 {
		return Warning{}, false
	}
	return Warning{
		Severity: topology.Warning, Kind: "Mesh", Field: "wireguard-ip", New: true,
		Message: fmt.Sprintf("%s a new WireGuard IP (leaders are numbered in segment order): %s; connections to the old addresses break",
			plural(len(moved), "leader gets", "leaders get"), listNames(moved)),
	}, true
}
