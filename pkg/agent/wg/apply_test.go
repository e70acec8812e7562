package wg

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/kgctl/kgctl/pkg/wireguard"
)

// fakeClient stands in for wgctrl: each method calls its function field.
type fakeClient struct {
	device    func(name string) (*wgtypes.Device, error)
	configure func(name string, cfg wgtypes.Config) error
}

func (f *fakeClient) Device(name string) (*wgtypes.Device, error) { return f.device(name) }
func (f *fakeClient) ConfigureDevice(name string, cfg wgtypes.Config) error {
	return f.configure(name, cfg)
}
func (f *fakeClient) Close() error { return nil }

// nopSystem is a platform half with nothing to do.
type nopSystem struct{}

func (nopSystem) check() error  { return nil }
func (nopSystem) close() error  { return nil }
func (nopSystem) remove() error { return nil }

func newTestDevice(c client, resolve Resolver, log *slog.Logger) *Device {
	if resolve == nil {
		resolve = func(context.Context, string) ([]netip.Addr, error) {
			return nil, errors.New("no DNS in this test")
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Device{name: "kilo0", mode: ModeUserspace, log: log, resolve: resolve, client: c, sys: nopSystem{}}
}

// assertNoSecret fails if text holds key, or the start of it, in base64 or hex.
func assertNoSecret(t *testing.T, what, text string, key wgtypes.Key) {
	t.Helper()
	b64, hx := key.String(), hex.EncodeToString(key[:])
	for _, s := range []string{b64, b64[:8], hx, hx[:8]} {
		if strings.Contains(text, s) {
			t.Errorf("%s contains the private key (%q):\n%s", what, s, text)
		}
	}
}

func TestApply(t *testing.T) {
	badDNS := func(c *wireguard.Config) {
		c.Peers[0].Endpoint = ep("a.example:51820")
		c.Peers = append(c.Peers, wireguard.Peer{Name: "c", PublicKey: testKey(3), AllowedIPs: pfxs("10.4.0.3/32")})
	}
	tests := map[string]struct {
		current    *wgtypes.Device
		mark       int
		readErr    error
		writeErr   error
		desired    wireguard.Config
		want       Result
		wantWrites []wgtypes.Config
		wantErr    []string // substrings of the error; nil for no error
	}{
		"in sync: nothing written": {
			current: base(),
			desired: baseConfig(),
		},
		"firewall mark missing: set, with nothing else": {
			current:    base(),
			mark:       0x1000,
			desired:    baseConfig(),
			want:       Result{InterfaceChanged: true, Writes: 1},
			wantWrites: []wgtypes.Config{{FirewallMark: ptr(0x1000)}},
		},
		"firewall mark in sync: nothing written": {
			current: func() *wgtypes.Device { d := base(); d.FirewallMark = 0x1000; return d }(),
			mark:    0x1000,
			desired: baseConfig(),
		},
		"firewall mark no longer wanted: cleared": {
			current:    func() *wgtypes.Device { d := base(); d.FirewallMark = 0x1000; return d }(),
			desired:    baseConfig(),
			want:       Result{InterfaceChanged: true, Writes: 1},
			wantWrites: []wgtypes.Config{{FirewallMark: ptr(0)}},
		},
		"one peer changed: one write with only that peer": {
			current: base(),
			desired: with(func(c *wireguard.Config) { c.Peers[1].PersistentKeepalive = 0 }),
			want:    Result{PeersUpdated: 1, Writes: 1},
			wantWrites: []wgtypes.Config{{Peers: []wgtypes.PeerConfig{
				{PublicKey: testKey(2), UpdateOnly: true, PersistentKeepaliveInterval: ptr(time.Duration(0))},
			}}},
		},
		"a name that does not resolve keeps its peer's endpoint and does not block the others": {
			current: base(),
			desired: with(badDNS),
			want:    Result{PeersAdded: 1, Writes: 1},
			wantWrites: []wgtypes.Config{{Peers: []wgtypes.PeerConfig{
				{PublicKey: testKey(3), ReplaceAllowedIPs: true, AllowedIPs: ipnets("10.4.0.3/32")},
			}}},
			wantErr: []string{`peer "a"`, "keeps its current endpoint", `"a.example:51820"`, "no DNS in this test"},
		},
		"an invalid config is refused before anything is read": {
			readErr: errors.New("must not be read"),
			desired: with(func(c *wireguard.Config) { c.Peers[1].PublicKey = c.Peers[0].PublicKey }),
			wantErr: []string{`refusing config for "kilo0"`, `peer "b"`, `is also peer "a"`},
		},
		"read error": {
			readErr: errors.New("no such device"),
			desired: baseConfig(),
			wantErr: []string{`read device "kilo0": no such device`},
		},
		"write error names the device and what was attempted, not the key": {
			current:    &wgtypes.Device{},
			writeErr:   errors.New("errno=22"),
			desired:    baseConfig(),
			wantWrites: []wgtypes.Config{{}}, // compared by count only below
			wantErr:    []string{`configure device "kilo0" (interface changed, 2 peers added, 0 removed, 0 updated, 0 writes): errno=22`},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var writes []wgtypes.Config
			fake := &fakeClient{
				device: func(string) (*wgtypes.Device, error) { return tt.current, tt.readErr },
				configure: func(_ string, cfg wgtypes.Config) error {
					writes = append(writes, cfg)
					return tt.writeErr
				},
			}
			var logs bytes.Buffer
			d := newTestDevice(fake, nil, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			d.mark = tt.mark
			got, err := d.Apply(context.Background(), tt.desired)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Apply() result (-want +got):\n%s", diff)
			}
			checkErr(t, err, tt.wantErr)
			if tt.writeErr != nil {
				if len(writes) != 1 {
					t.Errorf("Apply() wrote %d times, want 1", len(writes))
				}
			} else if diff := cmp.Diff(tt.wantWrites, writes); diff != "" {
				t.Errorf("Apply() writes (-want +got):\n%s", diff)
			}
			if err != nil {
				assertNoSecret(t, "error", err.Error(), testKey(0))
			}
			assertNoSecret(t, "result", got.String(), testKey(0))
			assertNoSecret(t, "logs", logs.String(), testKey(0))
		})
	}
}

func TestApplyClosed(t *testing.T) {
	d := newTestDevice(&fakeClient{}, nil, nil)
	if err := d.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	if _, err := d.Apply(context.Background(), baseConfig()); !errors.Is(err, ErrClosed) {
		t.Errorf("Apply() after Close = %v, want ErrClosed", err)
	}
	if _, err := d.Peers(); !errors.Is(err, ErrClosed) {
		t.Errorf("Peers() after Close = %v, want ErrClosed", err)
	}
	if err := d.Delete(); !errors.Is(err, ErrClosed) {
		t.Errorf("Delete() after Close = %v, want ErrClosed", err)
	}
}

func TestApplyCancelled(t *testing.T) {
	d := newTestDevice(&fakeClient{}, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Apply(ctx, baseConfig()); !errors.Is(err, context.Canceled) {
		t.Errorf("Apply() with a cancelled context = %v, want context.Canceled", err)
	}
}

// checkErr checks that err holds every substring in want, or is nil when
// want is.
func checkErr(t *testing.T, err error, want []string) {
	t.Helper()
	switch {
	case err == nil && want == nil:
	case err == nil:
		t.Errorf("error = nil, want one containing %q", want)
	case want == nil:
		t.Errorf("error = %v, want nil", err)
	default:
		for _, s := range want {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error = %v\nwant it to contain %q", err, s)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	tests := map[string]struct {
		in      wireguard.Config
		wantErr []string
	}{
		"valid":    {in: baseConfig()},
		"no peers": {in: wireguard.Config{}},
		"same allowed IP on one peer twice is fine": {
			in: with(func(c *wireguard.Config) { c.Peers[0].AllowedIPs = pfxs("10.4.0.1/32", "10.4.0.1/32") }),
		},
		"overlapping allowed IPs on two peers are fine (longest prefix wins)": {
			in: with(func(c *wireguard.Config) { c.Peers[1].AllowedIPs = pfxs("10.244.1.128/25") }),
		},
		"repeated public key": {
			in:      with(func(c *wireguard.Config) { c.Peers[1].PublicKey = testKey(1) }),
			wantErr: []string{`peer "b" (` + testKey(1).String() + `): public key is also peer "a"`},
		},
		"empty public key": {
			in:      with(func(c *wireguard.Config) { c.Peers[0].PublicKey = wgtypes.Key{} }),
			wantErr: []string{`peer "a" (AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=): public key is empty`},
		},
		"peer with the interface's own key": {
			in:      with(func(c *wireguard.Config) { c.Peers[0].PublicKey = testKey(0).PublicKey() }),
			wantErr: []string{`peer "a"`, "public key is the interface's own"},
		},
		"allowed IP on two peers": {
			in:      with(func(c *wireguard.Config) { c.Peers[1].AllowedIPs = pfxs("10.244.1.5/24") }),
			wantErr: []string{`peer "b"`, `allowed IP 10.244.1.0/24 is also peer "a"`},
		},
		"every problem is reported": {
			in: with(func(c *wireguard.Config) {
				c.Interface.ListenPort = 70000
				c.Peers[1].PersistentKeepalive = 70000 * time.Second
				c.Peers = append(c.Peers, wireguard.Peer{PublicKey: testKey(1)})
			}),
			wantErr: []string{"listen port 70000 is not in 0-65535", "persistent keepalive 19h26m40s is over 18h12m15s", "public key is also peer"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			checkErr(t, validate(tt.in), tt.wantErr)
		})
	}
}

func TestResolveEndpoints(t *testing.T) {
	addrs := map[string][]netip.Addr{
		"v4.example":     {netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")},
		"v6.example":     {netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")},
		"mapped.example": {netip.MustParseAddr("::ffff:192.0.2.3")},
		"empty.example":  {},
	}
	peer := func(name, endpoint string) wireguard.Peer {
		return wireguard.Peer{Name: name, PublicKey: testKey(len(name)), Endpoint: ep(endpoint)}
	}
	tests := map[string]struct {
		peers     []wireguard.Peer
		want      map[string]netip.Addr
		wantCalls []string
		wantErr   []string
	}{
		"no DNS endpoints, no lookups": {
			peers: []wireguard.Peer{peer("a", "192.0.2.9:1"), {Name: "b"}},
		},
		"first IPv4 address preferred": {
			peers:     []wireguard.Peer{peer("a", "v4.example:1")},
			want:      map[string]netip.Addr{"v4.example": netip.MustParseAddr("192.0.2.1")},
			wantCalls: []string{"v4.example"},
		},
		"first IPv6 address when there is no IPv4": {
			peers:     []wireguard.Peer{peer("a", "v6.example:1")},
			want:      map[string]netip.Addr{"v6.example": netip.MustParseAddr("2001:db8::1")},
			wantCalls: []string{"v6.example"},
		},
		"IPv4-mapped addresses are IPv4": {
			peers:     []wireguard.Peer{peer("a", "mapped.example:1")},
			want:      map[string]netip.Addr{"mapped.example": netip.MustParseAddr("192.0.2.3")},
			wantCalls: []string{"mapped.example"},
		},
		"each host looked up once": {
			peers:     []wireguard.Peer{peer("a", "v4.example:1"), peer("bb", "v4.example:2"), peer("ccc", "v6.example:1")},
			want:      map[string]netip.Addr{"v4.example": netip.MustParseAddr("192.0.2.1"), "v6.example": netip.MustParseAddr("2001:db8::1")},
			wantCalls: []string{"v4.example", "v6.example"},
		},
		"failures name every peer they affect, others resolve": {
			peers:     []wireguard.Peer{peer("a", "gone.example:1"), peer("bb", "v4.example:1"), peer("ccc", "gone.example:2"), peer("dddd", "empty.example:1")},
			want:      map[string]netip.Addr{"v4.example": netip.MustParseAddr("192.0.2.1")},
			wantCalls: []string{"gone.example", "v4.example", "empty.example"},
			wantErr: []string{
				`peer "a" (` + testKey(1).String() + `) keeps its current endpoint: resolve endpoint "gone.example:1": no such host`,
				`peer "ccc"`, `"gone.example:2"`,
				`peer "dddd"`, `no addresses for "empty.example"`,
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var calls []string
			resolve := func(_ context.Context, host string) ([]netip.Addr, error) {
				calls = append(calls, host)
				a, ok := addrs[host]
				if !ok {
					return nil, fmt.Errorf("no such host")
				}
				return a, nil
			}
			got, err := resolveEndpoints(context.Background(), resolve, tt.peers)
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("resolveEndpoints() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCalls, calls); diff != "" {
				t.Errorf("lookups (-want +got):\n%s", diff)
			}
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestDiscoveredEndpoints(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	peers := []wgtypes.Peer{
		{PublicKey: testKey(1), Endpoint: udp16("198.51.100.1:40000"), LastHandshakeTime: now.Add(-time.Minute)},
		{PublicKey: testKey(2), Endpoint: udp("[2001:db8::2]:51820"), LastHandshakeTime: now.Add(-3 * time.Minute)},
		{PublicKey: testKey(3), Endpoint: udp("192.0.2.3:51820")},                                          // never shook hands
		{PublicKey: testKey(4), LastHandshakeTime: now.Add(-time.Second)},                                  // no endpoint
		{PublicKey: testKey(5), Endpoint: udp("192.0.2.5:51820"), LastHandshakeTime: now.Add(time.Second)}, // clock skew
	}
	tests := map[string]struct {
		maxAge time.Duration
		want   map[string]netip.AddrPort
	}{
		"recent handshakes only": {
			maxAge: 2 * time.Minute,
			want: map[string]netip.AddrPort{
				testKey(1).String(): netip.MustParseAddrPort("198.51.100.1:40000"),
				testKey(5).String(): netip.MustParseAddrPort("192.0.2.5:51820"),
			},
		},
		"older ones with a longer age": {
			maxAge: 5 * time.Minute,
			want: map[string]netip.AddrPort{
				testKey(1).String(): netip.MustParseAddrPort("198.51.100.1:40000"),
				testKey(2).String(): netip.MustParseAddrPort("[2001:db8::2]:51820"),
				testKey(5).String(): netip.MustParseAddrPort("192.0.2.5:51820"),
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := discoveredEndpoints(peers, tt.maxAge, now)
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
				t.Errorf("discoveredEndpoints() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    Mode
		wantErr []string
	}{
		"auto":      {in: "auto", want: ModeAuto},
		"kernel":    {in: "kernel", want: ModeKernel},
		"userspace": {in: "userspace", want: ModeUserspace},
		"unknown":   {in: "Kernel", wantErr: []string{`wg: unknown mode "Kernel": want one of "auto", "kernel" or "userspace"`}},
		"empty":     {in: "", wantErr: []string{`unknown mode ""`}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseMode(tt.in)
			if got != tt.want {
				t.Errorf("ParseMode(%q) = %q, want %q", tt.in, got, tt.want)
			}
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestOptionsComplete(t *testing.T) {
	tests := map[string]struct {
		in       Options
		wantMode Mode
		wantErr  []string
	}{
		"defaults":           {in: Options{Name: "kilo0"}, wantMode: ModeAuto},
		"15 bytes":           {in: Options{Name: "abcdefghijklmno", Mode: ModeUserspace, MTU: 1380}, wantMode: ModeUserspace},
		"empty name":         {in: Options{}, wantErr: []string{`interface name "": is empty`}},
		"long name":          {in: Options{Name: "abcdefghijklmnop"}, wantErr: []string{"longer than 15 bytes"}},
		"template name":      {in: Options{Name: "wg%d"}, wantErr: []string{`interface name "wg%d": contains`}},
		"slash":              {in: Options{Name: "a/b"}, wantErr: []string{"contains"}},
		"dot":                {in: Options{Name: "."}, wantErr: []string{"is reserved"}},
		"unknown mode":       {in: Options{Name: "kilo0", Mode: "fast"}, wantErr: []string{`unknown mode "fast"`}},
		"MTU out of range":   {in: Options{Name: "kilo0", MTU: 10}, wantErr: []string{"MTU 10 is not in 68-65535"}},
		"MTU over the limit": {in: Options{Name: "kilo0", MTU: 70000}, wantErr: []string{"MTU 70000"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tt.in.complete()
			checkErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			if got.Mode != tt.wantMode || got.Logger == nil || got.Resolver == nil {
				t.Errorf("complete() = mode %q, logger %v, resolver set %v; want mode %q and both set", got.Mode, got.Logger, got.Resolver != nil, tt.wantMode)
			}
		})
	}
}
