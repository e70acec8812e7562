//go:build linux

package detect

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
)

type addr struct {
	link   string
	index  int
	prefix netip.Prefix
}

// Host reads the current network namespace.
func Host(opts Options) (Facts, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return Facts{}, fmt.Errorf("detect: list links: %w", err)
	}
	var addrs []addr
	for _, l := range links {
		a := l.Attrs()
		if slices.Contains(opts.Skip, a.Name) || a.Flags&1 == 0 && a.OperState != netlink.OperUp && a.OperState != netlink.OperUnknown {
			continue
		}
		list, err := netlink.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			return Facts{}, fmt.Errorf("detect: addresses of %s: %w", a.Name, err)
		}
		for _, ad := range list {
			ip, ok := netip.AddrFromSlice(ad.IP)
			if !ok {
				continue
			}
			ones, _ := ad.Mask.Size()
			addrs = append(addrs, addr{link: a.Name, index: a.Index, prefix: netip.PrefixFrom(ip.Unmap(), ones)})
		}
	}
	var f Facts
	for _, a := range addrs {
		ip := a.prefix.Addr()
		if !f.PublicIP.IsValid() && ip.Is4() && ip.IsGlobalUnicast() && !ip.IsPrivate() && !isShared(ip) {
			f.PublicIP = ip
		}
	}
	if len(opts.InternalCIDRs) > 0 {
		for _, a := range addrs {
			for _, c := range opts.InternalCIDRs {
				if c.Contains(a.prefix.Addr()) {
					f.PrivateInterface, f.InternalIP = a.link, a.prefix
					return f, nil
				}
			}
		}
		return f, fmt.Errorf("detect: no address inside --internal-cidr %s", joinPrefixes(opts.InternalCIDRs))
	}
	// The address the kernel would use towards the Internet.
	routes, err := netlink.RouteGet(netip.MustParseAddr("1.1.1.1").AsSlice())
	if err != nil || len(routes) == 0 {
		return f, fmt.Errorf("detect: no default route to pick the internal IP from; set --internal-cidr: %v", err)
	}
	src, _ := netip.AddrFromSlice(routes[0].Src)
	for _, a := range addrs {
		if a.index == routes[0].LinkIndex && (!src.IsValid() || a.prefix.Addr() == src.Unmap()) && a.prefix.Addr().Is4() {
			f.PrivateInterface, f.InternalIP = a.link, a.prefix
			return f, nil
		}
	}
	return f, fmt.Errorf("detect: the default route's interface has no IPv4 address; set --internal-cidr")
}

// isShared reports carrier-grade NAT space (100.64.0.0/10), which is not public.
func isShared(ip netip.Addr) bool {
	return netip.MustParsePrefix("100.64.0.0/10").Contains(ip)
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// InterfaceOf names the interface carrying ip (for a forced internal IP).
func InterfaceOf(ip netip.Addr) (string, error) {
	list, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return "", fmt.Errorf("detect: list addresses: %w", err)
	}
	for _, a := range list {
		if got, ok := netip.AddrFromSlice(a.IP); ok && got.Unmap() == ip {
			l, err := netlink.LinkByIndex(a.LinkIndex)
			if err != nil {
				return "", fmt.Errorf("detect: link of %s: %w", ip, err)
			}
			return l.Attrs().Name, nil
		}
	}
	return "", fmt.Errorf("detect: no interface carries %s", ip)
}
