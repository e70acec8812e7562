package route

import (
	"net/netip"
	"testing"
)

// TestTraffic sends real packets through applied routes: two namespaces
// joined by a veth pair, each with a "pod" address on lo, reach each
// other's pod only once their Managers have applied the routes (IPv4 and
// IPv6), and no longer after one cleans up.
func TestTraffic(t *testing.T) {
	a, b := newNS(t), newNS(t)
	veth(a, "a0", b, "b0")
	a.ip("link set a0 up")
	b.ip("link set b0 up")
	ma := a.manager(Options{})
	mb := b.manager(Options{})
	sa := State{
		Addresses: map[string][]netip.Prefix{
			"a0": {pfx("10.99.1.1/24"), pfx("fd00:99:1::1/64")},
			"lo": {pfx("10.210.0.1/32"), pfx("fd00:210::1/128")},
		},
		Routes: []Route{
			{Dst: pfx("10.220.0.0/24"), Gw: addr("10.99.1.2"), Dev: "a0", OnLink: true},
			{Dst: pfx("fd00:220::/64"), Gw: addr("fd00:99:1::2"), Dev: "a0", OnLink: true},
		},
	}
	sb := State{
		Addresses: map[string][]netip.Prefix{
			"b0": {pfx("10.99.1.2/24"), pfx("fd00:99:1::2/64")},
			"lo": {pfx("10.220.0.1/32"), pfx("fd00:220::1/128")},
		},
		Routes: []Route{
			{Dst: pfx("10.210.0.0/24"), Gw: addr("10.99.1.1"), Dev: "b0", OnLink: true},
			{Dst: pfx("fd00:210::/64"), Gw: addr("fd00:99:1::1"), Dev: "b0", OnLink: true},
		},
	}

	// ping waits up to 5 s for a reply (the first IPv6 one waits for
	// neighbour discovery); unreachable returns fast.
	ping := func(src, dst string) error {
		out, err := a.exec("ping", "-c", "1", "-w", "5", "-I", src, dst)
		if err != nil {
			t.Logf("ping -I %s %s: %v\n%s", src, dst, err, out)
		}
		return err
	}
	unreachable := func(src, dst string) bool {
		_, err := a.exec("ping", "-c", "1", "-W", "1", "-I", src, dst)
		return err != nil
	}
	// Addresses first, no routes: the pods cannot see each other.
	for _, ap := range []struct {
		m *Manager
		s State
	}{{ma, sa}, {mb, sb}} {
		if _, err := ap.m.Apply(State{Addresses: ap.s.Addresses}); err != nil {
			t.Fatal(err)
		}
	}
	if !unreachable("10.210.0.1", "10.220.0.1") {
		t.Fatal("the pod is reachable before any route is applied")
	}
	for _, ap := range []struct {
		m *Manager
		s State
	}{{ma, sa}, {mb, sb}} {
		if _, err := ap.m.Apply(ap.s); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range [][2]string{
		{"10.210.0.1", "10.220.0.1"},
		{"fd00:210::1", "fd00:220::1"},
	} {
		if err := ping(p[0], p[1]); err != nil {
			t.Errorf("pod %s cannot reach pod %s through the applied routes", p[0], p[1])
		}
	}
	if err := mb.CleanUp(); err != nil {
		t.Fatal(err)
	}
	if !unreachable("10.210.0.1", "10.220.0.1") {
		t.Error("the pod is still reachable after clean-up")
	}
}
