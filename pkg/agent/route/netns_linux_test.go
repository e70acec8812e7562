package route

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// testNS is a network namespace of a test's own, named so that the ip
// command can look into it.
type testNS struct {
	t    testing.TB
	name string
	h    *netlink.Handle
}

var nsCount atomic.Int32

// newNS creates a fresh network namespace with lo up, removed when the
// test ends. It skips the test when not root.
func newNS(t testing.TB) *testNS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("route: this test needs root, to create network namespaces and change routes; run it as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("route: this test needs the ip command (iproute2)")
	}
	name := fmt.Sprintf("kgctl-route-%d-%d", os.Getpid(), nsCount.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	nsh, err := netns.GetFromName(name)
	if err != nil {
		t.Fatalf("open namespace %s: %v", name, err)
	}
	t.Cleanup(func() { nsh.Close() })
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		t.Fatalf("netlink handle in %s: %v", name, err)
	}
	t.Cleanup(h.Close)
	ns := &testNS{t: t, name: name, h: h}
	ns.ip("link set lo up")
	return ns
}

// ip runs "ip -n <ns> args" and returns its output; args are split on
// spaces.
func (ns *testNS) ip(args string) string {
	ns.t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns.name}, strings.Fields(args)...)...).CombinedOutput()
	if err != nil {
		ns.t.Fatalf("ip -n %s %s: %v: %s", ns.name, args, err, out)
	}
	return string(out)
}

// exec runs a command inside the namespace.
func (ns *testNS) exec(name string, args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns.name, name}, args...)...).CombinedOutput()
	return string(out), err
}

// manager returns a Manager working in the namespace.
func (ns *testNS) manager(o Options) *Manager {
	o.Handle = ns.h
	return New(o)
}

// veth joins two namespaces (or one to itself) with a veth pair.
func veth(a *testNS, aName string, b *testNS, bName string) {
	a.t.Helper()
	a.ip(fmt.Sprintf("link add name %s type veth peer name %s netns %s", aName, bName, b.name))
}

// dump renders what is ours in the namespace, and what sits beside it, as
// ip shows it: the routes of every table with our protocol or in our
// table, the rules, and the addresses of the given links (IPv6
// link-local ones left out: the kernel picks them).
func (ns *testNS) dump(links ...string) string {
	ns.t.Helper()
	var b strings.Builder
	section := func(title, out string) {
		fmt.Fprintf(&b, "# %s\n", title)
		for _, l := range strings.Split(out, "\n") {
			fields := slices.DeleteFunc(strings.Fields(l), func(f string) bool {
				return strings.HasPrefix(f, "fe80::")
			})
			if len(fields) == 0 || strings.HasPrefix(l, "fe80::") {
				continue
			}
			b.WriteString(strings.Join(fields, " "))
			b.WriteByte('\n')
		}
	}
	section("ip -4 route show table all proto 107", ns.ip("-4 route show table all proto 107"))
	section("ip -6 route show table all proto 107", ns.ip("-6 route show table all proto 107"))
	section("ip route show table 1107", ns.ip("route show table 1107"))
	section("ip route show table main", ns.ip("route show table main"))
	section("ip rule", ns.ip("rule"))
	section("ip -6 rule", ns.ip("-6 rule"))
	for _, l := range links {
		section("ip -br addr show dev "+l, ns.ip("-br addr show dev "+l))
	}
	return b.String()
}
