package route

import "errors"

// FallbackIPIP is the tunnel the kernel's ipip module creates in every
// network namespace: no local or remote address, so it encapsulates to
// each route's gateway. Kilo and Calico use it.
const FallbackIPIP = "tunl0"

// ErrIPIPUnsupported reports a kernel without IPIP tunnels.
var ErrIPIPUnsupported = errors.New("the kernel has no ipip support (module ipip not loaded, or not built)")

// EnsureIPIP makes sure an IPIP tunnel named name exists and is up in the
// current network namespace; see Manager.EnsureIPIP.
func EnsureIPIP(name string) (created bool, err error) {
	return New(Options{}).EnsureIPIP(name)
}

// DeleteIPIP removes the IPIP tunnel named name from the current network
// namespace; see Manager.DeleteIPIP.
func DeleteIPIP(name string) error {
	return New(Options{}).DeleteIPIP(name)
}
