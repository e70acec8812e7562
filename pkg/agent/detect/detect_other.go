//go:build !linux

package detect

import (
	"errors"
	"net/netip"
)

// errNotLinux: the agent programs a Linux kernel; the other commands
// (graph, showconf, plan, peer) run anywhere.
var errNotLinux = errors.New("detect: the node agent runs on Linux only")

// Host needs Linux's netlink.
func Host(Options) (Facts, error) { return Facts{}, errNotLinux }

// InterfaceOf needs Linux's netlink.
func InterfaceOf(netip.Addr) (string, error) { return "", errNotLinux }
