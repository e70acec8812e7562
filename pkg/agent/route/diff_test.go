package route

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var (
	pfx  = netip.MustParsePrefix
	addr = netip.MustParseAddr
)

func TestNormalizeRoutes(t *testing.T) {
	for name, tc := range map[string]struct {
		in      []Route
		want    []Route
		wantErr []string // substrings, one per problem
	}{
		"empty": {},
		"defaults and sorting": {
			in: []Route{
				{Dst: pfx("fd00::/64"), Dev: "kilo0"},
				{Dst: pfx("10.2.0.7/24"), Gw: addr("::ffff:10.1.0.2"), Dev: "eth0", OnLink: true},
				{Dst: pfx("10.1.0.0/24"), Dev: "eth0", Table: 7},
			},
			want: []Route{
				{Dst: pfx("10.1.0.0/24"), Dev: "eth0", Table: 7},
				{Dst: pfx("10.2.0.0/24"), Gw: addr("10.1.0.2"), Dev: "eth0", OnLink: true, Table: 1107},
				{Dst: pfx("fd00::/64"), Dev: "kilo0", Table: 1107},
			},
		},
		"identical duplicates collapse": {
			in: []Route{
				{Dst: pfx("10.2.0.0/24"), Dev: "eth0"},
				{Dst: pfx("10.2.0.0/24"), Dev: "eth0", Table: 1107},
			},
			want: []Route{{Dst: pfx("10.2.0.0/24"), Dev: "eth0", Table: 1107}},
		},
		"conflict keeps the first": {
			in: []Route{
				{Dst: pfx("10.2.0.0/24"), Dev: "eth0"},
				{Dst: pfx("10.2.0.0/24"), Dev: "kilo0"},
			},
			want:    []Route{{Dst: pfx("10.2.0.0/24"), Dev: "eth0", Table: 1107}},
			wantErr: []string{`conflicting routes "10.2.0.0/24 dev eth0 table 1107" and "10.2.0.0/24 dev kilo0 table 1107"`},
		},
		"same destination in two tables": {
			in: []Route{
				{Dst: pfx("10.2.0.0/24"), Dev: "eth0", Table: 2},
				{Dst: pfx("10.2.0.0/24"), Dev: "kilo0"},
			},
			want: []Route{
				{Dst: pfx("10.2.0.0/24"), Dev: "eth0", Table: 2},
				{Dst: pfx("10.2.0.0/24"), Dev: "kilo0", Table: 1107},
			},
		},
		"invalid routes are reported and skipped": {
			in: []Route{
				{Dev: "eth0"},
				{Dst: pfx("10.2.0.0/24")},
				{Dst: pfx("10.3.0.0/24"), Gw: addr("fd00::1"), Dev: "eth0"},
				{Dst: pfx("10.4.0.0/24"), Src: addr("fd00::1"), Dev: "eth0"},
				{Dst: pfx("10.5.0.0/24"), Dev: "eth0", Table: -1},
				{Dst: pfx("10.6.0.0/24"), Dev: "eth0"},
			},
			want: []Route{{Dst: pfx("10.6.0.0/24"), Dev: "eth0", Table: 1107}},
			wantErr: []string{
				`route "(no destination) dev eth0": no destination`,
				`route "10.2.0.0/24": no device`,
				`gateway fd00::1 is not of the destination's address family`,
				`source fd00::1 is not of the destination's address family`,
				`table -1 is negative`,
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := normalizeRoutes(tc.in, 1107)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty(), cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})); diff != "" {
				t.Errorf("routes (-want +got):\n%s", diff)
			}
			checkErrs(t, err, tc.wantErr)
		})
	}
}

// checkErrs asserts that err has one line per wanted substring, in order.
func checkErrs(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Errorf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("error %d is %q, want it to contain %q", i, lines[i], w)
		}
	}
}

func TestDiffRoutes(t *testing.T) {
	a := Route{Dst: pfx("10.2.0.0/24"), Gw: addr("10.1.0.2"), Dev: "eth0", OnLink: true, Table: 1107}
	b := Route{Dst: pfx("10.3.0.0/24"), Gw: addr("10.4.0.3"), Dev: "kilo0", OnLink: true, Table: 1107}
	c := Route{Dst: pfx("fd00::/64"), Dev: "kilo0", Table: 1107}
	with := func(r Route, f func(*Route)) Route { f(&r); return r }
	for name, tc := range map[string]struct {
		desired, current []Route
		want             routeDiff
	}{
		"both empty": {},
		"no-op":      {desired: []Route{a, b, c}, current: []Route{c, a, b}},
		"add all":    {desired: []Route{c, a, b}, want: routeDiff{Add: []Route{a, b, c}}},
		"remove all": {current: []Route{b, c, a}, want: routeDiff{Del: []Route{a, b, c}}},
		"gateway changed": {
			desired: []Route{a, with(b, func(r *Route) { r.Gw = addr("10.4.0.9") })},
			current: []Route{a, b},
			want:    routeDiff{Change: []Route{with(b, func(r *Route) { r.Gw = addr("10.4.0.9") })}},
		},
		"device changed": {
			desired: []Route{with(a, func(r *Route) { r.Dev = "tunl0" })},
			current: []Route{a},
			want:    routeDiff{Change: []Route{with(a, func(r *Route) { r.Dev = "tunl0" })}},
		},
		"onlink changed": {
			desired: []Route{with(a, func(r *Route) { r.OnLink = false })},
			current: []Route{a},
			want:    routeDiff{Change: []Route{with(a, func(r *Route) { r.OnLink = false })}},
		},
		"source changed": {
			desired: []Route{with(a, func(r *Route) { r.Src = addr("10.1.0.1") })},
			current: []Route{a},
			want:    routeDiff{Change: []Route{with(a, func(r *Route) { r.Src = addr("10.1.0.1") })}},
		},
		"table changed is a new key": {
			desired: []Route{with(a, func(r *Route) { r.Table = 1108 })},
			current: []Route{a},
			want:    routeDiff{Add: []Route{with(a, func(r *Route) { r.Table = 1108 })}, Del: []Route{a}},
		},
		"prefix length changed is a new key": {
			desired: []Route{with(a, func(r *Route) { r.Dst = pfx("10.2.0.0/16") })},
			current: []Route{a},
			want:    routeDiff{Add: []Route{with(a, func(r *Route) { r.Dst = pfx("10.2.0.0/16") })}, Del: []Route{a}},
		},
		"duplicates keep the matching one": {
			desired: []Route{a},
			current: []Route{with(a, func(r *Route) { r.Dev = "kilo0" }), a},
			want:    routeDiff{Del: []Route{with(a, func(r *Route) { r.Dev = "kilo0" })}},
		},
		"duplicates without a match are all replaced": {
			desired: []Route{a},
			current: []Route{with(a, func(r *Route) { r.Dev = "kilo0" }), with(a, func(r *Route) { r.Dev = "tunl0" })},
			want: routeDiff{
				Add: []Route{a},
				Del: []Route{with(a, func(r *Route) { r.Dev = "kilo0" }), with(a, func(r *Route) { r.Dev = "tunl0" })},
			},
		},
		"mixed": {
			desired: []Route{c, with(a, func(r *Route) { r.Gw = addr("10.1.0.3") })},
			current: []Route{b, a},
			want: routeDiff{
				Change: []Route{with(a, func(r *Route) { r.Gw = addr("10.1.0.3") })},
				Add:    []Route{c},
				Del:    []Route{b},
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			got := diffRoutes(tc.desired, tc.current)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty(), cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDesiredRules(t *testing.T) {
	o := rulesOptions{table: 1107, priority: 1107}
	v4 := Route{Dst: pfx("10.2.0.0/24"), Dev: "eth0", Table: 1107}
	v6 := Route{Dst: pfx("fd00::/64"), Dev: "eth0", Table: 1107}
	other := Route{Dst: pfx("fd01::/64"), Dev: "eth0", Table: 5}
	tableRule := func(f family) ruleKey { return ruleKey{Family: f, Priority: 1107, Table: 1107} }
	for name, tc := range map[string]struct {
		rules   []Rule
		routes  []Route
		want    []ruleKey
		wantErr []string
	}{
		"nothing":                     {},
		"table rule for ipv4 only":    {routes: []Route{v4}, want: []ruleKey{tableRule(familyV4)}},
		"table rule per family":       {routes: []Route{v6, v4, v4}, want: []ruleKey{tableRule(familyV4), tableRule(familyV6)}},
		"routes in other tables only": {routes: []Route{other}},
		"caller rules with defaults": {
			routes: []Route{v4},
			rules: []Rule{
				{Src: pfx("10.2.0.7/24"), Dst: pfx("10.1.0.2/32"), Table: 1108, Priority: 100},
				{Dst: pfx("fd00::1/128"), IifName: "kilo0"},
			},
			want: []ruleKey{
				{Family: familyV4, Priority: 100, Table: 1108, Src: pfx("10.2.0.0/24"), Dst: pfx("10.1.0.2/32")},
				tableRule(familyV4),
				{Family: familyV6, Priority: 1107, Table: 1107, Dst: pfx("fd00::1/128"), IifName: "kilo0"},
			},
		},
		"rule without addresses is one per family": {
			rules: []Rule{{IifName: "kilo0", Table: 1108}, {Src: pfx("0.0.0.0/0"), IifName: "kilo0", Table: 1108}},
			want: []ruleKey{
				{Family: familyV4, Priority: 1107, Table: 1108, IifName: "kilo0"},
				{Family: familyV6, Priority: 1107, Table: 1108, IifName: "kilo0"},
			},
		},
		"duplicate of the table rule collapses": {
			routes: []Route{v4},
			rules:  []Rule{{Src: pfx("0.0.0.0/0")}},
			want:   []ruleKey{tableRule(familyV4)},
		},
		"mark rule is one per family, mask defaults to all bits": {
			rules: []Rule{{Mark: 0x1000, Table: MainTable, Priority: 1105}, {Mark: 0x2000, Mask: 0xf000, Table: MainTable, Priority: 1105}},
			want: []ruleKey{
				{Family: familyV4, Priority: 1105, Table: MainTable, Mark: 0x1000, Mask: 0xffffffff},
				{Family: familyV4, Priority: 1105, Table: MainTable, Mark: 0x2000, Mask: 0xf000},
				{Family: familyV6, Priority: 1105, Table: MainTable, Mark: 0x1000, Mask: 0xffffffff},
				{Family: familyV6, Priority: 1105, Table: MainTable, Mark: 0x2000, Mask: 0xf000},
			},
		},
		"mask without a mark is dropped": {
			rules: []Rule{{Dst: pfx("10.1.0.0/16"), Mask: 0xff, Table: 1108}},
			want:  []ruleKey{{Family: familyV4, Priority: 1107, Table: 1108, Dst: pfx("10.1.0.0/16")}},
		},
		"invalid rules": {
			rules: []Rule{
				{Src: pfx("10.0.0.0/8"), Dst: pfx("fd00::/8")},
				{Src: pfx("10.0.0.0/8"), Priority: -2},
				{Mark: 0x1001, Mask: 0xf000},
			},
			wantErr: []string{"different address families", "negative priority", "can never match"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := desiredRules(tc.rules, tc.routes, o)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty(), cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
				t.Errorf("rules (-want +got):\n%s", diff)
			}
			checkErrs(t, err, tc.wantErr)
		})
	}
}

func TestDiffRules(t *testing.T) {
	a := ruleKey{Family: familyV4, Priority: 1107, Table: 1107}
	b := ruleKey{Family: familyV4, Priority: 1107, Table: 1108, Dst: pfx("10.1.0.2/32"), IifName: "kilo0"}
	c := ruleKey{Family: familyV6, Priority: 1107, Table: 1107}
	for name, tc := range map[string]struct {
		desired, current []ruleKey
		wantAdd, wantDel []ruleKey
	}{
		"no-op":             {desired: []ruleKey{a, b, c}, current: []ruleKey{c, b, a}},
		"add":               {desired: []ruleKey{a, b, c}, current: []ruleKey{b}, wantAdd: []ruleKey{a, c}},
		"delete":            {desired: []ruleKey{a}, current: []ruleKey{c, a, b}, wantDel: []ruleKey{b, c}},
		"duplicate deleted": {desired: []ruleKey{a}, current: []ruleKey{a, a}, wantDel: []ruleKey{a}},
		"changed priority": {
			desired: []ruleKey{{Family: familyV4, Priority: 1000, Table: 1107}},
			current: []ruleKey{a},
			wantAdd: []ruleKey{{Family: familyV4, Priority: 1000, Table: 1107}},
			wantDel: []ruleKey{a},
		},
	} {
		t.Run(name, func(t *testing.T) {
			add, del := diffRules(tc.desired, tc.current)
			opt := []cmp.Option{cmpopts.EquateEmpty(), cmpopts.EquateComparable(netip.Prefix{})}
			if diff := cmp.Diff(tc.wantAdd, add, opt...); diff != "" {
				t.Errorf("add (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantDel, del, opt...); diff != "" {
				t.Errorf("delete (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiffAddrs(t *testing.T) {
	ll := pfx("fe80::1/64")
	for name, tc := range map[string]struct {
		desired, current []netip.Prefix
		opts             addrOptions
		want             addrDiff
	}{
		"owned: exact": {
			desired: []netip.Prefix{pfx("10.4.0.1/16")},
			current: []netip.Prefix{pfx("10.4.0.9/16"), ll, pfx("fd00::1/64")},
			opts:    addrOptions{owned: true},
			want:    addrDiff{Add: []netip.Prefix{pfx("10.4.0.1/16")}, Del: []netip.Prefix{pfx("10.4.0.9/16"), pfx("fd00::1/64")}},
		},
		"owned: prefix length matters": {
			desired: []netip.Prefix{pfx("10.4.0.1/16")},
			current: []netip.Prefix{pfx("10.4.0.1/32")},
			opts:    addrOptions{owned: true},
			want:    addrDiff{Add: []netip.Prefix{pfx("10.4.0.1/16")}, Del: []netip.Prefix{pfx("10.4.0.1/32")}},
		},
		"owned: no-op": {
			desired: []netip.Prefix{pfx("10.4.0.1/16")},
			current: []netip.Prefix{ll, pfx("10.4.0.1/16")},
			opts:    addrOptions{owned: true},
		},
		"not owned: only adds": {
			desired: []netip.Prefix{pfx("10.4.0.1/32"), pfx("10.4.0.1/32")},
			current: []netip.Prefix{pfx("192.168.0.5/24")},
			want:    addrDiff{Add: []netip.Prefix{pfx("10.4.0.1/32")}},
		},
		"not owned: removes inside managed prefixes only": {
			current: []netip.Prefix{pfx("192.168.0.5/24"), pfx("10.4.0.2/32"), pfx("10.5.0.2/32")},
			opts:    addrOptions{managed: []netip.Prefix{pfx("10.4.0.0/16")}},
			want:    addrDiff{Del: []netip.Prefix{pfx("10.4.0.2/32")}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			got := diffAddrs(tc.desired, tc.current, tc.opts)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty(), cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRouteString(t *testing.T) {
	for want, r := range map[string]Route{
		"10.2.0.0/24 via 10.1.0.2 dev eth0 src 10.1.0.1 onlink table 1107": {Dst: pfx("10.2.0.0/24"), Gw: addr("10.1.0.2"), Dev: "eth0", Src: addr("10.1.0.1"), OnLink: true, Table: 1107},
		"fd00::/64 dev kilo0": {Dst: pfx("fd00::/64"), Dev: "kilo0"},
	} {
		if got := r.String(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	for want, r := range map[string]Rule{
		"100: from 10.2.0.0/24 to 10.1.0.2/32 iif kilo0 lookup 1108": {Src: pfx("10.2.0.0/24"), Dst: pfx("10.1.0.2/32"), IifName: "kilo0", Table: 1108, Priority: 100},
		"from all": {},
	} {
		if got := r.String(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

// benchRoutes returns n distinct routes in the Manager's table, as the
// topology engine would produce for a large mesh.
func benchRoutes(n int) []Route {
	routes := make([]Route, n)
	for i := range routes {
		routes[i] = Route{
			Dst:    netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24),
			Gw:     netip.AddrFrom4([4]byte{10, 4, byte(i >> 8), byte(i)}),
			Dev:    "kilo0",
			OnLink: true,
			Table:  1107,
		}
	}
	return routes
}

// BenchmarkDiff diffs 10,000 desired routes against the same 10,000 as the
// kernel lists them (another order): the no-op resync.
func BenchmarkDiff(b *testing.B) {
	const n = 10_000
	desired := benchRoutes(n)
	listed := benchRoutes(n)
	rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { listed[i], listed[j] = listed[j], listed[i] })
	current := make([]Route, n)
	b.ReportAllocs()
	for b.Loop() {
		copy(current, listed)
		if d := diffRoutes(desired, current); !d.empty() {
			b.Fatalf("no-op diff is not empty: %+v", d)
		}
	}
}

// BenchmarkNormalizeAndDiff adds what Apply does to the caller's routes
// before diffing: a normalized, sorted copy.
func BenchmarkNormalizeAndDiff(b *testing.B) {
	const n = 10_000
	given := benchRoutes(n)
	listed := benchRoutes(n)
	rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { listed[i], listed[j] = listed[j], listed[i] })
	current := make([]Route, n)
	b.ReportAllocs()
	for b.Loop() {
		copy(current, listed)
		desired, err := normalizeRoutes(given, 1107)
		if err != nil {
			b.Fatal(err)
		}
		if d := diffRoutes(desired, current); !d.empty() {
			b.Fatalf("no-op diff is not empty: %+v", d)
		}
	}
}

func ExampleRoute_String() {
	fmt.Println(Route{Dst: pfx("10.2.0.0/24"), Gw: addr("10.1.0.2"), Dev: "kilo0", OnLink: true})
	// Output: 10.2.0.0/24 via 10.1.0.2 dev kilo0 onlink
}
