package route

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/vishvananda/netlink"
)

// Defaults for Options.
const (
	// DefaultTable is Kilo's routing table.
	DefaultTable = 1107
	// DefaultProtocol marks our routes and rules ("proto 107" in ip's
	// output); no routing daemon uses it.
	DefaultProtocol netlink.RouteProtocol = 0x6b
	// DefaultRulePriority puts our rules ahead of the main table's (32766).
	DefaultRulePriority = 1107
)

// mainRulePriority is the priority of the kernel's "lookup main" rule.
const mainRulePriority = 32766

// Options configure a Manager. The zero value is valid.
type Options struct {
	// Table is the routing table for routes that name none; default
	// DefaultTable.
	Table int
	// Protocol marks every route and rule we add; whatever carries it is
	// ours and may be removed. Default DefaultProtocol; must not be one of
	// the kernel's own (1 to 4: redirect, kernel, boot, static).
	Protocol netlink.RouteProtocol
	// RulePriority is the priority of the "lookup <Table>" rules and the
	// default one of State.Rules; default DefaultRulePriority. It must be
	// below the main table's rule, 32766.
	RulePriority int
	// OwnedLinks are links whose addresses are entirely ours (the
	// WireGuard interface): Apply makes them exactly what State.Addresses
	// says, IPv6 link-local addresses aside.
	OwnedLinks []string
	// ManagedPrefixes: on links not owned, addresses inside these are ours
	// and removed when State.Addresses stops naming them. Addresses
	// outside them are never removed from such links.
	ManagedPrefixes []netip.Prefix
	// Handle is the netlink handle to use; nil means the calling thread's
	// network namespace at each call.
	Handle *netlink.Handle
}

// Manager reconciles the host's routes, rules and addresses with a State.
// Its methods may be called from several goroutines; they run one at a
// time.
type Manager struct {
	table, priority int
	protocol        netlink.RouteProtocol
	owned           []string
	managed         []netip.Prefix
	h               *netlink.Handle
	err             error // from New's validation, returned by every call

	mu sync.Mutex
}

// New returns a Manager with o's defaults filled in. It touches nothing;
// invalid options are reported by the first call to Apply or CleanUp.
func New(o Options) *Manager {
	m := &Manager{
		table:    o.Table,
		priority: o.RulePriority,
		protocol: o.Protocol,
		owned:    slices.Clone(o.OwnedLinks),
		managed:  slices.Clone(o.ManagedPrefixes),
		h:        o.Handle,
	}
	if m.table == 0 {
		m.table = DefaultTable
	}
	if m.priority == 0 {
		m.priority = DefaultRulePriority
	}
	if m.protocol == 0 {
		m.protocol = DefaultProtocol
	}
	if m.h == nil {
		m.h = &netlink.Handle{}
	}
	m.err = m.validate()
	return m
}

func (m *Manager) validate() error {
	var errs []error
	if m.table < 0 || m.table == 255 {
		errs = append(errs, fmt.Errorf("route: table %d: not a usable table (1-254, 256-2^32-1)", m.table))
	}
	if m.protocol <= 4 || m.protocol > 255 {
		errs = append(errs, fmt.Errorf("route: protocol %d: want 5-255; 1-4 belong to the kernel and static routes", m.protocol))
	}
	if m.priority < 0 || m.priority >= mainRulePriority {
		errs = append(errs, fmt.Errorf("route: rule priority %d: want 1-%d, ahead of the main table's rule", m.priority, mainRulePriority-1))
	}
	for _, p := range m.managed {
		if !p.IsValid() {
			errs = append(errs, fmt.Errorf("route: managed prefix %q is invalid", p))
		}
	}
	return errors.Join(errs...)
}

// Apply makes the host hold s: it brings up s.Up, reconciles addresses,
// then routes, then rules, writing only what differs. A problem with one
// item (a missing link, an invalid route, a kernel refusal) is reported
// and the others are still applied; the error joins every problem. A
// route whose link is missing keeps whatever route of ours the kernel
// holds for its destination. If the kernel's state cannot be read, nothing
// is removed.
func (m *Manager) Apply(s State) (Result, error) {
	if m.err != nil {
		return Result{}, m.err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.apply(s)
}

// CleanUp removes every route and rule carrying our protocol, whatever
// its table, every address of the owned links (IPv6 link-local aside) and
// the addresses inside ManagedPrefixes on other links. It is Apply of an
// empty State.
func (m *Manager) CleanUp() error {
	_, err := m.Apply(State{})
	return err
}
