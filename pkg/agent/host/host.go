// Package host is the agent's data plane on Linux: it composes the
// WireGuard device, the route manager and the iptables controller behind
// the agent's Host interface. It is the only place that holds them all;
// each driver does its own diff, so applying an unchanged state writes
// nothing anywhere.
package host

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/kgctl/kgctl/pkg/agent"
	"github.com/kgctl/kgctl/pkg/agent/iptables"
	"github.com/kgctl/kgctl/pkg/agent/route"
	"github.com/kgctl/kgctl/pkg/agent/wg"
)

// Linux is the real host.
type Linux struct {
	Device   *wg.Device
	Routes   *route.Manager
	IPTables *iptables.Controller
	// NoIPTables skips iptables entirely (hosts where something else owns it).
	NoIPTables bool
	tunnel     string
}

var _ agent.Host = (*Linux)(nil)

// Apply applies every part, each as a diff; one part failing does not
// stop the others, so a bad route cannot keep WireGuard peers stale.
func (h *Linux) Apply(ctx context.Context, s agent.State) (agent.HostResult, error) {
	var res agent.HostResult
	var errs []error
	if s.Tunnel != "" && s.Tunnel != h.tunnel {
		if _, err := h.Routes.EnsureIPIP(s.Tunnel); err != nil {
			errs = append(errs, fmt.Errorf("ipip tunnel: %w", err))
		} else {
			h.tunnel = s.Tunnel
		}
	}
	wr, err := h.Device.Apply(ctx, s.WireGuard)
	res.WireGuardWrites, res.Peers = wr.Writes, len(s.WireGuard.Peers)
	if err != nil {
		errs = append(errs, err)
	}
	rr, err := h.Routes.Apply(s.Routes)
	res.RouteWrites = rr.Writes
	if err != nil {
		errs = append(errs, err)
	}
	if !h.NoIPTables {
		ir, err := h.IPTables.Apply(ctx, s.IPTables)
		res.IPTablesWrites = ir.Writes
		if err != nil {
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

// Discovered reports endpoints WireGuard learned.
func (h *Linux) Discovered(maxAge time.Duration, now time.Time) (map[string]netip.AddrPort, error) {
	return h.Device.DiscoveredEndpoints(maxAge, now)
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
