package plan

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/kgctl/kgctl/pkg/topology"
)

// State is one side of a plan: a mesh and every problem found while
// building it.
type State struct {
	Mesh *topology.Mesh
	// Problems are all the problems of this state, translation problems
	// included (what source.Build returns); nil means Mesh.Problems.
	// They give the reason a node or Peer is left out.
	Problems topology.Problems
}

func (s State) problems() topology.Problems {
	if s.Problems == nil && s.Mesh != nil {
		return s.Mesh.Problems
	}
	return s.Problems
}

// Diff compares two meshes, taking the reasons objects are left out from
// each mesh's Problems.
func Diff(before, after *topology.Mesh) *Plan {
	return Compare(State{Mesh: before}, State{Mesh: after})
}

// Compare compares two states. A nil mesh is an empty one.
func Compare(before, after State) *Plan {
	p := New(before, after)
	_ = p.eachNode(func(_ int, ch *NodeChange) error {
		p.Nodes = append(p.Nodes, ownChange(ch))
		return nil
	})
	p.src = nil
	return p
}

// New compares two states as Compare does, except that the node changes
// are not kept in Nodes: WriteText and WriteJSON compute them node by
// node as they render, so a plan of a whole large cluster (a flip to a
// full mesh: every node's change lists every other node) holds only a
// few nodes' changes at a time.
func New(before, after State) *Plan {
	b, a := before.Mesh, after.Mesh
	if b == nil {
		b = emptyMesh(a)
	}
	if a == nil {
		a = emptyMesh(b)
	}
	bp, ap := before.problems(), after.problems()
	p := &Plan{
		Settings:  settings(b.Settings, a.Settings),
		Locations: locations(b, a),
		src:       &nodeSource{b: b, a: a, bp: bp, ap: ap, names: unionNames(b.NodeNames(), a.NodeNames())},
	}
	p.Peers = peers(b, a, ap)
	p.Warnings = warnings(b, a, bp, ap)
	return p
}

func emptyMesh(like *topology.Mesh) *topology.Mesh {
	s := topology.DefaultSettings()
	if like != nil {
		s = like.Settings
	}
	m, err := topology.Build(topology.Cluster{Settings: s})
	if err != nil {
		m, _ = topology.Build(topology.Cluster{Settings: topology.DefaultSettings()})
	}
	return m
}

// settings lists the mesh-wide settings that differ.
func settings(b, a topology.Settings) []SettingChange {
	var out []SettingChange
	add := func(field, before, after string) {
		if before != after {
			out = append(out, SettingChange{Field: field, Before: before, After: after})
		}
	}
	add("encapsulate", string(b.Encapsulate), string(a.Encapsulate))
	add("local", fmt.Sprint(b.Local), fmt.Sprint(a.Local))
	add("mesh-granularity", string(b.Granularity), string(a.Granularity))
	add("port", fmt.Sprint(b.Port), fmt.Sprint(a.Port))
	add("service-cidr", joinPrefixes(b.ServiceCIDRs), joinPrefixes(a.ServiceCIDRs))
	add("subnet", b.Subnet.String(), a.Subnet.String())
	return out
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func unionNames(x, y []string) []string {
	all := make([]string, 0, len(x)+len(y))
	all = append(append(all, x...), y...)
	slices.Sort(all)
	return slices.Compact(all)
}

func joinReason(name string, seg *topology.Segment, leader bool, before topology.Problems) string {
	s := "joins the mesh in " + segmentPhrase(seg)
	if leader {
		s += " as its leader"
	}
	if p, ok := problemOf(before, "Node", name); ok {
		s += " (it was left out: " + p.Message + ")"
	}
	return s
}

// segmentPhrase names a segment for a sentence.
func segmentPhrase(s *topology.Segment) string {
	return segmentName(s.Name, s.Location)
}

func segmentName(name, location string) string {
	if name == location || location == "" {
		return fmt.Sprintf("location %q", name)
	}
	return fmt.Sprintf("segment %q of location %q", name, location)
}

// updateReason summarizes an update in one sentence, most telling first.
func updateReason(ch *NodeChange, aseg *topology.Segment) string {
	var parts []string
	if ch.Segment != nil {
		parts = append(parts, "moves from "+segmentName(ch.Segment.Before, ch.Location.beforeOr(aseg.Location))+" to "+segmentPhrase(aseg))
	}
	if ch.Leader != nil {
		if ch.Leader.After {
			parts = append(parts, "becomes the leader of "+segmentPhrase(aseg))
		} else {
			parts = append(parts, "is no longer a leader")
		}
	} else if ch.WireGuardIP != nil {
		parts = append(parts, fmt.Sprintf("its WireGuard IP changes from %s to %s", ch.WireGuardIP.Before, ch.WireGuardIP.After))
	}
	if ch.ListenPort != nil {
		parts = append(parts, fmt.Sprintf("listens on port %d instead of %d", ch.ListenPort.After, ch.ListenPort.Before))
	}
	var counts []string
	if n := len(ch.Peers); n > 0 {
		counts = append(counts, plural(n, "WireGuard peer", "WireGuard peers"))
	}
	if n := ch.routeCount(); n > 0 {
		counts = append(counts, plural(n, "route", "routes"))
	}
	if n := len(ch.Rules.Added) + len(ch.Rules.Removed); n > 0 {
		counts = append(counts, plural(n, "rule", "rules"))
	}
	if len(counts) > 0 {
		verb := " change"
		if len(counts) == 1 && strings.HasPrefix(counts[0], "1 ") {
			verb = " changes"
		}
		parts = append(parts, joinAnd(counts)+verb)
	}
	return strings.Join(parts, "; ")
}

// beforeOr returns the before value of a change, or def when unchanged.
func (c *Change[T]) beforeOr(def T) T {
	if c == nil {
		return def
	}
	return c.Before
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// problemOf finds the problem that left an object out: one that says so
// (a warning for a node whose agent has not started), else any error
// about it.
func problemOf(ps topology.Problems, kind, name string) (topology.Problem, bool) {
	var any *topology.Problem
	for i := range ps {
		p := &ps[i]
		if p.Kind != kind || p.Name != name {
			continue
		}
		if p.Severity != topology.Error {
			if strings.Contains(p.Message, "left out") {
				return *p, true
			}
			continue
		}
		for _, s := range []string{"left out", "refused", "only the first one is used"} {
			if strings.Contains(p.Message, s) {
				return *p, true
			}
		}
		if any == nil {
			any = p
		}
	}
	if any != nil {
		return *any, true
	}
	return topology.Problem{}, false
}

// leftOut explains why an object is out of a mesh, or says def.
func leftOut(ps topology.Problems, kind, name, def string) string {
	if p, ok := problemOf(ps, kind, name); ok {
		s := p.Message
		if p.Field != "" {
			s = p.Field + ": " + s
		}
		return s
	}
	return def
}

// ownChange copies a node change for a caller that keeps it: a streamed
// change shares its peers' prefix lists with other nodes' changes.
func ownChange(ch *NodeChange) NodeChange {
	c := *ch
	c.memos = nil
	if c.packed != nil {
		c.Routes, c.packed = c.packed.routeDiff(), nil
	}
	c.Routes.Added, c.Routes.Removed = slices.Clone(c.Routes.Added), slices.Clone(c.Routes.Removed)
	c.Peers = slices.Clone(c.Peers)
	for i := range c.Peers {
		p := &c.Peers[i]
		p.AllowedIPs.Added, p.AllowedIPs.Removed = slices.Clone(p.AllowedIPs.Added), slices.Clone(p.AllowedIPs.Removed)
		p.Endpoint = cloneChange(p.Endpoint)
		p.PersistentKeepalive = cloneChange(p.PersistentKeepalive)
	}
	return c
}

func cloneChange[T any](c *Change[T]) *Change[T] {
	if c == nil {
		return nil
	}
	d := *c
	return &d
}
