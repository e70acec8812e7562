package wg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/kgctl/kgctl/pkg/wireguard"
)

// Resolver looks up the addresses of a host name.
type Resolver func(ctx context.Context, host string) ([]netip.Addr, error)

// DefaultResolver resolves host through net.DefaultResolver.
func DefaultResolver(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// client is the part of wgctrl.Client a Device uses.
type client interface {
	Device(name string) (*wgtypes.Device, error)
	ConfigureDevice(name string, cfg wgtypes.Config) error
	Close() error
}

// Apply makes the device match desired, writing only what differs (see
// Diff); when nothing differs it writes nothing and Result.Writes is 0.
// Apply may be called again with the same config at the cost of one read.
//
// DNS endpoints are resolved again on every call, so a dynamic DNS entry is
// followed. A name that does not resolve does not block the other peers: its
// peer keeps its current endpoint, everything else is applied, and the
// resolution errors are returned (joined) with the Result. A config that
// fails validation (a repeated public key, an allowed IP on two peers, a
// peer with the device's own key) is refused and nothing is written.
func (d *Device) Apply(ctx context.Context, desired wireguard.Config) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("wg: apply to %q: %w", d.name, err)
	}
	if err := validate(desired); err != nil {
		return Result{}, fmt.Errorf("wg: refusing config for %q: %w", d.name, err)
	}
	resolved, resolveErr := resolveEndpoints(ctx, d.resolve, desired.Peers)

	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(); err != nil {
		return Result{}, errors.Join(err, resolveErr)
	}
	current, err := d.client.Device(d.name)
	if err != nil {
		return Result{}, errors.Join(fmtReadErr(d.name, err), resolveErr)
	}
	cfg, res := Diff(current, desired, resolved)
	if current.FirewallMark != d.mark {
		mark := d.mark
		cfg.FirewallMark, res.InterfaceChanged = &mark, true
	}
	if !res.Changed() {
		return res, resolveErr
	}
	if err := d.client.ConfigureDevice(d.name, cfg); err != nil {
		return Result{}, errors.Join(fmt.Errorf("wg: configure device %q (%s): %w", d.name, res, err), resolveErr)
	}
	res.Writes = 1
	d.log.Debug("applied WireGuard changes", "interface", d.name,
		"peersAdded", res.PeersAdded, "peersRemoved", res.PeersRemoved, "peersUpdated", res.PeersUpdated,
		"interfaceChanged", res.InterfaceChanged)
	return res, resolveErr
}

// resolveEndpoints resolves every distinct DNS endpoint host among peers,
// once each. Hosts that fail are left out of the map; the error names each
// peer that keeps its current endpoint because of it.
func resolveEndpoints(ctx context.Context, resolve Resolver, peers []wireguard.Peer) (map[string]netip.Addr, error) {
	var (
		resolved map[string]netip.Addr
		failed   map[string]error
		errs     []error
	)
	for _, p := range peers {
		host := p.Endpoint.DNS
		if host == "" {
			continue
		}
		if _, ok := resolved[host]; ok {
			continue
		}
		err, ok := failed[host]
		if !ok {
			var addr netip.Addr
			if addr, err = resolveHost(ctx, resolve, host); err == nil {
				if resolved == nil {
					resolved = make(map[string]netip.Addr)
				}
				resolved[host] = addr
				continue
			}
			if failed == nil {
				failed = make(map[string]error)
			}
			failed[host] = err
		}
		errs = append(errs, fmt.Errorf("wg: peer %s keeps its current endpoint: resolve endpoint %q: %w", peerLabel(p), p.Endpoint.String(), err))
	}
	return resolved, errors.Join(errs...)
}

// resolveHost picks the first IPv4 address of host, else its first IPv6 one.
func resolveHost(ctx context.Context, resolve Resolver, host string) (netip.Addr, error) {
	addrs, err := resolve(ctx, host)
	if err != nil {
		return netip.Addr{}, err
	}
	var v6 netip.Addr
	for _, a := range addrs {
		a = a.Unmap().WithZone("")
		if a.Is4() {
			return a, nil
		}
		if a.Is6() && !v6.IsValid() {
			v6 = a
		}
	}
	if !v6.IsValid() {
		return netip.Addr{}, fmt.Errorf("no addresses for %q", host)
	}
	return v6, nil
}

// validate refuses configs a device cannot hold as written, which would
// otherwise look changed on every resync. It reports every problem.
func validate(c wireguard.Config) error {
	var (
		errs   []error
		own    wgtypes.Key
		byKey  = make(map[wgtypes.Key]int, len(c.Peers))
		byCIDR = make(map[netip.Prefix]int)
	)
	if k := c.Interface.PrivateKey; k != nil && *k != (wgtypes.Key{}) {
		own = k.PublicKey()
	}
	if p := c.Interface.ListenPort; p < 0 || p > 65535 {
		errs = append(errs, fmt.Errorf("listen port %d is not in 0-65535", p))
	}
	for i, p := range c.Peers {
		switch j, dup := byKey[p.PublicKey]; {
		case p.PublicKey == (wgtypes.Key{}):
			errs = append(errs, fmt.Errorf("peer %s: public key is empty", peerLabel(p)))
			continue
		case dup:
			errs = append(errs, fmt.Errorf("peer %s: public key is also peer %s's", peerLabel(p), peerLabel(c.Peers[j])))
			continue
		case p.PublicKey == own:
			errs = append(errs, fmt.Errorf("peer %s: public key is the interface's own", peerLabel(p)))
			continue
		}
		byKey[p.PublicKey] = i
		for _, a := range p.AllowedIPs {
			a = a.Masked()
			if j, dup := byCIDR[a]; dup && j != i {
				errs = append(errs, fmt.Errorf("peer %s: allowed IP %s is also peer %s's", peerLabel(p), a, peerLabel(c.Peers[j])))
				continue
			}
			byCIDR[a] = i
		}
		if p.PersistentKeepalive > maxKeepalive {
			errs = append(errs, fmt.Errorf("peer %s: persistent keepalive %s is over %s", peerLabel(p), p.PersistentKeepalive, maxKeepalive))
		}
	}
	return errors.Join(errs...)
}

// peerLabel names a peer in errors: its name and public key.
func peerLabel(p wireguard.Peer) string {
	if p.Name == "" {
		return p.PublicKey.String()
	}
	return fmt.Sprintf("%q (%s)", p.Name, p.PublicKey)
}
