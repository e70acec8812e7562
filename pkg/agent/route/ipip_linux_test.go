package route

import (
	"errors"
	"net/netip"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netns"
)

// requireIPIP creates the IPIP tunnel in ns, skipping the test when the
// kernel has no ipip support.
func requireIPIP(t *testing.T, ns *testNS) {
	t.Helper()
	created, err := ns.manager(Options{}).EnsureIPIP(FallbackIPIP)
	if errors.Is(err, ErrIPIPUnsupported) {
		t.Skipf("route: skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("EnsureIPIP(%q): created=%v", FallbackIPIP, created)
}

func TestEnsureIPIP(t *testing.T) {
	ns := newNS(t)
	requireIPIP(t, ns)
	m := ns.manager(Options{})
	created, err := m.EnsureIPIP(FallbackIPIP)
	if err != nil || created {
		t.Errorf("second EnsureIPIP: created=%v, %v; want false, nil", created, err)
	}
	if out := ns.ip("-d link show " + FallbackIPIP); !strings.Contains(out, "ipip") || !strings.Contains(out, ",UP") {
		t.Errorf("tunnel not an ipip link, or not up:\n%s", out)
	}
	// A second tunnel without endpoints collides with tunl0.
	if _, err := m.EnsureIPIP("kilo-tunl"); err == nil {
		t.Log("the kernel accepted a second ipip tunnel without endpoints")
		if err := m.DeleteIPIP("kilo-tunl"); err != nil {
			t.Error(err)
		}
	} else if !strings.Contains(err.Error(), "use that name") {
		t.Errorf("second tunnel: %v; want it to point at %q", err, FallbackIPIP)
	}
	if err := m.DeleteIPIP(FallbackIPIP); err != nil {
		t.Fatal(err)
	}
	if out := ns.ip("link show " + FallbackIPIP); strings.Contains(out, ",UP") {
		t.Errorf("tunl0 still up after DeleteIPIP:\n%s", out)
	}
}

// TestIPIPWrongLink needs no ipip support: an existing link of another
// kind is refused, and never deleted.
func TestIPIPWrongLink(t *testing.T) {
	ns := newNS(t)
	veth(ns, "v0", ns, "v1")
	m := ns.manager(Options{})
	if _, err := m.EnsureIPIP("v0"); err == nil || !strings.Contains(err.Error(), `link "v0" is a veth link, not an ipip tunnel`) {
		t.Errorf("EnsureIPIP(v0): %v", err)
	}
	if err := m.DeleteIPIP("v0"); err == nil || !strings.Contains(err.Error(), "not deleting it") {
		t.Errorf("DeleteIPIP(v0): %v", err)
	}
	if err := m.DeleteIPIP("absent"); err != nil {
		t.Errorf("DeleteIPIP(absent): %v", err)
	}
	ns.ip("link show v0")
}

// TestIPIPCurrentNamespace drives the package-level functions, which work
// in the calling thread's namespace.
func TestIPIPCurrentNamespace(t *testing.T) {
	ns := newNS(t)
	veth(ns, "v0", ns, "v1")
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	target, err := netns.GetFromName(ns.name)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := netns.Set(orig); err != nil {
			panic("cannot return the test's thread to its namespace: " + err.Error())
		}
	}()
	if _, err := EnsureIPIP("v0"); err == nil || !strings.Contains(err.Error(), "not an ipip tunnel") {
		t.Errorf("EnsureIPIP(v0): %v", err)
	}
	if err := DeleteIPIP("absent"); err != nil {
		t.Errorf("DeleteIPIP(absent): %v", err)
	}
	_, err = EnsureIPIP(FallbackIPIP)
	switch {
	case errors.Is(err, ErrIPIPUnsupported):
		t.Logf("EnsureIPIP reports: %v", err)
	case err != nil:
		t.Fatal(err)
	default:
		if err := DeleteIPIP(FallbackIPIP); err != nil {
			t.Error(err)
		}
	}
}

// TestIPIPTraffic sends encapsulated packets across three namespaces:
// nodes A and B in different subnets joined by router R, which knows no
// route to the pods. Pod traffic crosses R only inside IPIP.
func TestIPIPTraffic(t *testing.T) {
	a, r, b := newNS(t), newNS(t), newNS(t)
	requireIPIP(t, a)
	requireIPIP(t, b)
	veth(a, "a0", r, "ra")
	veth(b, "b0", r, "rb")
	for _, c := range []struct {
		ns       *testNS
		link, ip string
	}{{a, "a0", "10.99.2.1/24"}, {r, "ra", "10.99.2.254/24"}, {r, "rb", "10.99.3.254/24"}, {b, "b0", "10.99.3.1/24"}} {
		c.ns.ip("addr add " + c.ip + " dev " + c.link)
		c.ns.ip("link set " + c.link + " up")
	}
	if out, err := r.exec("sysctl", "-w", "net.ipv4.ip_forward=1"); err != nil {
		t.Fatalf("sysctl: %v: %s", err, out)
	}
	a.ip("route add 10.99.3.0/24 via 10.99.2.254")
	b.ip("route add 10.99.2.0/24 via 10.99.3.254")
	for _, ns := range []*testNS{a, b} {
		for _, k := range []string{"all", "default", FallbackIPIP} {
			ns.exec("sysctl", "-w", "net.ipv4.conf."+k+".rp_filter=0")
		}
	}
	apply := func(ns *testNS, pod, peerPods, peer string) {
		_, err := ns.manager(Options{}).Apply(State{
			Addresses: map[string][]netip.Prefix{"lo": {pfx(pod)}},
			Routes:    []Route{{Dst: pfx(peerPods), Gw: addr(peer), Dev: FallbackIPIP, OnLink: true}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	apply(a, "10.210.0.1/32", "10.220.0.0/24", "10.99.3.1")
	apply(b, "10.220.0.1/32", "10.210.0.0/24", "10.99.2.1")
	if out, err := a.exec("ping", "-c", "1", "-W", "2", "-I", "10.210.0.1", "10.220.0.1"); err != nil {
		t.Errorf("encapsulated ping failed: %v\n%s", err, out)
	}
}
