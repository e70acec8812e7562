package detect

import (
	"net"
	"os"
)

// WireGuardOverhead is what WireGuard adds to each packet over IPv6
// (40 bytes of IPv6, 8 of UDP, 32 of WireGuard's header): the device's
// MTU leaves room for it.
const WireGuardOverhead = 80

// DefaultMTU is the WireGuard MTU when the private interface's is not
// known or too small to subtract from: wg-quick's default.
const DefaultMTU = 1420

// minLinkMTU: a link's MTU less the overhead must stay above IPv6's
// minimum MTU (1280).
const minLinkMTU = 1280 + WireGuardOverhead

// MTU is the WireGuard device's MTU for a node whose traffic leaves
// through iface: its MTU less WireGuard's overhead, else (no such
// interface, or one too small) DefaultMTU.
func MTU(iface string) int {
	return mtuFor(net.InterfaceByName(iface))
}

func mtuFor(i *net.Interface, err error) int {
	if err == nil && i.MTU > minLinkMTU {
		return i.MTU - WireGuardOverhead
	}
	return DefaultMTU
}

// IPv6 reports whether the kernel has IPv6 (it may be disabled at boot),
// so nothing is configured for a family the host lacks.
func IPv6() bool {
	return exists("/proc/sys/net/ipv6")
}

var exists = func(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
