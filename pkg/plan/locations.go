package plan

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/kgctl/kgctl/pkg/topology"
)

// locations compares segments by name, and follows nodes between them to
// tell splits and merges from creations and removals.
func locations(b, a *topology.Mesh) []LocationChange {
	bs, bOf := segments(b)
	as, aOf := segments(a)
	names := make([]string, 0, len(bs)+len(as))
	for n := range bs {
		names = append(names, n)
	}
	for n := range as {
		if _, ok := bs[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	// into[s]: the other after-segments that take nodes of before-segment s.
	into := func(s *topology.Segment) []string { return moved(s, aOf) }
	var out []LocationChange
	for _, name := range names {
		bseg, aseg := bs[name], as[name]
		var ch LocationChange
		switch {
		case bseg == nil:
			ch = createdLocation(aseg)
			ch.MergedFrom = moved(aseg, bOf)
			ch.Reason = createReason(aseg, ch.MergedFrom, as, func(src string) int { return len(into(bs[src])) })
		case aseg == nil:
			ch = deletedLocation(bseg)
			ch.SplitInto = into(bseg)
			ch.Reason = deleteReason(ch.SplitInto)
		default:
			var ok bool
			if ch, ok = updatedLocation(bseg, aseg); !ok {
				continue
			}
			ch.SplitInto = into(bseg)
			ch.MergedFrom = moved(aseg, bOf)
			ch.Reason = locationUpdateReason(&ch, bOf, aOf)
		}
		out = append(out, ch)
	}
	return out
}

// segments indexes a mesh's segments by name and its nodes' segment names.
func segments(m *topology.Mesh) (map[string]*topology.Segment, map[string]string) {
	byName := make(map[string]*topology.Segment, len(m.Segments))
	of := make(map[string]string)
	for i := range m.Segments {
		s := &m.Segments[i]
		byName[s.Name] = s
		for _, n := range s.Nodes {
			of[n.Name] = s.Name
		}
	}
	return byName, of
}

// moved lists the other segments (per the other mesh's index) holding
// nodes of s, sorted.
func moved(s *topology.Segment, other map[string]string) []string {
	var out []string
	for _, n := range s.Nodes {
		if o, ok := other[n.Name]; ok && o != s.Name {
			out = append(out, o)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func memberNames(s *topology.Segment) []string {
	out := make([]string, len(s.Nodes))
	for i, n := range s.Nodes {
		out[i] = n.Name
	}
	return out
}

func createdLocation(s *topology.Segment) LocationChange {
	l := s.LeaderNode()
	return LocationChange{
		Name:               s.Name,
		Action:             Create,
		Location:           s.Location,
		Leader:             &Change[string]{After: l.Name},
		WireGuardIP:        &Change[netip.Addr]{After: s.WireGuardIP},
		Endpoint:           changed("", l.Endpoint.String()),
		Nodes:              NameDiff{Added: memberNames(s)},
		AllowedIPs:         prefixDiff(nil, s.AllowedIPs),
		AllowedLocationIPs: prefixDiff(nil, s.AllowedLocationIPs),
	}
}

func deletedLocation(s *topology.Segment) LocationChange {
	l := s.LeaderNode()
	return LocationChange{
		Name:               s.Name,
		Action:             Delete,
		Location:           s.Location,
		Leader:             &Change[string]{Before: l.Name},
		WireGuardIP:        &Change[netip.Addr]{Before: s.WireGuardIP},
		Endpoint:           changed(l.Endpoint.String(), ""),
		Nodes:              NameDiff{Removed: memberNames(s)},
		AllowedIPs:         prefixDiff(s.AllowedIPs, nil),
		AllowedLocationIPs: prefixDiff(s.AllowedLocationIPs, nil),
	}
}

func updatedLocation(b, a *topology.Segment) (LocationChange, bool) {
	ch := LocationChange{Name: a.Name, Action: Update, Location: a.Location}
	if b.Location != a.Location {
		ch.PreviousLocation = b.Location
	}
	bl, al := b.LeaderNode(), a.LeaderNode()
	ch.Leader = changed(bl.Name, al.Name)
	ch.WireGuardIP = changed(b.WireGuardIP, a.WireGuardIP)
	ch.Endpoint = changed(bl.Endpoint.String(), al.Endpoint.String())
	ch.Nodes = nameDiff(memberNames(b), memberNames(a))
	if !slices.Equal(b.AllowedIPs, a.AllowedIPs) {
		ch.AllowedIPs = prefixDiff(b.AllowedIPs, a.AllowedIPs)
	}
	if !slices.Equal(b.AllowedLocationIPs, a.AllowedLocationIPs) {
		ch.AllowedLocationIPs = prefixDiff(b.AllowedLocationIPs, a.AllowedLocationIPs)
	}
	same := ch.PreviousLocation == "" && ch.Leader == nil && ch.WireGuardIP == nil && ch.Endpoint == nil &&
		ch.Nodes.Empty() && ch.AllowedIPs.Empty() && ch.AllowedLocationIPs.Empty()
	return ch, !same
}

func createReason(s *topology.Segment, from []string, after map[string]*topology.Segment, splits func(string) int) string {
	var r string
	switch {
	case len(from) > 1:
		r = "merged from " + listNames(from)
	case len(from) == 1 && (after[from[0]] != nil || splits(from[0]) > 1):
		r = fmt.Sprintf("split from %q", from[0])
	case len(from) == 1:
		r = fmt.Sprintf("takes over the nodes of %q", from[0])
	default:
		r = "created for " + plural(len(s.Nodes), "node", "nodes") + ": " + listNames(memberNames(s))
	}
	return r + "; leader " + s.LeaderNode().Name
}

func deleteReason(into []string) string {
	switch len(into) {
	case 0:
		return "its nodes leave the mesh"
	case 1:
		return fmt.Sprintf("its nodes move to %q", into[0])
	}
	return "split into " + listNames(into)
}

func locationUpdateReason(ch *LocationChange, bOf, aOf map[string]string) string {
	var parts []string
	var joins, leaves []string
	for _, n := range ch.Nodes.Added {
		if _, ok := bOf[n]; ok {
			continue
		}
		joins = append(joins, n)
	}
	if len(joins) > 0 {
		parts = append(parts, plural(len(joins), "node joins", "nodes join")+": "+listNames(joins))
	}
	if len(ch.MergedFrom) > 0 {
		parts = append(parts, "takes nodes from "+listNames(ch.MergedFrom))
	}
	for _, n := range ch.Nodes.Removed {
		if _, ok := aOf[n]; ok {
			continue
		}
		leaves = append(leaves, n)
	}
	if len(leaves) > 0 {
		parts = append(parts, plural(len(leaves), "node leaves", "nodes leave")+": "+listNames(leaves))
	}
	if len(ch.SplitInto) > 0 {
		parts = append(parts, "nodes move to "+listNames(ch.SplitInto))
	}
	if ch.PreviousLocation != "" {
		parts = append(parts, fmt.Sprintf("moves from location %q to %q", ch.PreviousLocation, ch.Location))
	}
	if ch.Leader != nil {
		parts = append(parts, fmt.Sprintf("leader changes from %s to %s", ch.Leader.Before, ch.Leader.After))
	} else if ch.Endpoint != nil {
		parts = append(parts, fmt.Sprintf("its leader's endpoint changes from %s to %s", orNone(ch.Endpoint.Before), orNone(ch.Endpoint.After)))
	}
	if ch.WireGuardIP != nil {
		parts = append(parts, fmt.Sprintf("WireGuard IP changes from %s to %s", ch.WireGuardIP.Before, ch.WireGuardIP.After))
	}
	if len(parts) == 0 && !ch.AllowedLocationIPs.Empty() {
		parts = append(parts, "allowed location IPs change")
	}
	if len(parts) == 0 {
		parts = append(parts, "allowed IPs change")
	}
	return strings.Join(parts, "; ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// listNames joins names for a sentence, eliding past a handful: the
// lists themselves are in the change.
func listNames(names []string) string {
	const most = 5
	if len(names) <= most {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:most], ", ") + fmt.Sprintf(" and %d more", len(names)-most)
}
