package route

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Kernel default metrics: a route added without one gets these.
const (
	defaultMetricV4 = 0
	defaultMetricV6 = 1024
)

// applyRoutes makes our routes equal to desired (normalized).
func (m *Manager) applyRoutes(w writer, l links, desired []Route) error {
	current, stray, err := m.listRoutes(l)
	if err != nil {
		return err
	}
	var errs []error
	// Resolve devices. A route whose link is missing holds its key: the
	// kernel keeps whatever route of ours it has for it.
	resolved := desired[:0:0]
	var held map[routeKey]bool
	for _, r := range desired {
		if _, err := l.index(r.Dev); err != nil {
			errs = append(errs, fmt.Errorf("route: route %q: %w", r, err))
			if held == nil {
				held = make(map[routeKey]bool)
			}
			held[keyOf(r)] = true
			continue
		}
		resolved = append(resolved, r)
	}
	for _, r := range current {
		if k := keyOf(r); held[k] {
			resolved = append(resolved, r)
			delete(held, k) // desired routes are one per key
		}
	}

	d := diffRoutes(resolved, current)
	for _, r := range stray {
		errs = append(errs, w.routeDelStray(r))
	}
	for _, r := range d.Del {
		errs = append(errs, w.routeDel(r.String(), m.toNetlink(r, l)))
	}
	for _, r := range d.Change {
		errs = append(errs, w.routeReplace(r, m.toNetlink(r, l)))
	}
	for _, r := range d.Add {
		errs = append(errs, w.routeAdd(r, m.toNetlink(r, l)))
	}
	return errors.Join(errs...)
}

// routeKey is what compareRouteKeys compares, as a map key.
type routeKey struct {
	table int
	dst   netip.Prefix
}

func keyOf(r Route) routeKey { return routeKey{r.Table, r.Dst} }

// listRoutes returns our routes, in every table and both families. Stray
// ones are ours but of a shape Route cannot express (multipath, another
// metric, another type): they are deleted as they are.
func (m *Manager) listRoutes(l links) (current []Route, stray []netlink.Route, err error) {
	filter := &netlink.Route{Protocol: m.protocol, Table: unix.RT_TABLE_UNSPEC}
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		var c []Route
		var s []netlink.Route
		err := retryDump(func() error {
			c, s = c[:0], s[:0]
			return m.h.RouteListFilteredIter(fam, filter, netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE, func(nr netlink.Route) bool {
				if r, ok := fromNetlink(nr, l); ok {
					c = append(c, r)
				} else {
					s = append(s, nr)
				}
				return true
			})
		})
		if err != nil && !errors.Is(err, unix.EAFNOSUPPORT) {
			return nil, nil, fmt.Errorf("route: list routes of protocol %d: %w", m.protocol, err)
		}
		current, stray = append(current, c...), append(stray, s...)
	}
	return current, stray, nil
}

// fromNetlink turns a kernel route into a Route, or reports that Route
// cannot express it.
func fromNetlink(nr netlink.Route, l links) (Route, bool) {
	if nr.Type != unix.RTN_UNICAST || len(nr.MultiPath) > 0 || nr.Via != nil || nr.Encap != nil || nr.Tos != 0 {
		return Route{}, false
	}
	var r Route
	switch nr.Family {
	case netlink.FAMILY_V4:
		if nr.Priority != defaultMetricV4 {
			return Route{}, false
		}
		r.Dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	case netlink.FAMILY_V6:
		if nr.Priority != defaultMetricV6 {
			return Route{}, false
		}
		r.Dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	default:
		return Route{}, false
	}
	if nr.Dst != nil {
		p, ok := prefixOf(nr.Dst)
		if !ok {
			return Route{}, false
		}
		r.Dst = p
	}
	r.Gw = addrOf(nr.Gw)
	r.Src = addrOf(nr.Src)
	r.Dev = l.byIndex[nr.LinkIndex]
	r.OnLink = nr.Flags&unix.RTNH_F_ONLINK != 0
	r.Table = nr.Table
	return r, true
}

// toNetlink turns a normalized Route whose link exists into a kernel
// route of ours. An unknown Dev (a current route on a vanished link)
// leaves the link index out.
func (m *Manager) toNetlink(r Route, l links) *netlink.Route {
	nr := &netlink.Route{
		Dst:      ipNet(r.Dst),
		Gw:       ip(r.Gw),
		Src:      ip(r.Src),
		Table:    r.Table,
		Protocol: m.protocol,
		Type:     unix.RTN_UNICAST,
		Family:   int(familyOf(r.Dst.Addr())),
	}
	nr.LinkIndex, _ = l.index(r.Dev)
	if r.OnLink {
		nr.Flags = unix.RTNH_F_ONLINK
	}
	if r.Dst.Addr().Is4() && !r.Gw.IsValid() {
		nr.Scope = netlink.SCOPE_LINK // what "ip route add ... dev X" sets
	}
	return nr
}

func (w writer) routeAdd(r Route, nr *netlink.Route) error {
	w.res.Writes++
	if err := w.h.RouteAdd(nr); err != nil {
		return fmt.Errorf("route: add route %q: %w", r, err)
	}
	w.res.RoutesAdded++
	return nil
}

func (w writer) routeReplace(r Route, nr *netlink.Route) error {
	w.res.Writes++
	if err := w.h.RouteReplace(nr); err != nil {
		return fmt.Errorf("route: replace route %q: %w", r, err)
	}
	w.res.RoutesChanged++
	return nil
}

// routeDel deletes one of our routes; what names it in errors.
func (w writer) routeDel(what string, nr *netlink.Route) error {
	// The kernel matches a deletion's scope unless it is "nowhere".
	nr.Scope = netlink.SCOPE_NOWHERE
	nr.Flags = 0
	w.res.Writes++
	err := w.h.RouteDel(nr)
	switch {
	case err == nil:
		w.res.RoutesRemoved++
	case errors.Is(err, unix.ESRCH): // gone already
	default:
		return fmt.Errorf("route: delete route %q: %w", what, err)
	}
	return nil
}

// routeDelStray deletes a route of ours that Route cannot express.
func (w writer) routeDelStray(nr netlink.Route) error {
	dst := nr.Dst
	if dst == nil && nr.Family == netlink.FAMILY_V6 {
		dst = ipNet(netip.PrefixFrom(netip.IPv6Unspecified(), 0))
	} else if dst == nil {
		dst = ipNet(netip.PrefixFrom(netip.IPv4Unspecified(), 0))
	}
	return w.routeDel(describe(nr), &netlink.Route{
		Dst:       dst,
		Family:    nr.Family,
		Table:     nr.Table,
		Protocol:  nr.Protocol,
		Priority:  nr.Priority,
		Tos:       nr.Tos,
		Type:      nr.Type,
		LinkIndex: nr.LinkIndex,
	})
}

// describe renders a kernel route for errors.
func describe(nr netlink.Route) string {
	s := "default"
	if nr.Dst != nil {
		s = nr.Dst.String()
	}
	if nr.Gw != nil {
		s += " via " + nr.Gw.String()
	}
	if nr.LinkIndex != 0 {
		s += fmt.Sprintf(" dev #%d", nr.LinkIndex)
	}
	return s + fmt.Sprintf(" table %d proto %d", nr.Table, nr.Protocol)
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	bits, _ := n.Mask.Size()
	p := netip.PrefixFrom(a, bits)
	return p, p.IsValid()
}

func addrOf(b net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(b)
	return a.Unmap()
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func ip(a netip.Addr) net.IP {
	if !a.IsValid() {
		return nil
	}
	return a.AsSlice()
}
