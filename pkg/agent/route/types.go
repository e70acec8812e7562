package route

import (
	"fmt"
	"net/netip"
	"strings"
)

// Route is one route we want on the host. The kernel holds at most one of
// ours per destination and table.
type Route struct {
	Dst netip.Prefix
	// Gw is the next hop; zero sends directly out of Dev.
	Gw netip.Addr
	// Dev names the link the route leaves through: the WireGuard interface
	// (kilo0), the private interface (eth0) or the IPIP tunnel (tunl0).
	Dev string
	// OnLink takes Gw to be on Dev's link even if no address says so.
	// Through an IPIP tunnel without a remote, Gw is where the packet is
	// encapsulated to.
	OnLink bool
	// Src is the preferred source address; zero lets the kernel choose.
	Src netip.Addr
	// Table is the routing table; 0 means the Manager's.
	Table int
}

// String renders r the way "ip route" would write it.
func (r Route) String() string {
	var b strings.Builder
	if r.Dst.IsValid() {
		b.WriteString(r.Dst.String())
	} else {
		b.WriteString("(no destination)")
	}
	if r.Gw.IsValid() {
		b.WriteString(" via ")
		b.WriteString(r.Gw.String())
	}
	if r.Dev != "" {
		b.WriteString(" dev ")
		b.WriteString(r.Dev)
	}
	if r.Src.IsValid() {
		b.WriteString(" src ")
		b.WriteString(r.Src.String())
	}
	if r.OnLink {
		b.WriteString(" onlink")
	}
	if r.Table != 0 {
		fmt.Fprintf(&b, " table %d", r.Table)
	}
	return b.String()
}

// Rule is a policy routing rule: packets matching Src, Dst and IifName
// look up Table.
type Rule struct {
	// Src and Dst match the packet's addresses; zero matches any. When
	// both are zero the rule is installed once per address family.
	Src, Dst netip.Prefix
	// IifName matches the link the packet came in on ("" for any; "lo"
	// for locally generated packets).
	IifName string
	// Table is the table looked up; 0 means the Manager's.
	Table int
	// Priority orders rules (lower first); 0 means Options.RulePriority.
	// Rules of equal priority are consulted in the order the kernel
	// received them, which Apply does not control: give rules whose order
	// matters distinct priorities.
	Priority int
}

// String renders r the way "ip rule" would write it.
func (r Rule) String() string {
	var b strings.Builder
	if r.Priority != 0 {
		fmt.Fprintf(&b, "%d: ", r.Priority)
	}
	b.WriteString("from ")
	if r.Src.IsValid() {
		b.WriteString(r.Src.String())
	} else {
		b.WriteString("all")
	}
	if r.Dst.IsValid() {
		b.WriteString(" to ")
		b.WriteString(r.Dst.String())
	}
	if r.IifName != "" {
		b.WriteString(" iif ")
		b.WriteString(r.IifName)
	}
	if r.Table != 0 {
		fmt.Fprintf(&b, " lookup %d", r.Table)
	}
	return b.String()
}

// State is everything the Manager should make the host hold.
type State struct {
	Routes []Route
	// Rules are policy rules besides the Manager's own "lookup <table>"
	// rule, which Apply maintains by itself.
	Rules []Rule
	// Addresses maps a link name to the addresses (with their prefix
	// length) it must carry. On a link in Options.OwnedLinks they are
	// exactly the addresses it keeps; on other links they are added, and
	// only addresses inside Options.ManagedPrefixes are ever removed.
	Addresses map[string][]netip.Prefix
	// Up names links that must be up.
	Up []string
}

// Result counts what one Apply changed.
type Result struct {
	RoutesAdded, RoutesChanged, RoutesRemoved int
	RulesAdded, RulesRemoved                  int
	AddrsAdded, AddrsRemoved                  int
	LinksUp                                   int
	// Writes is the number of netlink requests that asked the kernel to
	// change something, successful or not: 0 when the host already
	// matched the state.
	Writes int
}

// Changed reports whether anything was written.
func (r Result) Changed() bool { return r.Writes > 0 }
