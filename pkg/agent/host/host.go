// Package host is the agent's data plane on Linux: it composes the
// WireGuard device, the route manager and the iptables controller behind
// the agent's Host interface. It is the only place that holds them all;
// each driver does its own diff, so applying an unchanged state writes
// nothing anywhere.
package host

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/kgctl/kgctl/pkg/agent"
	"github.com/kgctl/kgctl/pkg/agent/iptables"
	"github.com/kgctl/kgctl/pkg/agent/laststate"
	"github.com/kgctl/kgctl/pkg/agent/route"
	"github.com/kgctl/kgctl/pkg/agent/wg"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// Linux is the real host.
type Linux struct {
	Device   *wg.Device
	Routes   *route.Manager
	IPTables *iptables.Controller
	// NoIPTables skips iptables entirely (hosts where something else owns it).
	NoIPTables bool
}

var _ agent.Host = (*Linux)(nil)

// Apply applies every part, each as a diff; one part failing does not
// stop the others, so a bad route cannot keep WireGuard peers stale.
func (h *Linux) Apply(ctx context.Context, s agent.State) agent.HostResult {
	var res agent.HostResult
	h.Device.SetFirewallMark(s.FirewallMark)
	wr, err := h.Device.Apply(ctx, s.WireGuard)
	res.WireGuardWrites, res.Peers = wr.Writes, len(s.WireGuard.Peers)
	res.Errors.Set(agent.PartWireGuard, err)
	rr, err := h.Routes.Apply(s.Routes)
	res.RouteWrites = rr.Writes
	routeParts(&res.Errors, err)
	if !h.NoIPTables {
		ir, err := h.IPTables.Apply(ctx, s.IPTables)
		res.IPTablesWrites = ir.Writes
		res.Errors.Set(agent.PartIPTables, err)
	}
	return res
}

// EnsureTunnel makes the IPIP tunnel exist and be up: one read when it
// does. A kernel without ipip gives an error wrapping
// route.ErrIPIPUnsupported, and is asked again on the next call (the
// module may be loaded later).
func (h *Linux) EnsureTunnel(_ context.Context, name string) error {
	_, err := h.Routes.EnsureIPIP(name)
	return err
}

// routeParts spreads the route manager's errors over their parts.
func routeParts(errs *agent.PartErrors, err error) {
	e := route.PartErrors(err)
	errs.Set(agent.PartAddresses, errors.Join(e.Links, e.Addresses))
	errs.Set(agent.PartRoutes, e.Routes)
	errs.Set(agent.PartRules, e.Rules)
}

// Discovered reports endpoints WireGuard learned.
func (h *Linux) Discovered(maxAge time.Duration) (map[string]netip.AddrPort, error) {
	return h.Device.DiscoveredEndpoints(maxAge)
}

// CleanUp removes everything the agent created: routes, rules, iptables
// rules, the tunnel and the WireGuard interface (for --clean-up on removal;
// a plain restart keeps the data plane).
func (h *Linux) CleanUp(ctx context.Context, tunnel string) error {
	var errs []error
	if err := h.Routes.CleanUp(); err != nil {
		errs = append(errs, err)
	}
	if !h.NoIPTables {
		if err := h.IPTables.CleanUp(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if tunnel != "" {
		if err := h.Routes.DeleteIPIP(tunnel); err != nil {
			errs = append(errs, err)
		}
	}
	if err := h.Device.Delete(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Restore brings the WireGuard device and the routes back to the state
// saved at path (see laststate) with the node's key, before the cluster is
// listed: for an embedded device, which went away with the previous
// process. It reports whether there was a state to restore; iptables are
// left alone (their rules stayed in the kernel).
func (h *Linux) Restore(ctx context.Context, key wireguard.Key, path string) (bool, error) {
	ls, ok, err := laststate.Load(path)
	if !ok || err != nil {
		return false, err
	}
	h.Device.SetFirewallMark(ls.FirewallMark)
	cfg := wireguard.Config{Interface: wireguard.Interface{PrivateKey: &key, ListenPort: ls.ListenPort}, Peers: ls.Peers}
	_, werr := h.Device.Apply(ctx, cfg)
	_, rerr := h.Routes.Apply(ls.Routes)
	return true, errors.Join(werr, rerr)
}

// Saver returns the agent's Options.Saved for w: the peers and routes of
// each state that converged.
func Saver(w *laststate.Writer) func(agent.State) error {
	return func(s agent.State) error {
		return w.Save(laststate.State{ListenPort: s.WireGuard.Interface.ListenPort, FirewallMark: s.FirewallMark, Peers: s.WireGuard.Peers, Routes: s.Routes})
	}
}
