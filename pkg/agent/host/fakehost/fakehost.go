// Package fakehost is a data plane in memory for the agent's tests: it
// holds what the real host would (links, addresses, routes, rules,
// iptables rules, the WireGuard device) and prints it as the tools print
// theirs (ip link/address/rule/route, wg showconf, iptables-restore
// input), so multi-step reconciles, failing parts and restarts are
// golden-tested without root. A part can be made to fail; like the
// kernel, a failing part keeps what it held. It does not model the
// kernel's routing decisions: that is what the network-namespace tests
// under pkg/agent/route and hack/e2e are for.
package fakehost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/kgctl/kgctl/pkg/agent"
	"github.com/kgctl/kgctl/pkg/agent/iptables"
	"github.com/kgctl/kgctl/pkg/agent/route"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// ErrInjected is the error of a part made to fail with Fail.
var ErrInjected = errors.New("fakehost: injected failure")

// Host is the fake data plane. The zero value is not usable: use New.
type Host struct {
	// IPIP says whether the kernel can make IPIP tunnels.
	IPIP bool
	// MeshTable is the table whose "lookup" rule the route manager adds
	// by itself (default route.DefaultTable).
	MeshTable int

	fail     map[agent.Part]error
	links    map[string]bool // name: up
	addrs    map[string][]netip.Prefix
	routes   []route.Route
	rules    []route.Rule
	ipt      iptables.RuleSet
	wg       wireguard.Config
	mark     uint32
	hasWG    bool
	wgDevice string
}

var _ agent.Host = (*Host)(nil)

// New returns a host with the given links (the private interface, say)
// up and a WireGuard device named wgDevice.
func New(wgDevice string, links ...string) *Host {
	h := &Host{MeshTable: route.DefaultTable, links: map[string]bool{wgDevice: false}, addrs: map[string][]netip.Prefix{}, wgDevice: wgDevice}
	for _, l := range links {
		h.links[l] = true
	}
	return h
}

// Fail makes part fail with err (ErrInjected when err is nil) until
// Heal.
func (h *Host) Fail(p agent.Part, err error) {
	if err == nil {
		err = ErrInjected
	}
	if h.fail == nil {
		h.fail = make(map[agent.Part]error)
	}
	h.fail[p] = err
}

// Heal stops part failing.
func (h *Host) Heal(p agent.Part) { delete(h.fail, p) }

// EnsureTunnel creates the tunnel when the kernel has IPIP.
func (h *Host) EnsureTunnel(_ context.Context, name string) error {
	if err := h.fail[agent.PartTunnel]; err != nil {
		return err
	}
	if !h.IPIP {
		return fmt.Errorf("route: create ipip tunnel %q: %w: operation not supported", name, route.ErrIPIPUnsupported)
	}
	h.links[name] = true
	return nil
}

// Discovered reports no learned endpoints.
func (h *Host) Discovered(time.Duration) (map[string]netip.AddrPort, error) {
	return nil, nil
}

// Apply applies each part on its own, counting a write for each part
// that changed.
func (h *Host) Apply(_ context.Context, s agent.State) agent.HostResult {
	res := agent.HostResult{Peers: len(s.WireGuard.Peers)}
	if err := h.fail[agent.PartWireGuard]; err != nil {
		res.Errors.Set(agent.PartWireGuard, err)
	} else {
		before := h.showconf()
		h.wg, h.mark, h.hasWG = s.WireGuard, s.FirewallMark, true
		if h.showconf() != before {
			res.WireGuardWrites++
		}
	}
	if err := h.fail[agent.PartAddresses]; err != nil {
		res.Errors.Set(agent.PartAddresses, err)
	} else {
		res.RouteWrites += h.applyAddresses(s.Routes, &res.Errors)
	}
	if err := h.fail[agent.PartRoutes]; err != nil {
		res.Errors.Set(agent.PartRoutes, err)
	} else {
		res.RouteWrites += h.applyRoutes(s.Routes.Routes, &res.Errors)
	}
	if err := h.fail[agent.PartRules]; err != nil {
		res.Errors.Set(agent.PartRules, err)
	} else {
		before := h.ipRule()
		h.rules = slices.Clone(s.Routes.Rules)
		if h.ipRule() != before {
			res.RouteWrites++
		}
	}
	if err := h.fail[agent.PartIPTables]; err != nil {
		res.Errors.Set(agent.PartIPTables, err)
	} else {
		before := h.iptablesSave()
		h.ipt = s.IPTables
		if h.iptablesSave() != before {
			res.IPTablesWrites++
		}
	}
	return res
}

func (h *Host) applyAddresses(s route.State, errs *agent.PartErrors) int {
	before := h.ipLink() + h.ipAddress()
	var missing []error
	for _, l := range s.Up {
		if _, ok := h.links[l]; !ok {
			missing = append(missing, fmt.Errorf("route: link %q not found", l))
			continue
		}
		h.links[l] = true
	}
	for l, as := range s.Addresses {
		if _, ok := h.links[l]; !ok {
			missing = append(missing, fmt.Errorf("route: link %q not found", l))
			continue
		}
		h.addrs[l] = slices.Clone(as)
	}
	errs.Set(agent.PartAddresses, errors.Join(missing...))
	if h.ipLink()+h.ipAddress() != before {
		return 1
	}
	return 0
}

// applyRoutes installs the routes whose link exists; like the route
// manager, a route whose link is missing keeps the one the host holds.
func (h *Host) applyRoutes(want []route.Route, errs *agent.PartErrors) int {
	before := h.ipRoute()
	var next []route.Route
	var missing []error
	for _, r := range want {
		if _, ok := h.links[r.Dev]; ok {
			next = append(next, r)
			continue
		}
		missing = append(missing, fmt.Errorf("route: route %q: link %q not found", r, r.Dev))
		for _, old := range h.routes {
			if old.Dst == r.Dst && old.Table == r.Table {
				next = append(next, old)
			}
		}
	}
	h.routes = next
	errs.Set(agent.PartRoutes, errors.Join(missing...))
	if h.ipRoute() != before {
		return 1
	}
	return 0
}

// String prints the whole host, one section per tool.
func (h *Host) String() string {
	var b strings.Builder
	for _, sec := range []struct{ head, body string }{
		{"ip link", h.ipLink()},
		{"ip address", h.ipAddress()},
		{"ip rule", h.ipRule()},
		{"ip route show table all", h.ipRoute()},
		{"wg showconf " + h.wgDevice, h.showconf()},
		{"iptables-restore", h.iptablesSave()},
	} {
		fmt.Fprintf(&b, "# %s\n%s", sec.head, sec.body)
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (h *Host) ipLink() string {
	var b strings.Builder
	for _, l := range sortedKeys(h.links) {
		state := "DOWN"
		if h.links[l] {
			state = "UP"
		}
		fmt.Fprintf(&b, "%s state %s\n", l, state)
	}
	return b.String()
}

func (h *Host) ipAddress() string {
	var b strings.Builder
	for _, l := range sortedKeys(h.addrs) {
		for _, a := range h.addrs[l] {
			fmt.Fprintf(&b, "%s inet %s\n", l, a)
		}
	}
	return b.String()
}

// ipRule prints the rules as "ip rule" orders them, with the route
// manager's own "lookup <mesh table>" rule when the mesh table has routes.
func (h *Host) ipRule() string {
	rules := slices.Clone(h.rules)
	if slices.ContainsFunc(h.routes, func(r route.Route) bool { return r.Table == h.MeshTable || r.Table == 0 }) {
		rules = append(rules, route.Rule{Table: h.MeshTable, Priority: route.DefaultRulePriority})
	}
	lines := make([]string, 0, len(rules))
	for _, r := range rules {
		if r.Priority == 0 {
			r.Priority = route.DefaultRulePriority
		}
		lines = append(lines, r.String())
	}
	slices.SortStableFunc(lines, func(a, b string) int {
		var pa, pb int
		fmt.Sscanf(a, "%d:", &pa)
		fmt.Sscanf(b, "%d:", &pb)
		if pa != pb {
			return pa - pb
		}
		return strings.Compare(a, b)
	})
	return lines2text(slices.Compact(lines))
}

func (h *Host) ipRoute() string {
	lines := make([]string, 0, len(h.routes))
	for _, r := range h.routes {
		if r.Table == 0 {
			r.Table = h.MeshTable
		}
		lines = append(lines, r.String())
	}
	slices.Sort(lines)
	return lines2text(lines)
}

// showconf prints the device as wg showconf does, the private key
// replaced by its public key: golden files hold no secrets.
func (h *Host) showconf() string {
	if !h.hasWG {
		return ""
	}
	c := h.wg
	key := c.Interface.PrivateKey
	c.Interface.PrivateKey = nil
	var b bytes.Buffer
	wireguard.WriteSetconf(&b, c)
	var extra strings.Builder
	if key != nil {
		fmt.Fprintf(&extra, "# PublicKey = %s\n", key.PublicKey())
	}
	if h.mark != 0 {
		fmt.Fprintf(&extra, "FwMark = %#x\n", h.mark)
	}
	return strings.Replace(b.String(), "[Interface]\n", "[Interface]\n"+extra.String(), 1)
}

func (h *Host) iptablesSave() string {
	var b strings.Builder
	for _, f := range []iptables.Family{iptables.IPv4, iptables.IPv6} {
		in, err := iptables.RestoreInput(h.ipt, f, "")
		if err != nil {
			fmt.Fprintf(&b, "# %s: %v\n", f, err)
			continue
		}
		if bytes.Contains(in, []byte("\n-")) {
			fmt.Fprintf(&b, "# %s\n%s", f, in)
		}
	}
	return b.String()
}

func lines2text(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}
