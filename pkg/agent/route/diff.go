package route

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// This file holds the pure part of Apply: normalising desired routes and
// rules and computing the difference with what the kernel holds. Nothing
// here talks to the kernel.

// normalizeRoutes returns a sorted copy of routes with defaults filled in
// (table 0 is table), addresses unmapped and destinations masked, without
// duplicates. Routes that are invalid, or that conflict with an earlier
// route for the same destination and table, are left out and reported.
func normalizeRoutes(routes []Route, table int) ([]Route, error) {
	out := make([]Route, 0, len(routes))
	var errs []error
	for _, r := range routes {
		n, err := normalizeRoute(r, table)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, n)
	}
	// Stable, so that of two conflicting routes the first one given wins.
	slices.SortStableFunc(out, compareRouteKeys)
	w := 0
	for i := range out {
		if w > 0 && compareRouteKeys(out[w-1], out[i]) == 0 {
			if out[w-1] != out[i] {
				errs = append(errs, fmt.Errorf("route: conflicting routes %q and %q: one destination per table", out[w-1], out[i]))
			}
			continue
		}
		out[w] = out[i]
		w++
	}
	return out[:w], errors.Join(errs...)
}

func normalizeRoute(r Route, table int) (Route, error) {
	if !r.Dst.IsValid() {
		return Route{}, fmt.Errorf("route: route %q: no destination", r)
	}
	if r.Dev == "" {
		return Route{}, fmt.Errorf("route: route %q: no device", r)
	}
	if r.Table == 0 {
		r.Table = table
	}
	if r.Table < 0 {
		return Route{}, fmt.Errorf("route: route %q: table %d is negative", r, r.Table)
	}
	r.Dst = netip.PrefixFrom(r.Dst.Addr().Unmap(), r.Dst.Bits()).Masked()
	if !r.Dst.IsValid() {
		return Route{}, fmt.Errorf("route: route %q: prefix length too long for an IPv4 address", r)
	}
	r.Gw, r.Src = r.Gw.Unmap(), r.Src.Unmap()
	v4 := r.Dst.Addr().Is4()
	if r.Gw.IsValid() && r.Gw.Is4() != v4 {
		return Route{}, fmt.Errorf("route: route %q: gateway %s is not of the destination's address family", r, r.Gw)
	}
	if r.Src.IsValid() && r.Src.Is4() != v4 {
		return Route{}, fmt.Errorf("route: route %q: source %s is not of the destination's address family", r, r.Src)
	}
	return r, nil
}

// compareRouteKeys orders routes by table, then destination (IPv4 first).
// Routes comparing equal share a key: the kernel keeps one of ours per key.
func compareRouteKeys(a, b Route) int {
	if c := cmp.Compare(a.Table, b.Table); c != 0 {
		return c
	}
	if c := a.Dst.Addr().Compare(b.Dst.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Dst.Bits(), b.Dst.Bits())
}

// routeDiff is what turns the current routes into the desired ones.
type routeDiff struct {
	// Add holds routes whose key the kernel lacks.
	Add []Route
	// Change holds routes whose key the kernel holds with a different
	// gateway, device, onlink flag or source: one replace each.
	Change []Route
	// Del holds current routes to delete.
	Del []Route
}

func (d routeDiff) empty() bool { return len(d.Add)+len(d.Change)+len(d.Del) == 0 }

// diffRoutes compares desired routes (normalized: one per key) with the
// current ones (which may hold several per key). It sorts both slices in
// place and allocates nothing when they already agree.
//
// When the kernel holds several of ours for one key, the one equal to the
// desired route is kept and the others deleted; if none is equal, all are
// deleted and the desired route added.
func diffRoutes(desired, current []Route) routeDiff {
	slices.SortFunc(desired, compareRouteKeys)
	slices.SortFunc(current, compareRouteKeys)
	var d routeDiff
	i, j := 0, 0
	for i < len(desired) || j < len(current) {
		var c int
		switch {
		case j == len(current):
			c = -1
		case i == len(desired):
			c = 1
		default:
			c = compareRouteKeys(desired[i], current[j])
		}
		switch {
		case c < 0:
			d.Add = append(d.Add, desired[i])
			i++
		case c > 0:
			d.Del = append(d.Del, current[j])
			j++
		default:
			k := j + 1
			for k < len(current) && compareRouteKeys(current[j], current[k]) == 0 {
				k++
			}
			d.reconcileKey(desired[i], current[j:k])
			i, j = i+1, k
		}
	}
	return d
}

// reconcileKey handles one key present in both desired and current.
func (d *routeDiff) reconcileKey(want Route, have []Route) {
	if len(have) == 1 {
		if have[0] != want {
			d.Change = append(d.Change, want)
		}
		return
	}
	keep := slices.Index(have, want)
	for i, r := range have {
		if i != keep {
			d.Del = append(d.Del, r)
		}
	}
	if keep < 0 {
		d.Add = append(d.Add, want)
	}
}

// family is an address family as the kernel numbers it.
type family int

const (
	familyV4 family = 2  // AF_INET
	familyV6 family = 10 // AF_INET6
)

func familyOf(a netip.Addr) family {
	if a.Is4() {
		return familyV4
	}
	return familyV6
}

// ruleKey is one kernel rule of ours, normalized: a Rule with its family
// fixed and its defaults filled in.
type ruleKey struct {
	Family   family
	Priority int
	Table    int
	Src, Dst netip.Prefix
	IifName  string
	// Mark and Mask: Mask is all ones when Mark is set, 0 otherwise.
	Mark, Mask uint32
}

func (k ruleKey) String() string {
	return Rule{Src: k.Src, Dst: k.Dst, IifName: k.IifName, Mark: k.Mark, Mask: k.Mask, Table: k.Table, Priority: k.Priority}.String()
}

func compareRuleKeys(a, b ruleKey) int {
	return cmp.Or(
		cmp.Compare(a.Family, b.Family),
		cmp.Compare(a.Priority, b.Priority),
		cmp.Compare(a.Table, b.Table),
		comparePrefixes(a.Src, b.Src),
		comparePrefixes(a.Dst, b.Dst),
		cmp.Compare(a.IifName, b.IifName),
		cmp.Compare(a.Mark, b.Mark),
		cmp.Compare(a.Mask, b.Mask),
	)
}

func comparePrefixes(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

// rulesOptions are the Manager's settings that shape its rules.
type rulesOptions struct {
	table, priority int
}

// desiredRules returns the kernel rules for the state's rules and routes,
// sorted and without duplicates: the Manager's "lookup <table>" rule for
// each family with routes in its table, then the state's rules. Invalid
// rules are left out and reported.
func desiredRules(rules []Rule, routes []Route, o rulesOptions) ([]ruleKey, error) {
	var out []ruleKey
	var v4, v6 bool
	for _, r := range routes {
		if r.Table != o.table {
			continue
		}
		if r.Dst.Addr().Is4() {
			v4 = true
		} else {
			v6 = true
		}
	}
	if v4 {
		out = append(out, ruleKey{Family: familyV4, Priority: o.priority, Table: o.table})
	}
	if v6 {
		out = append(out, ruleKey{Family: familyV6, Priority: o.priority, Table: o.table})
	}
	var errs []error
	for _, r := range rules {
		keys, err := normalizeRule(r, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, keys...)
	}
	slices.SortFunc(out, compareRuleKeys)
	return slices.Compact(out), errors.Join(errs...)
}

func normalizeRule(r Rule, o rulesOptions) ([]ruleKey, error) {
	k := ruleKey{Priority: r.Priority, Table: r.Table, IifName: r.IifName, Mark: r.Mark, Mask: r.Mask}
	switch {
	case k.Mark == 0:
		k.Mask = 0 // no mark matches any packet, whatever the mask
	case k.Mask == 0:
		k.Mask = ^uint32(0)
	case k.Mark&^k.Mask != 0:
		return nil, fmt.Errorf("route: rule %q: mark %#x has bits outside mask %#x: it can never match", r, r.Mark, r.Mask)
	}
	if k.Priority == 0 {
		k.Priority = o.priority
	}
	if k.Table == 0 {
		k.Table = o.table
	}
	if k.Priority < 0 || k.Table < 0 {
		return nil, fmt.Errorf("route: rule %q: negative priority or table", r)
	}
	var fams []family
	for _, p := range []*netip.Prefix{&r.Src, &r.Dst} {
		if !p.IsValid() {
			continue
		}
		*p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()).Masked()
		if !p.IsValid() {
			return nil, fmt.Errorf("route: rule %q: prefix length too long for an IPv4 address", r)
		}
		fams = append(fams, familyOf(p.Addr()))
	}
	if len(fams) == 2 && fams[0] != fams[1] {
		return nil, fmt.Errorf("route: rule %q: source and destination are of different address families", r)
	}
	k.Src, k.Dst = anyToZero(r.Src), anyToZero(r.Dst)
	if len(fams) == 0 {
		v4, v6 := k, k
		v4.Family, v6.Family = familyV4, familyV6
		return []ruleKey{v4, v6}, nil
	}
	k.Family = fams[0]
	return []ruleKey{k}, nil
}

// anyToZero turns 0.0.0.0/0 and ::/0 into the zero Prefix: all three match
// any address, and the kernel reports them all as no prefix.
func anyToZero(p netip.Prefix) netip.Prefix {
	if p.Bits() == 0 {
		return netip.Prefix{}
	}
	return p
}

// diffRules compares desired rules (sorted, unique) with the current ones;
// it sorts current in place. Rules cannot be changed in place: a changed
// rule is one deletion and one addition.
func diffRules(desired, current []ruleKey) (add, del []ruleKey) {
	slices.SortFunc(current, compareRuleKeys)
	i, j := 0, 0
	for i < len(desired) || j < len(current) {
		var c int
		switch {
		case j == len(current):
			c = -1
		case i == len(desired):
			c = 1
		default:
			c = compareRuleKeys(desired[i], current[j])
		}
		switch {
		case c < 0:
			add = append(add, desired[i])
			i++
		case c > 0:
			del = append(del, current[j])
			j++
		default:
			// Keep one; a duplicate of ours (added by hand) goes.
			i, j = i+1, j+1
			for j < len(current) && compareRuleKeys(current[j-1], current[j]) == 0 {
				del = append(del, current[j])
				j++
			}
		}
	}
	return add, del
}

// addrDiff is what one link's addresses need.
type addrDiff struct {
	Add, Del []netip.Prefix
}

// addrOptions say which of a link's addresses are ours.
type addrOptions struct {
	// owned: every address but IPv6 link-local ones is ours.
	owned bool
	// managed: on a link not owned, addresses inside these are ours.
	managed []netip.Prefix
}

// diffAddrs compares the addresses a link must carry with those it has.
// Only addresses that are ours (see addrOptions) are ever deleted.
func diffAddrs(desired, current []netip.Prefix, o addrOptions) addrDiff {
	var d addrDiff
	for _, p := range desired {
		if !slices.Contains(current, p) && !slices.Contains(d.Add, p) {
			d.Add = append(d.Add, p)
		}
	}
	for _, p := range current {
		if slices.Contains(desired, p) || !o.ours(p.Addr()) {
			continue
		}
		d.Del = append(d.Del, p)
	}
	return d
}

func (o addrOptions) ours(a netip.Addr) bool {
	if o.owned {
		return !(a.Is6() && a.IsLinkLocalUnicast())
	}
	for _, m := range o.managed {
		if m.Contains(a) {
			return true
		}
	}
	return false
}

// normalizeAddrs unmaps addresses and reports invalid ones.
func normalizeAddrs(link string, addrs []netip.Prefix) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(addrs))
	var errs []error
	for _, p := range addrs {
		n := netip.PrefixFrom(p.Addr().Unmap(), p.Bits())
		if !p.IsValid() || !n.IsValid() {
			errs = append(errs, fmt.Errorf("route: address %q for link %q is invalid", p, link))
			continue
		}
		out = append(out, n)
	}
	return out, errors.Join(errs...)
}
