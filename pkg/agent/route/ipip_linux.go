package route

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// EnsureIPIP makes sure an IPIP tunnel named name exists and is up, and
// reports whether it created it. The tunnel has no local or remote
// address: a route "via GW dev <name> onlink" sends its packets
// encapsulated to GW. An existing link of that name must be such a tunnel.
//
// Use FallbackIPIP: once the ipip module is loaded the kernel keeps one
// such tunnel, tunl0, in every namespace, and refuses a second one with
// the same (empty) endpoints. A kernel without ipip gives an error
// wrapping ErrIPIPUnsupported.
func (m *Manager) EnsureIPIP(name string) (created bool, err error) {
	link, err := m.h.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	switch {
	case errors.As(err, &notFound):
		link, err = m.addIPIP(name)
		if err != nil {
			return false, err
		}
		created = true
	case err != nil:
		return false, fmt.Errorf("route: look up ipip tunnel %q: %w", name, err)
	default:
		if err := checkIPIP(link); err != nil {
			return false, err
		}
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		if err := m.h.LinkSetUp(link); err != nil {
			return created, fmt.Errorf("route: set ipip tunnel %q up: %w", name, err)
		}
	}
	return created, nil
}

func (m *Manager) addIPIP(name string) (netlink.Link, error) {
	err := m.h.LinkAdd(&netlink.Iptun{LinkAttrs: netlink.LinkAttrs{Name: name}, PMtuDisc: 1})
	switch {
	case errors.Is(err, unix.EOPNOTSUPP):
		return nil, fmt.Errorf("route: create ipip tunnel %q: %w: %w", name, ErrIPIPUnsupported, err)
	case errors.Is(err, unix.EEXIST) && name != FallbackIPIP:
		return nil, fmt.Errorf("route: create ipip tunnel %q: the kernel holds one tunnel without endpoints already, %q: use that name: %w", name, FallbackIPIP, err)
	case err != nil:
		return nil, fmt.Errorf("route: create ipip tunnel %q: %w", name, err)
	}
	link, err := m.h.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("route: look up ipip tunnel %q just created: %w", name, err)
	}
	return link, nil
}

// checkIPIP makes sure an existing link is a tunnel we can use.
func checkIPIP(link netlink.Link) error {
	name := link.Attrs().Name
	t, ok := link.(*netlink.Iptun)
	if !ok {
		return fmt.Errorf("route: link %q is a %s link, not an ipip tunnel", name, link.Type())
	}
	if t.Remote != nil && !t.Remote.IsUnspecified() {
		return fmt.Errorf("route: ipip tunnel %q has remote %s: it must have none to encapsulate to each route's gateway", name, t.Remote)
	}
	if t.FlowBased {
		return fmt.Errorf("route: ipip tunnel %q is in external (flow-based) mode: it needs per-route encapsulation metadata, not a gateway", name)
	}
	return nil
}

// DeleteIPIP removes the IPIP tunnel named name; a missing one is not an
// error. The kernel's own tunl0 cannot be deleted: it is set down instead.
func (m *Manager) DeleteIPIP(name string) error {
	link, err := m.h.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	switch {
	case errors.As(err, &notFound):
		return nil
	case err != nil:
		return fmt.Errorf("route: look up ipip tunnel %q: %w", name, err)
	}
	if _, ok := link.(*netlink.Iptun); !ok {
		return fmt.Errorf("route: link %q is a %s link, not an ipip tunnel: not deleting it", name, link.Type())
	}
	if name == FallbackIPIP {
		if err := m.h.LinkSetDown(link); err != nil {
			return fmt.Errorf("route: set ipip tunnel %q down: %w", name, err)
		}
		return nil
	}
	if err := m.h.LinkDel(link); err != nil {
		return fmt.Errorf("route: delete ipip tunnel %q: %w", name, err)
	}
	return nil
}
