package wg

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// DefaultMTU is the MTU of a new interface when Options.MTU is 0.
const DefaultMTU = 1420

// ErrClosed is returned by a Device's methods after Close or Delete.
var ErrClosed = errors.New("wg: device is closed")

// ErrKernelUnavailable is wrapped by Open in ModeKernel when the kernel has
// no WireGuard support.
var ErrKernelUnavailable = errors.New("kernel WireGuard is not available")

// Options configures Open.
type Options struct {
	// Name is the interface name, e.g. "kilo0" (at most 15 bytes).
	Name string
	// Mode picks the implementation; empty means ModeAuto.
	Mode Mode
	// MTU of the interface; 0 leaves a new interface at DefaultMTU and an
	// existing one as it is.
	MTU int
	// Logger receives the driver's and the embedded WireGuard's messages
	// (WireGuard's verbose ones at debug level). Nil discards them.
	Logger *slog.Logger
	// Resolver resolves DNS endpoints on every Apply; nil means
	// DefaultResolver.
	Resolver Resolver
	// FirewallMark is set on the device's own (transport) packets, kernel
	// and userspace alike, and kept by every Apply; 0 clears it. A policy
	// rule on it keeps those packets out of the mesh's routes, whatever
	// the endpoint.
	FirewallMark uint32
}

// Device is an open WireGuard interface. Its methods are safe for
// concurrent use.
type Device struct {
	name    string
	mode    Mode
	log     *slog.Logger
	resolve Resolver
	mark    int
	client  client

	mu     sync.Mutex
	closed bool
	sys    system
}

// system is the platform half of a Device.
type system interface {
	// check reports whether the device still works, repairing what it can
	// (a UAPI socket someone removed).
	check() error
	// close releases the device; an embedded device stops and its
	// interface goes away, a kernel link stays.
	close() error
	// remove deletes the interface, then releases the device.
	remove() error
}

// SetFirewallMark changes the mark the next Apply keeps on the device.
func (d *Device) SetFirewallMark(mark uint32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mark = int(mark)
}

// Name returns the interface name.
func (d *Device) Name() string { return d.name }

// Mode returns the implementation in use: ModeKernel or ModeUserspace.
func (d *Device) Mode() Mode { return d.mode }

// Close releases the device. An embedded userspace device stops: its
// interface (unless it was a persistent TUN device taken over) and UAPI
// socket go away with it, and its peers lose the tunnel until the next
// Open. A kernel link stays configured. Close is idempotent.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	return errors.Join(d.sys.close(), d.client.Close())
}

// Delete removes the interface entirely (for clean-up on removal), whatever
// its mode, and releases the device.
func (d *Device) Delete() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	d.closed = true
	return errors.Join(d.sys.remove(), d.client.Close())
}

// usable reports whether the device can be read and written; d.mu is held.
func (d *Device) usable() error {
	if d.closed {
		return ErrClosed
	}
	return d.sys.check()
}

func fmtReadErr(name string, err error) error {
	return fmt.Errorf("wg: read device %q: %w", name, err)
}

// complete fills o's defaults and checks it.
func (o Options) complete() (Options, error) {
	if err := validName(o.Name); err != nil {
		return o, fmt.Errorf("wg: interface name %q: %w", o.Name, err)
	}
	if o.Mode == "" {
		o.Mode = ModeAuto
	}
	if _, err := ParseMode(string(o.Mode)); err != nil {
		return o, err
	}
	if o.FirewallMark > 1<<31-1 {
		// wgctrl carries the mark as an int; keep it portable to 32 bits.
		return o, fmt.Errorf("wg: firewall mark %#x is over 0x7fffffff", o.FirewallMark)
	}
	if o.MTU != 0 && (o.MTU < 68 || o.MTU > 65535) {
		return o, fmt.Errorf("wg: MTU %d is not in 68-65535", o.MTU)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Resolver == nil {
		o.Resolver = DefaultResolver
	}
	return o, nil
}

// validName checks a Linux interface name that is taken literally (no
// "%d" template).
func validName(s string) error {
	switch {
	case s == "":
		return errors.New("is empty")
	case len(s) > 15:
		return errors.New("is longer than 15 bytes")
	case s == "." || s == "..":
		return errors.New("is reserved")
	case strings.ContainsAny(s, "/:% \t\n\r\v\f"):
		return errors.New("contains '/', ':', '%' or white space")
	}
	return nil
}
