//go:build linux

package wg

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/wgctrl"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/kgctl/kgctl/pkg/wireguard"
)

// These tests run real userspace WireGuard devices, each in a network
// namespace of its own. UAPI sockets live in /var/run/wireguard, which all
// namespaces share, so every device gets a unique name.

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to make network namespaces and TUN devices (run go test as root)")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("skipping: needs /dev/net/tun for userspace WireGuard: %v", err)
	}
}

// newNetns returns a new network namespace with lo up, closed at cleanup.
func newNetns(t *testing.T) netns.NsHandle {
	t.Helper()
	var ns netns.NsHandle
	err := func() error {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			return err
		}
		defer orig.Close()
		ns, err = netns.New() // moves this thread into it
		if err != nil {
			runtime.UnlockOSThread()
			return err
		}
		if err := netns.Set(orig); err != nil {
			return err // leave the thread locked: the runtime drops it
		}
		runtime.UnlockOSThread()
		return nil
	}()
	if err != nil {
		t.Fatalf("new network namespace: %v", err)
	}
	t.Cleanup(func() { ns.Close() })
	nl := nlHandle(t, ns)
	lo, err := nl.LinkByName("lo")
	if err == nil {
		err = nl.LinkSetUp(lo)
	}
	if err != nil {
		t.Fatalf("set lo up: %v", err)
	}
	return ns
}

func nlHandle(t *testing.T, ns netns.NsHandle) *netlink.Handle {
	t.Helper()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatalf("netlink handle: %v", err)
	}
	t.Cleanup(h.Close)
	return h
}

// inNS runs f on a thread in ns.
func inNS(t *testing.T, ns netns.NsHandle, f func()) {
	t.Helper()
	if err := inNetns(ns, f); err != nil {
		t.Fatalf("enter network namespace: %v", err)
	}
}

// uniqueName returns an interface name no other test uses.
func uniqueName(t *testing.T) string {
	var b [4]byte
	rand.Read(b[:])
	return "kgt" + hex.EncodeToString(b[:])
}

// logBuffer collects log output from many goroutines; it outlives the test
// (the embedded device may log while it stops), so it never calls t.Log.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testLogger logs everything, down to WireGuard's verbose messages, and
// shows it when the test fails.
func testLogger(t *testing.T) (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", b)
		}
	})
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// openIn opens a device in ns and closes it at cleanup.
func openIn(t *testing.T, ns netns.NsHandle, opts Options) *Device {
	t.Helper()
	var (
		d   *Device
		err error
	)
	inNS(t, ns, func() { d, err = Open(context.Background(), opts) })
	if err != nil {
		t.Fatalf("Open(%+v) = %v", opts, err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return d
}

// kernelHasWireGuard reports whether a kernel WireGuard link can be made.
func kernelHasWireGuard(t *testing.T) bool {
	ns := newNetns(t)
	attrs := netlink.NewLinkAttrs()
	attrs.Name = "kgtprobe"
	err := nlHandle(t, ns).LinkAdd(&netlink.Wireguard{LinkAttrs: attrs})
	return err == nil
}

// readDevice reads a device through a wgctrl client of its own, as wg(8)
// would.
func readDevice(t *testing.T, name string) *wgtypes.Device {
	t.Helper()
	c, err := wgctrl.New()
	if err != nil {
		t.Fatalf("wgctrl: %v", err)
	}
	defer c.Close()
	d, err := c.Device(name)
	if err != nil {
		t.Fatalf("wgctrl Device(%q) = %v", name, err)
	}
	return d
}

func socketPath(name string) string { return filepath.Join(socketDir, name+".sock") }

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// peerView is what a device holds for a peer, in a comparable form.
type peerView struct {
	PublicKey  string
	PSK        bool
	Endpoint   string
	Keepalive  time.Duration
	AllowedIPs []string
}

type deviceView struct {
	PublicKey  string
	ListenPort int
	Peers      []peerView
}

func view(d *wgtypes.Device) deviceView {
	v := deviceView{PublicKey: d.PublicKey.String(), ListenPort: d.ListenPort}
	for _, p := range d.Peers {
		pv := peerView{
			PublicKey: p.PublicKey.String(),
			PSK:       p.PresharedKey != wgtypes.Key{},
			Keepalive: p.PersistentKeepaliveInterval,
		}
		if ep := currentEndpoint(p.Endpoint); ep.IsValid() {
			pv.Endpoint = ep.String()
		}
		for _, n := range p.AllowedIPs {
			pv.AllowedIPs = append(pv.AllowedIPs, n.String())
		}
		slices.Sort(pv.AllowedIPs)
		v.Peers = append(v.Peers, pv)
	}
	slices.SortFunc(v.Peers, func(a, b peerView) int { return strings.Compare(a.PublicKey, b.PublicKey) })
	return v
}

// viewOf returns what p should look like on a device.
func viewOf(p wireguard.Peer, endpoint string) peerView {
	pv := peerView{
		PublicKey: p.PublicKey.String(),
		PSK:       p.PresharedKey != nil,
		Endpoint:  endpoint,
		Keepalive: p.PersistentKeepalive,
	}
	for _, a := range p.AllowedIPs {
		pv.AllowedIPs = append(pv.AllowedIPs, a.Masked().String())
	}
	slices.Sort(pv.AllowedIPs)
	return pv
}

func genKey(t *testing.T) wgtypes.Key {
	k, err := wgtypes.GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// wgPeerName is how the embedded WireGuard names a peer in its logs.
func wgPeerName(k wgtypes.Key) string {
	b64 := base64.StdEncoding.EncodeToString(k[:])
	return "peer(" + b64[0:4] + "…" + b64[39:43] + ")"
}

func TestOpen(t *testing.T) {
	requireRoot(t)
	kernel := kernelHasWireGuard(t)
	tests := map[string]struct {
		mode     Mode
		mtu      int
		wantMode Mode
		wantMTU  int
		skip     bool
	}{
		"userspace with the default MTU": {mode: ModeUserspace, wantMode: ModeUserspace, wantMTU: 1420},
		"auto without the kernel module falls back to userspace": {
			mode: ModeAuto, mtu: 1380, wantMode: ModeUserspace, wantMTU: 1380, skip: kernel,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if tt.skip {
				t.Skip("skipping: this kernel has WireGuard, so auto picks it")
			}
			ns := newNetns(t)
			log, logs := testLogger(t)
			ifname := uniqueName(t)
			var (
				d   *Device
				err error
			)
			inNS(t, ns, func() {
				d, err = Open(context.Background(), Options{Name: ifname, Mode: tt.mode, MTU: tt.mtu, Logger: log})
			})
			if err != nil {
				t.Fatalf("Open() = %v", err)
			}
			if d.Name() != ifname || d.Mode() != tt.wantMode {
				t.Errorf("Name(), Mode() = %q, %q; want %q, %q", d.Name(), d.Mode(), ifname, tt.wantMode)
			}
			nl := nlHandle(t, ns)
			link, err := nl.LinkByName(ifname)
			if err != nil {
				t.Fatalf("interface %q is not in the namespace: %v", ifname, err)
			}
			if link.Attrs().MTU != tt.wantMTU || link.Attrs().Flags&net.FlagUp == 0 {
				t.Errorf("interface MTU %d, flags %v; want MTU %d and up", link.Attrs().MTU, link.Attrs().Flags, tt.wantMTU)
			}
			if got := readDevice(t, ifname).Type; got != wgtypes.Userspace {
				t.Errorf("wgctrl sees a %v device, want userspace", got)
			}
			if out, err := exec.Command("wg", "show", ifname).CombinedOutput(); err != nil && !errors.Is(err, exec.ErrNotFound) {
				t.Errorf("wg show %s = %v:\n%s", ifname, err, out)
			}
			if err := d.Close(); err != nil {
				t.Fatalf("Close() = %v", err)
			}
			if _, err := nl.LinkByName(ifname); err == nil {
				t.Errorf("interface %q still there after Close", ifname)
			}
			if exists(socketPath(ifname)) {
				t.Errorf("socket %s still there after Close", socketPath(ifname))
			}
			if err := d.Close(); err != nil {
				t.Errorf("second Close() = %v, want nil", err)
			}
			if strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("errors logged")
			}
		})
	}
}

func TestOpenKernelUnavailable(t *testing.T) {
	requireRoot(t)
	if kernelHasWireGuard(t) {
		t.Skip("skipping: this kernel has WireGuard")
	}
	ns := newNetns(t)
	ifname := uniqueName(t)
	var err error
	inNS(t, ns, func() { _, err = Open(context.Background(), Options{Name: ifname, Mode: ModeKernel}) })
	if !errors.Is(err, ErrKernelUnavailable) {
		t.Fatalf("Open(kernel) = %v, want ErrKernelUnavailable", err)
	}
	checkErr(t, err, []string{fmt.Sprintf(`create interface %q: kernel WireGuard is not available (load the wireguard module, or use mode "userspace" or "auto")`, ifname)})
	if _, lerr := nlHandle(t, ns).LinkByName(ifname); lerr == nil {
		t.Errorf("interface %q left behind", ifname)
	}
}

func TestOpenExisting(t *testing.T) {
	requireRoot(t)
	tests := map[string]struct {
		// setUp makes what is there before Open, in ns.
		setUp    func(t *testing.T, ns netns.NsHandle, name string)
		mode     Mode
		wantErr  []string
		wantMode Mode
	}{
		"a stale UAPI socket from a process that died is replaced": {
			setUp: func(t *testing.T, _ netns.NsHandle, name string) {
				if err := os.MkdirAll(socketDir, 0o755); err != nil {
					t.Fatal(err)
				}
				fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer unix.Close(fd)
				if err := unix.Bind(fd, &unix.SockaddrUnix{Name: socketPath(name)}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.Remove(socketPath(name)) })
			},
			mode:     ModeUserspace,
			wantMode: ModeUserspace,
		},
		"a persistent TUN device left behind is taken over": {
			setUp:    makePersistentTUN,
			mode:     ModeAuto,
			wantMode: ModeUserspace,
		},
		"a TUN device another process holds is refused": {
			setUp: func(t *testing.T, ns netns.NsHandle, name string) {
				attrs := netlink.NewLinkAttrs()
				attrs.Name = name
				tun := &netlink.Tuntap{LinkAttrs: attrs, Mode: netlink.TUNTAP_MODE_TUN, Flags: netlink.TUNTAP_NO_PI, Queues: 1, NonPersist: true}
				var err error
				inNS(t, ns, func() { err = netlink.LinkAdd(tun) })
				if err != nil {
					t.Fatalf("make TUN device: %v", err)
				}
				t.Cleanup(func() {
					for _, f := range tun.Fds {
						f.Close()
					}
				})
			},
			mode:    ModeUserspace,
			wantErr: []string{"is in use by another process (another agent, or wireguard-go?): device or resource busy"},
		},
		"a TUN device that cannot be attached to is left alone": {
			setUp: func(t *testing.T, ns netns.NsHandle, name string) {
				attrs := netlink.NewLinkAttrs()
				attrs.Name = name
				tun := &netlink.Tuntap{LinkAttrs: attrs, Mode: netlink.TUNTAP_MODE_TUN, Flags: netlink.TUNTAP_MULTI_QUEUE_DEFAULTS, Queues: 1}
				var err error
				inNS(t, ns, func() { err = netlink.LinkAdd(tun) })
				if err != nil {
					t.Fatalf("make TUN device: %v", err)
				}
				t.Cleanup(func() {
					for _, f := range tun.Fds {
						f.Close()
					}
				})
			},
			mode:    ModeAuto,
			wantErr: []string{"take over the existing TUN device", "(delete it if nothing uses it): invalid argument"},
		},
		"a TUN device is not taken for a kernel one": {
			setUp:   makePersistentTUN,
			mode:    ModeKernel,
			wantErr: []string{`exists as a TUN device (from a userspace WireGuard?): delete it or use mode "userspace"`},
		},
		"an interface of another type is refused": {
			setUp: func(t *testing.T, ns netns.NsHandle, name string) {
				attrs := netlink.NewLinkAttrs()
				attrs.Name = name
				if err := nlHandle(t, ns).LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: name + "p"}); err != nil {
					t.Fatalf("make veth: %v", err)
				}
			},
			mode:    ModeAuto,
			wantErr: []string{`exists with type "veth", not WireGuard: rename or delete it`},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			ns := newNetns(t)
			ifname := uniqueName(t)
			tt.setUp(t, ns, ifname)
			var (
				d   *Device
				err error
			)
			inNS(t, ns, func() { d, err = Open(context.Background(), Options{Name: ifname, Mode: tt.mode}) })
			checkErr(t, err, tt.wantErr)
			if err != nil {
				if _, lerr := nlHandle(t, ns).LinkByName(ifname); lerr != nil && tt.wantErr != nil {
					t.Errorf("the interface that was there is gone after a refused Open: %v", lerr)
				}
				return
			}
			defer d.Close()
			if d.Mode() != tt.wantMode {
				t.Errorf("Mode() = %q, want %q", d.Mode(), tt.wantMode)
			}
			res, err := d.Apply(context.Background(), wireguard.Config{Interface: wireguard.Interface{ListenPort: 51820}})
			if err != nil || res.Writes != 1 {
				t.Fatalf("Apply() = %v, %v; want one write", res, err)
			}
			if got := readDevice(t, ifname).ListenPort; got != 51820 {
				t.Errorf("listen port = %d, want 51820", got)
			}
			if err := d.Delete(); err != nil {
				t.Fatalf("Delete() = %v", err)
			}
			if _, err := nlHandle(t, ns).LinkByName(ifname); err == nil {
				t.Errorf("interface %q still there after Delete", ifname)
			}
			if exists(socketPath(ifname)) {
				t.Errorf("socket still there after Delete")
			}
		})
	}
}

// makePersistentTUN leaves a TUN device that no process holds, as
// "ip tuntap add" does.
func makePersistentTUN(t *testing.T, ns netns.NsHandle, name string) {
	attrs := netlink.NewLinkAttrs()
	attrs.Name = name
	tun := &netlink.Tuntap{LinkAttrs: attrs, Mode: netlink.TUNTAP_MODE_TUN}
	var err error
	inNS(t, ns, func() { err = netlink.LinkAdd(tun) })
	if err != nil {
		t.Fatalf("make TUN device: %v", err)
	}
	for _, f := range tun.Fds {
		f.Close()
	}
}

func TestOpenSameNameInTwoNamespaces(t *testing.T) {
	requireRoot(t)
	ifname := uniqueName(t)
	ns1, ns2 := newNetns(t), newNetns(t)
	d := openIn(t, ns1, Options{Name: ifname, Mode: ModeUserspace})
	var err error
	inNS(t, ns2, func() { _, err = Open(context.Background(), Options{Name: ifname, Mode: ModeUserspace}) })
	checkErr(t, err, []string{"listen on UAPI socket", "a device of this name in another network namespace?", "unix socket in use"})
	if _, lerr := nlHandle(t, ns2).LinkByName(ifname); lerr == nil {
		t.Errorf("TUN device left behind in the second namespace")
	}
	if _, err := d.Apply(context.Background(), wireguard.Config{Interface: wireguard.Interface{ListenPort: 51820}}); err != nil {
		t.Errorf("first device broken: Apply() = %v", err)
	}
}

func TestApplyUserspace(t *testing.T) {
	requireRoot(t)
	ns := newNetns(t)
	log, logs := testLogger(t)
	var dnsAddr netip.Addr
	resolve := func(_ context.Context, host string) ([]netip.Addr, error) {
		if host != "node-b.example" || !dnsAddr.IsValid() {
			return nil, fmt.Errorf("lookup %s: no such host", host)
		}
		return []netip.Addr{dnsAddr}, nil
	}
	ifname := uniqueName(t)
	d := openIn(t, ns, Options{Name: ifname, Mode: ModeUserspace, Logger: log, Resolver: resolve})
	priv := genKey(t)
	a := wireguard.Peer{
		Name:                "a",
		PublicKey:           genKey(t).PublicKey(),
		Endpoint:            ep("127.0.0.2:51000"),
		AllowedIPs:          pfxs("10.4.0.1/32", "10.244.1.0/24"),
		PersistentKeepalive: 25 * time.Second,
	}
	b := wireguard.Peer{
		Name:         "b",
		PublicKey:    genKey(t).PublicKey(),
		PresharedKey: ptr(genKey(t)),
		AllowedIPs:   pfxs("10.244.2.0/24", "10.4.0.2/32", "fd00::2/128"),
	}
	cfg := wireguard.Config{
		Interface: wireguard.Interface{PrivateKey: &priv, ListenPort: 51820},
		Peers:     []wireguard.Peer{a, b},
	}
	apply := func(step string, c wireguard.Config, want Result, wantErr ...string) {
		t.Helper()
		got, err := d.Apply(context.Background(), c)
		checkErr(t, err, wantErr)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%s: Apply() (-want +got):\n%s", step, diff)
		}
	}
	check := func(step string, want deviceView) {
		t.Helper()
		if diff := cmp.Diff(want, view(readDevice(t, ifname))); diff != "" {
			t.Errorf("%s: device (-want +got):\n%s", step, diff)
		}
	}
	viewA, viewB := viewOf(a, "127.0.0.2:51000"), viewOf(b, "")
	sorted := func(ps ...peerView) []peerView {
		slices.SortFunc(ps, func(x, y peerView) int { return strings.Compare(x.PublicKey, y.PublicKey) })
		return ps
	}

	apply("first", cfg, Result{PeersAdded: 2, InterfaceChanged: true, Writes: 1})
	check("first", deviceView{PublicKey: priv.PublicKey().String(), ListenPort: 51820, Peers: sorted(viewA, viewB)})

	apply("same again", cfg, Result{})
	reordered := cfg
	reordered.Peers = []wireguard.Peer{b, a}
	reordered.Peers[0].AllowedIPs = pfxs("fd00::2/128", "10.4.0.2/32", "10.244.2.0/24", "10.244.2.0/24")
	apply("reordered", reordered, Result{})

	// Change b only: a must not be written at all.
	before := len(logs.String())
	b2 := b
	b2.AllowedIPs = pfxs("10.244.3.0/24", "10.4.0.2/32")
	cfg.Peers = []wireguard.Peer{a, b2}
	apply("one peer changed", cfg, Result{PeersUpdated: 1, Writes: 1})
	check("one peer changed", deviceView{PublicKey: priv.PublicKey().String(), ListenPort: 51820, Peers: sorted(viewA, viewOf(b2, ""))})
	written := logs.String()[before:]
	if !strings.Contains(written, wgPeerName(b.PublicKey)+" - UAPI:") {
		t.Errorf("no UAPI write to peer b logged:\n%s", written)
	}
	if strings.Contains(written, wgPeerName(a.PublicKey)+" - UAPI:") {
		t.Errorf("peer a was written although it did not change:\n%s", written)
	}

	// A DNS endpoint is resolved on every Apply; when it stops resolving,
	// b keeps its endpoint and a's change still goes through.
	b3 := b2
	b3.Endpoint = ep("node-b.example:51820")
	cfg.Peers = []wireguard.Peer{a, b3}
	dnsAddr = netip.MustParseAddr("127.0.0.3")
	apply("DNS endpoint", cfg, Result{PeersUpdated: 1, Writes: 1})
	dnsAddr = netip.MustParseAddr("127.0.0.4")
	apply("DNS endpoint moved", cfg, Result{PeersUpdated: 1, Writes: 1})
	dnsAddr = netip.Addr{}
	a2 := a
	a2.PersistentKeepalive = 0
	cfg.Peers = []wireguard.Peer{a2, b3}
	apply("DNS failing", cfg, Result{PeersUpdated: 1, Writes: 1},
		`peer "b"`, `keeps its current endpoint: resolve endpoint "node-b.example:51820": lookup node-b.example: no such host`)
	check("DNS failing", deviceView{PublicKey: priv.PublicKey().String(), ListenPort: 51820, Peers: sorted(viewOf(a2, "127.0.0.2:51000"), viewOf(b2, "127.0.0.4:51820"))})

	// Remove a, drop b's preshared key, new key and port.
	priv2 := genKey(t)
	b4 := b3
	b4.PresharedKey = nil
	b4.Endpoint = ep("127.0.0.4:51820")
	cfg = wireguard.Config{Interface: wireguard.Interface{PrivateKey: &priv2, ListenPort: 51821}, Peers: []wireguard.Peer{b4}}
	apply("remove, key and port", cfg, Result{PeersRemoved: 1, PeersUpdated: 1, InterfaceChanged: true, Writes: 1})
	check("remove, key and port", deviceView{PublicKey: priv2.PublicKey().String(), ListenPort: 51821, Peers: []peerView{viewOf(b4, "127.0.0.4:51820")}})
	apply("settled", cfg, Result{})

	peers, err := d.Peers()
	if err != nil || len(peers) != 1 || peers[0].PublicKey != b.PublicKey {
		t.Errorf("Peers() = %v, %v; want peer b", peers, err)
	}
	for _, k := range []wgtypes.Key{priv, priv2} {
		assertNoSecret(t, "logs", logs.String(), k)
	}
}

func TestUAPISocketRemoved(t *testing.T) {
	requireRoot(t)
	ns := newNetns(t)
	log, logs := testLogger(t)
	ifname := uniqueName(t)
	d := openIn(t, ns, Options{Name: ifname, Mode: ModeUserspace, Logger: log})
	if err := os.Remove(socketPath(ifname)); err != nil {
		t.Fatal(err)
	}
	u := d.sys.(*userDevice)
	select {
	case <-u.acceptDone:
	case <-time.After(5 * time.Second):
		t.Fatal("the UAPI listener did not notice its socket was removed")
	}
	res, err := d.Apply(context.Background(), wireguard.Config{Interface: wireguard.Interface{ListenPort: 51820}})
	if err != nil || res.Writes != 1 {
		t.Fatalf("Apply() = %v, %v; want one write", res, err)
	}
	if got := readDevice(t, ifname).ListenPort; got != 51820 {
		t.Errorf("listen port = %d, want 51820", got)
	}
	if !strings.Contains(logs.String(), "listening on UAPI socket again") {
		t.Errorf("no log line about listening again")
	}
}

func TestInterfaceDeletedUnderneath(t *testing.T) {
	requireRoot(t)
	ns := newNetns(t)
	log, _ := testLogger(t)
	ifname := uniqueName(t)
	d := openIn(t, ns, Options{Name: ifname, Mode: ModeUserspace, Logger: log})
	nl := nlHandle(t, ns)
	link, err := nl.LinkByName(ifname)
	if err != nil {
		t.Fatal(err)
	}
	if err := nl.LinkDel(link); err != nil {
		t.Fatalf("delete the TUN device: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err = d.Apply(context.Background(), wireguard.Config{})
		if err != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	checkErr(t, err, []string{fmt.Sprintf("embedded WireGuard device %q stopped (was its interface deleted?): open it again", ifname)})
}

// TestHandshakeAndPing runs two devices in two namespaces joined by a veth
// pair, like two nodes: a knows b's endpoint, b does not know a's (as if a
// were behind NAT) and learns it from a's handshake.
func TestHandshakeAndPing(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("skipping: needs ping")
	}
	nsA, nsB := newNetns(t), newNetns(t)
	nameA, nameB := uniqueName(t), uniqueName(t)
	nlA, nlB := nlHandle(t, nsA), nlHandle(t, nsB)

	// The underlay: 192.168.77.1 in a, 192.168.77.2 in b.
	attrs := netlink.NewLinkAttrs()
	attrs.Name = "veth-a"
	if err := nlA.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "veth-b", PeerNamespace: netlink.NsFd(nsB)}); err != nil {
		t.Fatalf("make veth: %v", err)
	}
	addr := func(nl *netlink.Handle, link, cidr string) {
		t.Helper()
		l, err := nl.LinkByName(link)
		if err != nil {
			t.Fatal(err)
		}
		a, err := netlink.ParseAddr(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := nl.AddrAdd(l, a); err != nil {
			t.Fatalf("add %s to %s: %v", cidr, link, err)
		}
		if err := nl.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	addr(nlA, "veth-a", "192.168.77.1/24")
	addr(nlB, "veth-b", "192.168.77.2/24")

	logA, logsA := testLogger(t)
	logB, logsB := testLogger(t)
	devA := openIn(t, nsA, Options{Name: nameA, Mode: ModeUserspace, Logger: logA})
	devB := openIn(t, nsB, Options{Name: nameB, Mode: ModeUserspace, Logger: logB})
	addr(nlA, nameA, "10.200.0.1/24")
	addr(nlB, nameB, "10.200.0.2/24")

	keyA, keyB := genKey(t), genKey(t)
	// Both listen on 51820: the ports only do not collide if each device's
	// socket is in its own namespace.
	cfgA := wireguard.Config{
		Interface: wireguard.Interface{PrivateKey: &keyA, ListenPort: 51820},
		Peers: []wireguard.Peer{{
			Name: "b", PublicKey: keyB.PublicKey(), Endpoint: ep("192.168.77.2:51820"),
			AllowedIPs: pfxs("10.200.0.2/32"), PersistentKeepalive: 25 * time.Second,
		}},
	}
	cfgB := wireguard.Config{
		Interface: wireguard.Interface{PrivateKey: &keyB, ListenPort: 51820},
		Peers:     []wireguard.Peer{{Name: "a", PublicKey: keyA.PublicKey(), AllowedIPs: pfxs("10.200.0.1/32")}},
	}
	for _, step := range []struct {
		d   *Device
		cfg wireguard.Config
	}{{devB, cfgB}, {devA, cfgA}} { // b first: a's first handshake goes out at once
		if res, err := step.d.Apply(context.Background(), step.cfg); err != nil || res.Writes != 1 {
			t.Fatalf("Apply(%s) = %v, %v; want one write", step.d.Name(), res, err)
		}
	}

	var (
		out []byte
		err error
	)
	inNS(t, nsA, func() { out, err = exec.Command("ping", "-c", "1", "-w", "8", "10.200.0.2").CombinedOutput() })
	if err != nil {
		t.Fatalf("ping over WireGuard from a to b: %v\n%s", err, out)
	}

	// b learned a's endpoint from the handshake and reports it.
	found, err := devB.DiscoveredEndpoints(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]netip.AddrPort{keyA.PublicKey().String(): netip.MustParseAddrPort("192.168.77.1:51820")}
	if diff := cmp.Diff(want, found, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
		t.Errorf("DiscoveredEndpoints() (-want +got):\n%s", diff)
	}
	peers, err := devB.Peers()
	if err != nil || len(peers) != 1 {
		t.Fatalf("Peers() = %v, %v", peers, err)
	}
	if p := peers[0]; p.LastHandshakeTime.IsZero() || p.ReceiveBytes == 0 || p.TransmitBytes == 0 {
		t.Errorf("peer stats after ping: handshake %v, rx %d, tx %d; want all set", p.LastHandshakeTime, p.ReceiveBytes, p.TransmitBytes)
	}

	// A resync leaves the learned endpoint alone and writes nothing.
	if res, err := devB.Apply(context.Background(), cfgB); err != nil || res.Writes != 0 {
		t.Errorf("resync of b = %v, %v; want no writes", res, err)
	}
	if got := currentEndpoint(readDevice(t, nameB).Peers[0].Endpoint); got != netip.MustParseAddrPort("192.168.77.1:51820") {
		t.Errorf("b's endpoint for a after resync = %v, want the learned 192.168.77.1:51820", got)
	}
	for _, c := range []struct {
		logs *logBuffer
		key  wgtypes.Key
	}{{logsA, keyA}, {logsB, keyB}} {
		assertNoSecret(t, "logs", c.logs.String(), c.key)
	}
}

// TestFirewallMarkUserspace checks that the embedded device takes the
// firewall mark (its sockets mark the transport packets) and that a
// resync with it in place writes nothing.
func TestFirewallMarkUserspace(t *testing.T) {
	requireRoot(t)
	ns := newNetns(t)
	ifname := uniqueName(t)
	d := openIn(t, ns, Options{Name: ifname, Mode: ModeUserspace, FirewallMark: 0x1000})
	cfg := wireguard.Config{Interface: wireguard.Interface{ListenPort: 51820}}
	if res, err := d.Apply(context.Background(), cfg); err != nil || res.Writes != 1 {
		t.Fatalf("Apply() = %v, %v; want one write", res, err)
	}
	if got := readDevice(t, ifname).FirewallMark; got != 0x1000 {
		t.Errorf("firewall mark = %#x, want 0x1000", got)
	}
	if res, err := d.Apply(context.Background(), cfg); err != nil || res.Writes != 0 {
		t.Errorf("resync: Apply() = %v, %v; want no writes", res, err)
	}
}
