package route

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestApplyLifecycle walks one namespace through a resync, a changed
// route, removals and a clean-up, checking what each step writes and what
// the kernel then holds.
func TestApplyLifecycle(t *testing.T) {
	ns := newNS(t)
	g := openGolden(t, "lifecycle")
	veth(ns, "v0", ns, "v1")
	ns.ip("link set v0 up")
	ns.ip("addr add 10.99.0.1/24 dev v0")
	// Not ours: another protocol in our table and in main, addresses we
	// did not add.
	ns.ip("route add 10.50.0.0/24 dev v0 table 1107 proto static")
	ns.ip("route add 10.51.0.0/24 via 10.99.0.7 dev v0")
	ns.ip("addr add 192.168.7.1/24 dev v0")
	// On the owned link, an address someone else left: it goes.
	ns.ip("addr add 10.4.9.9/16 dev v1")

	m := ns.manager(Options{OwnedLinks: []string{"v1"}, ManagedPrefixes: []netip.Prefix{pfx("10.4.0.0/16")}})
	r1 := Route{Dst: pfx("10.200.0.0/24"), Gw: addr("10.99.0.2"), Dev: "v0", OnLink: true}
	r2 := Route{Dst: pfx("10.201.0.0/24"), Dev: "v1"}
	r3 := Route{Dst: pfx("10.202.0.1/32"), Gw: addr("10.99.0.2"), Dev: "v0", Src: addr("10.99.0.1")}
	r4 := Route{Dst: pfx("fd00:200::/64"), Gw: addr("fd00:99::2"), Dev: "v0", OnLink: true}
	r5 := Route{Dst: pfx("10.203.0.0/24"), Gw: addr("10.4.0.2"), Dev: "v1", OnLink: true, Table: 1108}
	rule1 := Rule{Src: pfx("10.200.0.0/24"), Dst: pfx("10.4.0.2/32"), Table: 1108, Priority: 1000}
	rule2 := Rule{Dst: pfx("10.4.0.3/32"), IifName: "v1", Table: 1108, Priority: 1001}
	state := State{
		Routes: []Route{r1, r2, r3, r4, r5},
		Rules:  []Rule{rule1, rule2},
		Addresses: map[string][]netip.Prefix{
			"v1": {pfx("10.4.0.1/16"), pfx("fd00:4::1/64")},
			"v0": {pfx("10.4.0.5/32")},
		},
		Up: []string{"v1"},
	}

	steps := []struct {
		name  string
		apply func() (Result, error)
		want  Result
	}{{
		name:  "apply",
		apply: func() (Result, error) { return m.Apply(state) },
		// The rules: two given, and "lookup 1107" for IPv4 and IPv6.
		want: Result{LinksUp: 1, AddrsAdded: 3, AddrsRemoved: 1, RoutesAdded: 5, RulesAdded: 4, Writes: 14},
	}, {
		name:  "resync",
		apply: func() (Result, error) { return m.Apply(state) },
		want:  Result{},
	}, {
		name: "change-gateway",
		apply: func() (Result, error) {
			state.Routes[0].Gw = addr("10.99.0.3")
			return m.Apply(state)
		},
		want: Result{RoutesChanged: 1, Writes: 1},
	}, {
		name: "remove",
		apply: func() (Result, error) {
			// r4 was the only IPv6 route: its family's table rule goes too.
			state.Routes = slices.DeleteFunc(state.Routes, func(r Route) bool { return r == r3 || r == r4 })
			state.Rules = []Rule{rule1}
			return m.Apply(state)
		},
		want: Result{RoutesRemoved: 2, RulesRemoved: 2, Writes: 4},
	}, {
		name:  "clean-up",
		apply: func() (Result, error) { return Result{}, m.CleanUp() },
	}, {
		name:  "clean-up-again",
		apply: func() (Result, error) { return m.Apply(State{}) },
		want:  Result{},
	}}
	for _, s := range steps {
		got, err := s.apply()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("%s: result (-want +got):\n%s", s.name, diff)
		}
		g.check(s.name, ns.dump("v0", "v1"))
	}
}

// TestApplyMissingLink checks that a route through a missing link is an
// error naming both, that it keeps what the kernel has for its
// destination, and that the other routes are still applied.
func TestApplyMissingLink(t *testing.T) {
	ns := newNS(t)
	veth(ns, "v0", ns, "v1")
	ns.ip("link set v0 up")
	ns.ip("link set v1 up")
	m := ns.manager(Options{})
	if _, err := m.Apply(State{Routes: []Route{
		{Dst: pfx("10.210.0.0/24"), Dev: "v0"},
		{Dst: pfx("10.211.0.0/24"), Dev: "v0"},
	}}); err != nil {
		t.Fatal(err)
	}

	res, err := m.Apply(State{
		Routes: []Route{
			{Dst: pfx("10.210.0.0/24"), Dev: "nope"},
			{Dst: pfx("10.211.0.0/24"), Dev: "v1"},
			{Dst: pfx("10.212.0.0/24"), Dev: "v0"},
			{Dst: pfx("10.213.0.0/24"), Dev: "gone"},
		},
		Addresses: map[string][]netip.Prefix{"absent": {pfx("10.4.0.1/32")}},
		Up:        []string{"down-link"},
	})
	checkErrs(t, err, []string{
		`set link "down-link" up: link not found`,
		`addresses [10.4.0.1/32] for link "absent": link not found`,
		`route "10.210.0.0/24 dev nope table 1107": link "nope" not found`,
		`route "10.213.0.0/24 dev gone table 1107": link "gone" not found`,
	})
	if diff := cmp.Diff(Result{RoutesAdded: 1, RoutesChanged: 1, Writes: 2}, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	want := []string{
		"10.210.0.0/24 dev v0 proto 107 scope link",
		"10.211.0.0/24 dev v1 proto 107 scope link",
		"10.212.0.0/24 dev v0 proto 107 scope link",
	}
	if diff := cmp.Diff(want, lines(ns.ip("route show table 1107"))); diff != "" {
		t.Errorf("table 1107 (-want +got):\n%s", diff)
	}
}

// TestApplyStray checks that routes and rules carrying our protocol but
// not of a shape we add (another metric, a blackhole, multipath, a TOS)
// or no longer wanted (a mark rule) are removed, in every table.
func TestApplyStray(t *testing.T) {
	ns := newNS(t)
	veth(ns, "v0", ns, "v1")
	ns.ip("link set v0 up")
	ns.ip("link set v1 up")
	ns.ip("route add 10.77.0.0/24 dev v0 table 1107 proto 107 metric 50")
	ns.ip("route add blackhole 10.78.0.0/24 table 1109 proto 107")
	ns.ip("route add 10.79.0.0/24 proto 107 nexthop dev v0 nexthop dev v1")
	ns.ip("route add 10.80.0.0/24 dev v0 proto 107")
	ns.ip("-6 route add fd00:77::/64 dev v0 table 1107 proto 107 metric 5")
	ns.ip("rule add fwmark 0x1 lookup 1107 pref 1107 protocol 107")
	ns.ip("rule add to 10.81.0.0/24 tos 0x10 lookup 1107 pref 1200 protocol 107")
	ns.ip("rule add to 10.82.0.0/24 lookup 1107 pref 1201") // not ours

	m := ns.manager(Options{})
	res, err := m.Apply(State{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Result{RoutesRemoved: 5, RulesRemoved: 2, Writes: 7}, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if got := ns.ip("route show table all proto 107") + ns.ip("-6 route show table all proto 107"); got != "" {
		t.Errorf("routes of ours left:\n%s", got)
	}
	rules := ns.ip("rule")
	if strings.Contains(rules, "proto 107") || !strings.Contains(rules, "10.82.0.0/24") {
		t.Errorf("want our rules gone and the other one kept:\n%s", rules)
	}
	if res, err := m.Apply(State{}); err != nil || res.Writes != 0 {
		t.Errorf("second apply: %+v, %v; want no writes", res, err)
	}
}

// TestApplyMarkRule checks that a firewall-mark rule is added as the
// kernel shows it ("fwmark 0x1000/0x1000 lookup main"), is recognised as
// ours on the next apply (no writes), and goes when no longer wanted.
func TestApplyMarkRule(t *testing.T) {
	ns := newNS(t)
	m := ns.manager(Options{})
	s := State{Rules: []Rule{{Mark: 0x1000, Mask: 0x1000, Table: MainTable, Priority: 1105}}}
	res, err := m.Apply(s)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Result{RulesAdded: 2, Writes: 2}, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	for _, fam := range []string{"-4", "-6"} {
		if got := ns.ip(fam + " rule show pref 1105"); !strings.Contains(got, "fwmark 0x1000/0x1000 lookup main proto 107") {
			t.Errorf("ip %s rule: want the mark rule, got:\n%s", fam, got)
		}
	}
	if res, err := m.Apply(s); err != nil || res.Writes != 0 {
		t.Errorf("resync: %+v, %v; want no writes", res, err)
	}
	if res, err := m.Apply(State{}); err != nil || res.RulesRemoved != 2 {
		t.Errorf("clean-up: %+v, %v; want both rules removed", res, err)
	}
	if got := ns.ip("rule show pref 1105"); got != "" {
		t.Errorf("mark rule left:\n%s", got)
	}
}

// TestApplyIPv6Only checks that a state with only IPv6 routes keeps only
// the IPv6 table rule, and resyncs without writing.
func TestApplyIPv6Only(t *testing.T) {
	ns := newNS(t)
	veth(ns, "v0", ns, "v1")
	ns.ip("link set v0 up")
	ns.ip("link set v1 up")
	m := ns.manager(Options{Table: 2000, RulePriority: 900})
	s := State{Routes: []Route{
		{Dst: pfx("fd00:1::/64"), Gw: addr("fd00:99::2"), Dev: "v0", OnLink: true},
		{Dst: pfx("fd00:2::/64"), Dev: "v0"},
		{Dst: pfx("::/0"), Gw: addr("fd00:99::3"), Dev: "v0", OnLink: true, Table: 2001},
	}}
	res, err := m.Apply(s)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Result{RoutesAdded: 3, RulesAdded: 1, Writes: 4}, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	want := []string{
		"fd00:1::/64 via fd00:99::2 dev v0 table 2000 metric 1024 onlink pref medium",
		"fd00:2::/64 dev v0 table 2000 metric 1024 pref medium",
		"default via fd00:99::3 dev v0 table 2001 metric 1024 onlink pref medium",
	}
	if diff := cmp.Diff(want, lines(ns.ip("-6 route show table all proto 107"))); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if got := ns.ip("-6 rule"); !strings.Contains(got, "900:\tfrom all lookup 2000 proto 107") {
		t.Errorf("no IPv6 table rule:\n%s", got)
	}
	if got := ns.ip("rule"); strings.Contains(got, "proto 107") {
		t.Errorf("an IPv4 rule without IPv4 routes:\n%s", got)
	}
	if res, err := m.Apply(s); err != nil || res.Writes != 0 {
		t.Errorf("resync: %+v, %v; want no writes", res, err)
	}
}

func TestInvalidOptions(t *testing.T) {
	for name, tc := range map[string]struct {
		o    Options
		want string
	}{
		"kernel protocol":  {o: Options{Protocol: 4}, want: "protocol 4: want 5-255"},
		"local table":      {o: Options{Table: 255}, want: "table 255: not a usable table"},
		"after main":       {o: Options{RulePriority: 32766}, want: "rule priority 32766: want 1-32765"},
		"invalid prefix":   {o: Options{ManagedPrefixes: []netip.Prefix{{}}}, want: "managed prefix"},
		"protocol too big": {o: Options{Protocol: 300}, want: "protocol 300"},
	} {
		t.Run(name, func(t *testing.T) {
			m := New(tc.o)
			_, err := m.Apply(State{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Apply: %v, want an error containing %q", err, tc.want)
			}
			if err := m.CleanUp(); err == nil {
				t.Error("CleanUp: no error")
			}
		})
	}
}

// lines splits ip's output into trimmed lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
