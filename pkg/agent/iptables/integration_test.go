package iptables

import (
	"context"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Other programs' rules: Docker's MASQUERADE and DOCKER-USER chain, a
// kube-proxy-like jump. None carries our marker; all must survive.
const foreignRules4 = `*nat
:DOCKER-POST - [0:0]
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A POSTROUTING -j DOCKER-POST
-A DOCKER-POST -j RETURN
COMMIT
*filter
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A DOCKER-USER -j RETURN
COMMIT
`

const foreignRules6 = `*nat
-A POSTROUTING -s fd00:17::/64 -j MASQUERADE
COMMIT
`

// TestApplyNetns walks a host through the life of an agent: a first Apply
// on a host with Docker's rules, a no-op resync, one changed rule, a
// restart, a stale chain, and a clean-up.
func TestApplyNetns(t *testing.T) {
	ns := newNetns(t)
	ctx := context.Background()
	run(t, ns, foreignRules4, "iptables-restore", "--noflush")
	run(t, ns, foreignRules6, "ip6tables-restore", "--noflush")
	before := saved(t, ns)

	rec := &recorder{netns: ns}
	c := New(Options{Exec: rec.exec})
	in := meshInputs["leader-cni-forward"]

	// First Apply: one restore per family.
	res, err := c.Apply(ctx, MeshRules(in))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Result{Writes: 2, RulesAdded: 31, ChainsCreated: 2}, res); diff != "" {
		t.Errorf("first Apply result (-want +got):\n%s", diff)
	}
	golden(t, filepath.Join("testdata", "netns", "applied.golden"), saved(t, ns))
	rec.take()

	// Same state again: only iptables-save runs.
	res, err = c.Apply(ctx, MeshRules(in))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Result{}, res); diff != "" {
		t.Errorf("no-op Apply result (-want +got):\n%s", diff)
	}
	calls := rec.take()
	if n := count(calls, "-restore"); n != 0 {
		t.Errorf("no-op Apply ran iptables-restore %d times: %v", n, calls)
	}
	if want := []string{"iptables-save", "ip6tables-save"}; !slices.Equal(calls, want) {
		t.Errorf("no-op Apply ran %v, want %v", calls, want)
	}

	// One more peer (IPv4): one restore, for IPv4 only.
	in2 := in
	in2.PeerAllowedIPs = append(slices.Clone(in.PeerAllowedIPs), netip.MustParsePrefix("10.5.0.2/32"))
	res, err = c.Apply(ctx, MeshRules(in2))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Result{Writes: 1, RulesAdded: 2}, res); diff != "" {
		t.Errorf("changed Apply result (-want +got):\n%s", diff)
	}
	if n := count(rec.take(), "iptables-restore"); n != 1 {
		t.Errorf("changed Apply ran iptables-restore %d times, want 1", n)
	}
	golden(t, filepath.Join("testdata", "netns", "peer-added.golden"), saved(t, ns))

	// A restarted agent recognises its rules: nothing to write.
	c2 := New(Options{Exec: rec.exec})
	res, err = c2.Apply(ctx, MeshRules(in2))
	if err != nil {
		t.Fatal(err)
	}
	if res.Writes != 0 {
		t.Errorf("Apply after a restart wrote %d times: %+v", res.Writes, res)
	}
	rec.take()

	// An extra chain of ours with a jump to it, then dropped again.
	extra := MeshRules(in2)
	extra.Chains = append(extra.Chains, Chain{Family: IPv4, Table: "filter", Name: "KILO-EXTRA"})
	extra.Rules = append(extra.Rules,
		Rule{Family: IPv4, Table: "filter", Chain: "KILO-EXTRA", Spec: []string{"-s", "10.9.0.0/16", "-m", "comment", "--comment", "kgctl: extra", "-j", "ACCEPT"}},
		Rule{Family: IPv4, Table: "filter", Chain: "FORWARD", Spec: []string{"-m", "comment", "--comment", "kgctl: jump to extra", "-j", "KILO-EXTRA"}},
	)
	if res, err = c2.Apply(ctx, extra); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Result{Writes: 1, RulesAdded: 2, ChainsCreated: 1}, res); diff != "" {
		t.Errorf("extra chain Apply result (-want +got):\n%s", diff)
	}
	if res, err = c2.Apply(ctx, MeshRules(in2)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Result{Writes: 1, RulesRemoved: 2, ChainsDeleted: 1}, res); diff != "" {
		t.Errorf("extra chain removed result (-want +got):\n%s", diff)
	}
	golden(t, filepath.Join("testdata", "netns", "peer-added.golden"), saved(t, ns))

	// Clean-up leaves exactly the other programs' rules.
	if err := c2.CleanUp(ctx); err != nil {
		t.Fatal(err)
	}
	// Tables our rules created stay, empty: tables are never deleted.
	if diff := cmp.Diff(withoutEmptyTables(before), withoutEmptyTables(saved(t, ns))); diff != "" {
		t.Errorf("after CleanUp (-before +after):\n%s", diff)
	}
	rec.take()
	if err := c2.CleanUp(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(rec.take(), "-restore"); n != 0 {
		t.Errorf("second CleanUp ran iptables-restore %d times", n)
	}
}

// TestApplyFreshNetns applies MeshRules on a namespace whose tables do not
// exist yet (nf_tables creates them on first use).
func TestApplyFreshNetns(t *testing.T) {
	ns := newNetns(t)
	rec := &recorder{netns: ns}
	c := New(Options{Exec: rec.exec})
	rs := MeshRules(meshInputs["follower-cni-forward"])
	for i, want := range []Result{{Writes: 1, RulesAdded: 10, ChainsCreated: 1}, {}} {
		res, err := c.Apply(context.Background(), rs)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("Apply %d (-want +got):\n%s", i+1, diff)
		}
	}
	// MeshRules are exact: no read-back after the write.
	if diff := cmp.Diff([]string{"iptables-save", "iptables-restore", "ip6tables-save", "iptables-save", "ip6tables-save"}, rec.take()); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
}

// TestCanonicalAgainstBinary writes specs through the real iptables-restore
// and checks that iptables-save prints every spec canonicalExact calls
// exact exactly as predicted (so a restarted agent finds its rules without
// a write and no read-back is needed), and that the others converge too.
func TestCanonicalAgainstBinary(t *testing.T) {
	specs := map[Family][]string{
		IPv4: {
			`-s 10.2.0.1/24 -j RETURN`,
			`-d 10.4.0.1 -j RETURN`,
			`-s 10.0.0.0/255.255.0.0 -j RETURN`,
			`-s 0.0.0.0/0 -j ACCEPT`,
			`-p tcp --dport 80 -o eth1 -i eth0 ! -d 10.1.2.3 -s 10.0.0.0/8 -j ACCEPT`,
			`--source 1.2.3.4 --jump ACCEPT`,
			`-p udp -m udp --sport 53 -j RETURN`,
			`-p 6 -j RETURN`,
			`-p all -j RETURN`,
			`-p tcp --syn --dport 443 --source-port 1024:65535 -j ACCEPT`,
			`-p tcp ! --syn -j ACCEPT`,
			`-i kilo+ -j ACCEPT`,
			`-g KILO-CANON-2`,
			`-m conntrack ! --ctstate NEW -j ACCEPT`,
			`-p icmp --icmp-type 8 -j ACCEPT`,
			`-j MARK --set-mark 0x1`,
		},
		IPv6: {
			`-s FD00::1/64 ! -d fd00:0:0::1 -j ACCEPT`,
			`-p icmpv6 --icmpv6-type 128 -j ACCEPT`,
			`-s ::/0 -j ACCEPT`,
			`-s ::ffff:10.0.0.1 -j ACCEPT`,
		},
	}
	comments := []string{`kgctl: plain`, `kgctl: q"uote`, `kgctl: back\slash`, `kgctl: it's`, "kgctl: tab\there", "kgctl:x", "kgctl"}

	ns := newNetns(t)
	ctx := context.Background()
	c := New(Options{Exec: (&recorder{netns: ns}).exec})
	var rs RuleSet
	type expect struct {
		spec  []string
		exact bool
	}
	want := map[Family][]expect{}
	for _, f := range []Family{IPv4, IPv6} {
		rs.Chains = append(rs.Chains, Chain{Family: f, Table: "filter", Name: "KILO-CANON"})
		for i, s := range specs[f] {
			spec, err := splitArgs(s)
			if err != nil {
				t.Fatal(err)
			}
			spec = append([]string{"-m", "comment", "--comment", comments[i%len(comments)]}, spec...)
			rs.Rules = append(rs.Rules, Rule{Family: f, Table: "filter", Chain: "KILO-CANON", Spec: spec})
			canon, exact, err := canonicalExact(spec, f)
			if err != nil {
				t.Fatal(err)
			}
			want[f] = append(want[f], expect{canon, exact})
		}
	}
	rs.Chains = append(rs.Chains, Chain{Family: IPv4, Table: "filter", Name: "KILO-CANON-2"})
	if _, err := c.Apply(ctx, rs); err != nil {
		t.Fatal(err)
	}
	for _, f := range []Family{IPv4, IPv6} {
		tables, err := parseSave([]byte(run(t, ns, "", f.saveCommand())))
		if err != nil {
			t.Fatal(err)
		}
		got := tables["filter"].chain("KILO-CANON").rules
		if len(got) != len(want[f]) {
			t.Fatalf("%s: %d rules saved, want %d", f, len(got), len(want[f]))
		}
		for i, w := range want[f] {
			switch {
			case got[i].key == specKey(w.spec):
			case w.exact:
				t.Errorf("%s: exact canonical %q, iptables-save printed %q", f, w.spec, got[i].spec)
			default:
				t.Logf("%s: canonical %q, iptables-save printed %q (learned)", f, w.spec, got[i].spec)
			}
		}
	}
	res, err := c.Apply(ctx, rs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Writes != 0 {
		t.Errorf("second Apply wrote %d times", res.Writes)
	}
}

// TestLearnedForms covers a spec iptables-save rewrites in a way canonical
// does not know (--set-mark becomes --set-xmark): the first Apply writes,
// learns the printed form, and the next one is a no-op.
func TestLearnedForms(t *testing.T) {
	ns := newNetns(t)
	ctx := context.Background()
	c := New(Options{Exec: (&recorder{netns: ns}).exec, Families: []Family{IPv4}})
	rs := RuleSet{
		Chains: []Chain{{Family: IPv4, Table: "mangle", Name: "KILO-MARK"}},
		Rules: []Rule{
			{Family: IPv4, Table: "mangle", Chain: "KILO-MARK", Spec: []string{"-m", "comment", "--comment", "kgctl: mark", "-j", "MARK", "--set-mark", "0x1"}},
			{Family: IPv4, Table: "mangle", Chain: "PREROUTING", Spec: []string{"-p", "tcp", "--syn", "-m", "comment", "--comment", "kgctl: syn", "-j", "KILO-MARK"}},
		},
	}
	for i, want := range []int{1, 0, 0} {
		res, err := c.Apply(ctx, rs)
		if err != nil {
			t.Fatal(err)
		}
		if res.Writes != want {
			t.Errorf("Apply %d wrote %d times, want %d", i+1, res.Writes, want)
		}
	}
	if err := c.CleanUp(ctx); err != nil {
		t.Fatal(err)
	}
	if out := run(t, ns, "", "iptables-save", "-t", "mangle"); strings.Contains(out, "kgctl") || strings.Contains(out, "KILO") {
		t.Errorf("mangle after CleanUp still has our rules:\n%s", out)
	}
}

// TestRestoreErrorNamesLine checks that a failing restore names its input line.
func TestRestoreErrorNamesLine(t *testing.T) {
	ns := newNetns(t)
	c := New(Options{Exec: (&recorder{netns: ns}).exec, Families: []Family{IPv4}})
	rs := RuleSet{
		Chains: []Chain{{Family: IPv4, Table: "filter", Name: "KILO-BAD"}},
		Rules: []Rule{{Family: IPv4, Table: "filter", Chain: "KILO-BAD",
			Spec: []string{"-m", "comment", "--comment", "kgctl: bad", "-j", "NO-SUCH-TARGET"}}},
	}
	_, err := c.Apply(context.Background(), rs)
	if err == nil || !strings.Contains(err.Error(), "NO-SUCH-TARGET") || !strings.Contains(err.Error(), "(input line ") {
		t.Fatalf("err = %v, want one naming the target and the input line", err)
	}
}

// withoutEmptyTables drops from iptables-save output the tables that have
// no rules and only built-in chains with an ACCEPT policy.
func withoutEmptyTables(save string) string {
	var out, block []string
	empty := true
	for _, line := range strings.SplitAfter(save, "\n") {
		switch {
		case strings.HasPrefix(line, "*"):
			block, empty = []string{line}, true
		case block == nil:
			out = append(out, line)
		case strings.HasPrefix(line, "COMMIT"):
			if !empty {
				out = append(out, block...)
				out = append(out, line)
			}
			block = nil
		default:
			block = append(block, line)
			if !strings.HasPrefix(line, ":") || !strings.Contains(line, " ACCEPT ") {
				empty = false
			}
		}
	}
	return strings.Join(out, "")
}
