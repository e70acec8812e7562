//go:build linux

package wg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/wgctrl"
)

// Open creates the WireGuard interface opts.Name, or takes over one that
// exists, sets it up and returns a handle on it. The interface is made in
// the network namespace of the calling thread.
//
// In ModeAuto it makes a kernel "wireguard" link and, if the kernel has no
// WireGuard, runs WireGuard embedded in this process instead. An existing
// kernel link of that name is reused as it is (its peers stay until the
// first Apply); a persistent TUN device of that name that no process holds
// is taken over for the embedded implementation. Anything else of that name
// (a TUN device in use, an interface of another type) is an error, and is
// left as it is.
//
// The embedded device serves the UAPI socket /var/run/wireguard/NAME.sock,
// like wireguard-go, so wg(8) and wgctrl can read and configure it; a stale
// socket left by a process that died is replaced. It lives as long as this
// process, or until Close.
func Open(ctx context.Context, opts Options) (*Device, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("wg: open %q: %w", opts.Name, err)
	}
	opts, err := opts.complete()
	if err != nil {
		return nil, err
	}
	// Stay on one thread, so that every socket and link below is made in
	// the same network namespace.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	h, err := newHost(opts.Name, opts.Logger)
	if err != nil {
		return nil, err
	}
	sys, mode, err := h.open(opts)
	if err != nil {
		h.release()
		return nil, err
	}
	c, err := wgctrl.New()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("wg: open %q: wgctrl: %w", opts.Name, err), sys.close())
	}
	opts.Logger.Debug("opened WireGuard device", "interface", opts.Name, "mode", mode)
	return &Device{
		name:    opts.Name,
		mode:    mode,
		log:     opts.Logger,
		resolve: opts.Resolver,
		mark:    int(opts.FirewallMark),
		client:  c,
		sys:     sys,
	}, nil
}

// host holds the network namespace a device lives in and a netlink handle
// for links there.
type host struct {
	name string
	ns   netns.NsHandle
	nl   *netlink.Handle
	log  *slog.Logger
}

// newHost captures the calling thread's network namespace.
func newHost(name string, log *slog.Logger) (*host, error) {
	ns, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("wg: open %q: read network namespace: %w", name, err)
	}
	nl, err := netlink.NewHandleAt(ns)
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("wg: open %q: netlink: %w", name, err)
	}
	return &host{name: name, ns: ns, nl: nl, log: log}, nil
}

func (h *host) release() {
	h.nl.Close()
	h.ns.Close()
}

// open picks the implementation for the interface as it is (or is not) on
// the host, and opens it.
func (h *host) open(o Options) (system, Mode, error) {
	link, err := h.link()
	if err != nil {
		return nil, "", err
	}
	switch link.(type) {
	case nil:
		if o.Mode != ModeUserspace {
			sys, err := h.createKernel(o.MTU)
			if err == nil {
				return sys, ModeKernel, nil
			}
			if o.Mode == ModeKernel || !errors.Is(err, ErrKernelUnavailable) {
				return nil, "", err
			}
			h.log.Info("kernel WireGuard is not available; using embedded userspace WireGuard", "interface", h.name)
		}
		sys, err := openUserspace(h, o, nil)
		return sys, ModeUserspace, err
	case *netlink.Wireguard:
		if o.Mode == ModeUserspace {
			return nil, "", fmt.Errorf("wg: interface %q exists as a kernel WireGuard link: delete it or use mode %q", h.name, ModeKernel)
		}
		sys, err := h.reuseKernel(link, o.MTU)
		return sys, ModeKernel, err
	case *netlink.Tuntap:
		if o.Mode == ModeKernel {
			return nil, "", fmt.Errorf("wg: interface %q exists as a TUN device (from a userspace WireGuard?): delete it or use mode %q", h.name, ModeUserspace)
		}
		sys, err := openUserspace(h, o, link)
		return sys, ModeUserspace, err
	default:
		return nil, "", fmt.Errorf("wg: interface %q exists with type %q, not WireGuard: rename or delete it", h.name, link.Type())
	}
}

// link returns the interface, or nil when there is none.
func (h *host) link() (netlink.Link, error) {
	link, err := h.nl.LinkByName(h.name)
	var notFound netlink.LinkNotFoundError
	switch {
	case errors.As(err, &notFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("wg: look up interface %q: %w", h.name, err)
	}
	return link, nil
}

// deleteLink removes the interface if it is there.
func (h *host) deleteLink() error {
	link, err := h.link()
	if err != nil || link == nil {
		return err
	}
	if err := h.nl.LinkDel(link); err != nil {
		return fmt.Errorf("wg: delete interface %q: %w", h.name, err)
	}
	return nil
}

// setUp sets the interface up, and its MTU when mtu is not 0.
func (h *host) setUp(mtu int) error {
	link, err := h.link()
	if err != nil {
		return err
	}
	if link == nil {
		return fmt.Errorf("wg: interface %q disappeared while being set up", h.name)
	}
	if mtu != 0 && link.Attrs().MTU != mtu {
		if err := h.nl.LinkSetMTU(link, mtu); err != nil {
			return fmt.Errorf("wg: set MTU of %q to %d: %w", h.name, mtu, err)
		}
	}
	if err := h.nl.LinkSetUp(link); err != nil {
		return fmt.Errorf("wg: set interface %q up: %w", h.name, err)
	}
	return nil
}

// createKernel makes a kernel WireGuard link. Its error wraps
// ErrKernelUnavailable when the kernel has no WireGuard.
func (h *host) createKernel(mtu int) (system, error) {
	attrs := netlink.NewLinkAttrs()
	attrs.Name = h.name
	attrs.MTU = mtu
	if err := h.nl.LinkAdd(&netlink.Wireguard{LinkAttrs: attrs}); err != nil {
		if errors.Is(err, unix.EOPNOTSUPP) {
			return nil, fmt.Errorf("wg: create interface %q: %w (load the wireguard module, or use mode %q or %q): %v",
				h.name, ErrKernelUnavailable, ModeUserspace, ModeAuto, err)
		}
		return nil, fmt.Errorf("wg: create kernel WireGuard interface %q: %w", h.name, err)
	}
	if err := h.setUp(0); err != nil {
		return nil, errors.Join(err, h.deleteLink())
	}
	return &kernelDevice{h: h}, nil
}

// reuseKernel takes over an existing kernel WireGuard link.
func (h *host) reuseKernel(link netlink.Link, mtu int) (system, error) {
	if err := h.setUp(mtu); err != nil {
		return nil, err
	}
	h.log.Debug("reusing existing kernel WireGuard interface", "interface", h.name, "index", link.Attrs().Index)
	return &kernelDevice{h: h}, nil
}

// kernelDevice is a kernel WireGuard link; wgctrl does all the talking.
type kernelDevice struct {
	h *host
}

func (k *kernelDevice) check() error { return nil }

func (k *kernelDevice) close() error {
	k.h.release()
	return nil
}

func (k *kernelDevice) remove() error {
	err := k.h.deleteLink()
	k.h.release()
	return err
}
