//go:build linux

package wg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/ipc"
	"golang.zx2c4.com/wireguard/tun"
)

// socketDir is where wireguard-go, wg(8) and wgctrl keep UAPI sockets. It
// is one directory for every network namespace on the host.
const socketDir = "/var/run/wireguard"

// userDevice is WireGuard embedded in this process: a TUN device, the
// WireGuard state machine on it, and a UAPI listener that serves wgctrl.
type userDevice struct {
	h   *host
	dev *device.Device
	log *slog.Logger

	// closing is set once close or remove has begun.
	closing atomic.Bool
	// uapi and acceptDone are the current listener and the channel its
	// accept loop closes when it ends; only check, close and remove (all
	// under the Device's lock) replace or read them.
	uapi       *uapiListener
	acceptDone chan struct{}
}

// openUserspace starts an embedded device on a new TUN device, or on
// existing, a TUN device of the same name left behind.
func openUserspace(h *host, o Options, existing netlink.Link) (system, error) {
	mtu := o.MTU
	if mtu == 0 {
		mtu = DefaultMTU
		if existing != nil {
			mtu = existing.Attrs().MTU
		}
	}
	tdev, err := createTUN(h, mtu, existing != nil)
	if err != nil {
		return nil, err
	}
	if name, err := tdev.Name(); err != nil || name != h.name {
		tdev.Close()
		return nil, fmt.Errorf("wg: TUN device for %q got name %q: %v", h.name, name, err)
	}
	bind := conn.NewDefaultBind()
	if pin, err := needsPinning(h.ns); err != nil {
		tdev.Close()
		return nil, fmt.Errorf("wg: open %q: %w", h.name, err)
	} else if pin {
		bind = &nsBind{Bind: bind, ns: h.ns}
		tdev = &nsTUN{Device: tdev, ns: h.ns}
	}
	u := &userDevice{
		h:   h,
		dev: device.NewDevice(tdev, bind, deviceLogger(o.Logger, h.name)),
		log: o.Logger,
	}
	if err := u.listen(); err != nil {
		u.dev.Close()
		return nil, err
	}
	if err := h.setUp(0); err != nil {
		return nil, errors.Join(err, u.stop())
	}
	go u.watch()
	return u, nil
}

// createTUN makes the TUN device, or attaches to a persistent one left
// behind. A TUN device that cannot be attached to is left alone: it may be
// another program's.
func createTUN(h *host, mtu int, existed bool) (tun.Device, error) {
	tdev, err := tun.CreateTUN(h.name, mtu)
	switch {
	case err == nil:
		return tdev, nil
	case errors.Is(err, unix.EBUSY):
		return nil, fmt.Errorf("wg: TUN device %q is in use by another process (another agent, or wireguard-go?): %w", h.name, err)
	case existed:
		return nil, fmt.Errorf("wg: take over the existing TUN device %q (delete it if nothing uses it): %w", h.name, err)
	default:
		return nil, fmt.Errorf("wg: create TUN device %q: %w", h.name, err)
	}
}

// listen opens the UAPI socket, replacing a stale one, and serves it.
func (u *userDevice) listen() error {
	path := filepath.Join(socketDir, u.h.name+".sock")
	f, err := ipc.UAPIOpen(u.h.name)
	if err != nil {
		return fmt.Errorf("wg: listen on UAPI socket %q (a device of this name in another network namespace?): %w", path, err)
	}
	defer f.Close()
	l, err := ipc.UAPIListen(u.h.name, f)
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("wg: listen on UAPI socket %q: %w", path, err)
	}
	u.uapi = &uapiListener{Listener: l}
	u.acceptDone = make(chan struct{})
	go u.accept(u.uapi, u.acceptDone)
	return nil
}

// accept serves UAPI connections until the listener stops: on Close, or
// when someone removes the socket file.
//
// ipc.UAPIListener reports exactly two errors once it stops, one from each
// of its goroutines, and each blocks until its error is read: the loop
// reads both, so that none is left behind.
func (u *userDevice) accept(l *uapiListener, done chan struct{}) {
	defer close(done)
	for errs := 0; errs < 2; {
		c, err := l.Accept()
		if err != nil {
			errs++
			if errs == 1 {
				if !u.closing.Load() {
					u.log.Error("UAPI socket stopped; listening again on next use", "interface", u.h.name, "error", err)
				}
				l.Close()
			}
			continue
		}
		if u.closing.Load() {
			c.Close()
			continue
		}
		go u.dev.IpcHandle(c)
	}
}

// watch logs the device stopping on its own (its TUN device was removed).
func (u *userDevice) watch() {
	<-u.dev.Wait()
	if !u.closing.Load() {
		u.log.Error("embedded WireGuard device stopped", "interface", u.h.name)
	}
}

func (u *userDevice) check() error {
	select {
	case <-u.dev.Wait():
		return fmt.Errorf("wg: embedded WireGuard device %q stopped (was its interface deleted?): open it again", u.h.name)
	default:
	}
	select {
	case <-u.acceptDone:
		if err := u.listen(); err != nil {
			return err
		}
		u.log.Info("listening on UAPI socket again", "interface", u.h.name)
	default:
	}
	return nil
}

// stop closes the UAPI socket (removing its file) and the device (removing
// a TUN device that is not persistent).
func (u *userDevice) stop() error {
	u.closing.Store(true)
	err := u.uapi.Close()
	<-u.acceptDone
	u.dev.Close()
	// ipc.UAPIListener.Close races its own watcher goroutine, which may
	// close its half first: that is not a failure to stop.
	if errors.Is(err, os.ErrClosed) || errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (u *userDevice) close() error {
	err := u.stop()
	u.h.release()
	return err
}

func (u *userDevice) remove() error {
	err := errors.Join(u.stop(), u.h.deleteLink())
	u.h.release()
	return err
}

// uapiListener closes its listener once: ipc.UAPIListener closes file
// descriptors by number, so a second Close could close someone else's.
type uapiListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *uapiListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}

// startNetns identifies the network namespace this process started in. It
// is read at init, on the main thread, before anything could have moved a
// thread elsewhere; /proc/self/ns/net read later reports the main thread's
// namespace, and any goroutine may have moved the main thread.
var startNetns = func() (st unix.Stat_t) {
	_ = unix.Stat("/proc/self/ns/net", &st)
	return st
}()

// needsPinning reports whether ns, the namespace the device was opened in,
// is not the one the process started in. Then the sockets WireGuard opens
// later, from threads of its own, must be opened in ns explicitly.
func needsPinning(ns netns.NsHandle) (bool, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(ns), &st); err != nil {
		return false, fmt.Errorf("read network namespace: %w", err)
	}
	return st.Dev != startNetns.Dev || st.Ino != startNetns.Ino, nil
}

// nsBind opens WireGuard's UDP sockets in the network namespace the device
// was opened in, whichever thread asks. It is used only when that is not
// the process's own namespace (a test, or a program that moved one thread);
// WireGuard's sticky sockets need its plain bind and are off then.
type nsBind struct {
	conn.Bind
	ns netns.NsHandle
}

func (b *nsBind) Open(port uint16) (fns []conn.ReceiveFunc, actual uint16, err error) {
	if nerr := inNetns(b.ns, func() { fns, actual, err = b.Bind.Open(port) }); nerr != nil {
		return nil, 0, fmt.Errorf("open UDP port %d in the device's network namespace: %w", port, nerr)
	}
	return fns, actual, err
}

// nsTUN reads the TUN device's MTU in the namespace the device was opened
// in, whichever thread asks (see nsBind).
type nsTUN struct {
	tun.Device
	ns netns.NsHandle
}

func (t *nsTUN) MTU() (mtu int, err error) {
	if nerr := inNetns(t.ns, func() { mtu, err = t.Device.MTU() }); nerr != nil {
		return 0, fmt.Errorf("read MTU in the device's network namespace: %w", nerr)
	}
	return mtu, err
}

// inNetns runs f on this thread switched to ns.
func inNetns(ns netns.NsHandle, f func()) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	if err := netns.Set(ns); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	f()
	if err := netns.Set(orig); err != nil {
		// Leave the thread locked: the runtime ends it with this goroutine
		// rather than run other goroutines in the wrong namespace.
		return err
	}
	runtime.UnlockOSThread()
	return nil
}

// deviceLogger sends the embedded device's messages to l: verbose ones at
// debug level, errors at error level.
func deviceLogger(l *slog.Logger, name string) *device.Logger {
	l = l.With("interface", name)
	logf := func(level slog.Level) func(string, ...any) {
		return func(format string, args ...any) {
			if ctx := context.Background(); l.Enabled(ctx, level) {
				l.Log(ctx, level, fmt.Sprintf(format, args...))
			}
		}
	}
	return &device.Logger{Verbosef: logf(slog.LevelDebug), Errorf: logf(slog.LevelError)}
}
