package route

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// applyAddrs reconciles the addresses of the links named in want and of
// every link that has addresses of ours.
func (m *Manager) applyAddrs(w writer, l links, want map[string][]netip.Prefix) error {
	var all []netlink.Addr
	err := retryDump(func() (err error) {
		all, err = m.h.AddrList(nil, netlink.FAMILY_ALL)
		return err
	})
	if err != nil {
		return fmt.Errorf("route: list addresses: %w", err)
	}
	have := make(map[string][]netip.Prefix)
	for _, a := range all {
		name, ok := l.byIndex[a.LinkIndex]
		if !ok || a.IPNet == nil {
			continue
		}
		if p, ok := prefixOf(a.IPNet); ok {
			// prefixOf masks nothing: p is the address with its length.
			have[name] = append(have[name], p)
		}
	}

	var errs []error
	names := sortedKeys(want)
	for _, name := range sortedKeys(have) {
		if _, ok := want[name]; !ok {
			names = append(names, name)
		}
	}
	for _, name := range names {
		desired, err := normalizeAddrs(name, want[name])
		errs = append(errs, err)
		o := addrOptions{owned: slices.Contains(m.owned, name), managed: m.managed}
		d := diffAddrs(desired, have[name], o)
		if len(d.Add)+len(d.Del) == 0 {
			continue
		}
		link, ok := l.byName[name]
		if !ok {
			errs = append(errs, fmt.Errorf("route: addresses %v for link %q: link not found", d.Add, name))
			continue
		}
		for _, p := range d.Del {
			errs = append(errs, w.addrDel(link, p))
		}
		for _, p := range d.Add {
			errs = append(errs, w.addrAdd(link, p))
		}
	}
	return errors.Join(errs...)
}

func (w writer) addrAdd(link netlink.Link, p netip.Prefix) error {
	a := &netlink.Addr{IPNet: ipNet(p)}
	if p.Addr().Is6() {
		// Ours to keep: do not leave it tentative, unusable as a route's
		// source, while duplicate address detection runs.
		a.Flags = unix.IFA_F_NODAD
	}
	w.res.Writes++
	if err := w.h.AddrAdd(link, a); err != nil {
		return fmt.Errorf("route: add address %s to link %q: %w", p, link.Attrs().Name, err)
	}
	w.res.AddrsAdded++
	return nil
}

func (w writer) addrDel(link netlink.Link, p netip.Prefix) error {
	w.res.Writes++
	err := w.h.AddrDel(link, &netlink.Addr{IPNet: ipNet(p)})
	switch {
	case err == nil:
		w.res.AddrsRemoved++
	case errors.Is(err, unix.EADDRNOTAVAIL): // gone already
	default:
		return fmt.Errorf("route: delete address %s from link %q: %w", p, link.Attrs().Name, err)
	}
	return nil
}
