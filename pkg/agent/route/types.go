package route

import (
	"errors"
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

// MainTable is the kernel's main routing table.
const MainTable = 254

// Rule is a policy routing rule: packets matching Src, Dst and IifName
// look up Table.
type Rule struct {
	// Src and Dst match the packet's addresses; zero matches any. When
	// both are zero the rule is installed once per address family.
	Src, Dst netip.Prefix
	// IifName matches the link the packet came in on ("" for any; "lo"
	// for locally generated packets).
	IifName string
	// Mark matches packets whose firewall mark, masked by Mask, equals
	// Mark; a zero Mark matches any packet, a zero Mask means all bits.
	// WireGuard's own transport packets carry the device's mark: a rule
	// on it keeps them out of the mesh's table.
	Mark, Mask uint32
	// Table is the table looked up; 0 means the Manager's, MainTable the
	// kernel's main table.
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
	if r.Mark != 0 {
		fmt.Fprintf(&b, " fwmark %#x", r.Mark)
		if r.Mask != 0 && r.Mask != ^uint32(0) {
			fmt.Fprintf(&b, "/%#x", r.Mask)
		}
	}
	switch r.Table {
	case 0:
	case MainTable:
		b.WriteString(" lookup main")
	default:
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

// Errors are Apply's problems by part, so a caller can report each part
// on its own; a nil field is a part that converged. Apply returns a
// *Errors, or nil when every part converged.
type Errors struct {
	Links, Addresses, Routes, Rules error
}

func (e *Errors) Error() string { return errors.Join(e.Unwrap()...).Error() }

// Unwrap returns the parts' errors, for errors.Is and errors.As.
func (e *Errors) Unwrap() []error {
	var out []error
	for _, err := range []error{e.Links, e.Addresses, e.Routes, e.Rules} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

func (e *Errors) orNil() error {
	if len(e.Unwrap()) == 0 {
		return nil
	}
	return e
}

// PartErrors splits an error from Apply by part; an error of another
// kind (invalid options, an unreadable kernel state) is every part's.
func PartErrors(err error) Errors {
	if err == nil {
		return Errors{}
	}
	var e *Errors
	if errors.As(err, &e) {
		return *e
	}
	return Errors{Links: err, Addresses: err, Routes: err, Rules: err}
}
