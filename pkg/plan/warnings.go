package plan

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/kgctl/kgctl/pkg/topology"
)

// warnings are the after state's problems, plus what only a plan sees:
// WireGuard IPs that are renumbered. Who owns which key and prefix is
// the engine's to decide (topology's claims): it refuses, as errors, the
// later of two objects that collide, so no overlap is left for the plan
// to find. A warning is New when the before state did not have it.
func warnings(b, a *topology.Mesh, bp, ap topology.Problems) []Warning {
	seen := make(map[topology.Problem]bool, len(bp))
	for _, p := range bp {
		seen[p] = true
	}
	var out []Warning
	add := func(p topology.Problem) {
		out = append(out, Warning{Severity: p.Severity, Kind: p.Kind, Name: p.Name, Field: p.Field, Value: p.Value, Message: p.Message, New: !seen[p]})
	}
	for _, p := range ap {
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
