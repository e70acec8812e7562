package iptables

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDriftRepaired changes the host between two resyncs that change
// nothing, after the Controller has verified the host once (so the resync
// takes its cheap path when the save output is unchanged), and checks
// that the change is repaired and the next resync is cheap again.
func TestDriftRepaired(t *testing.T) {
	for _, tc := range []struct {
		name string
		// drift changes the fake host's tables.
		drift func(t *testing.T, h *fakeHost)
		// want is the repairing Apply's result; Result{} is a change the
		// drift check must ignore without a full check.
		want Result
	}{{
		name: "our rule deleted from our chain",
		drift: func(t *testing.T, h *fakeHost) {
			c := chainOf(t, h, IPv4, "nat", NATChain)
			c.rules = slices.Delete(c.rules, 1, 2)
		},
		want: Result{Writes: 1, RulesAdded: 1},
	}, {
		name: "our rule altered in our chain",
		drift: func(t *testing.T, h *fakeHost) {
			c := chainOf(t, h, IPv4, "nat", NATChain)
			spec := slices.Clone(c.rules[0].spec)
			spec[len(spec)-1] = "ACCEPT"
			c.rules[0] = savedRule{spec: spec, key: specKey(spec)}
		},
		want: Result{Writes: 1, RulesAdded: 1, RulesRemoved: 1},
	}, {
		name: "foreign rule added to our chain",
		drift: func(t *testing.T, h *fakeHost) {
			c := chainOf(t, h, IPv4, "nat", NATChain)
			spec := []string{"-s", "192.0.2.0/24", "-j", "ACCEPT"}
			c.rules = slices.Insert(c.rules, 0, savedRule{spec: spec, key: specKey(spec)})
		},
		want: Result{Writes: 1, RulesRemoved: 1},
	}, {
		name: "our jump deleted from a built-in chain",
		drift: func(t *testing.T, h *fakeHost) {
			c := chainOf(t, h, IPv6, "nat", "POSTROUTING")
			i := slices.IndexFunc(c.rules, func(r savedRule) bool { return hasMarker(r.spec, DefaultComment) })
			c.rules = slices.Delete(c.rules, i, i+1)
		},
		want: Result{Writes: 1, RulesAdded: 1},
	}, {
		name: "our chain deleted",
		drift: func(t *testing.T, h *fakeHost) {
			tb := h.tables[IPv4]["nat"]
			tb.chains = slices.DeleteFunc(tb.chains, func(c *savedChain) bool { return c.name == NATChain })
			delete(tb.byName, NATChain)
			// The jumps to it would not survive either.
			post := chainOf(t, h, IPv4, "nat", "POSTROUTING")
			post.rules = slices.DeleteFunc(post.rules, func(r savedRule) bool { return targetOf(r.spec) == NATChain })
		},
		want: Result{Writes: 1, RulesAdded: 8 + 3, ChainsCreated: 1},
	}, {
		name: "foreign rule added to a built-in chain",
		drift: func(t *testing.T, h *fakeHost) {
			c := chainOf(t, h, IPv4, "filter", "FORWARD")
			spec := []string{"-i", "docker0", "-j", "ACCEPT"}
			c.rules = append(c.rules, savedRule{spec: spec, key: specKey(spec)})
		},
		want: Result{}, // not ours: nothing to write, but a full check
	}, {
		name:  "only timestamps and counters move",
		drift: func(t *testing.T, h *fakeHost) { h.cosmetic++ },
		want:  Result{},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			h := newFakeHost(t)
			c := New(Options{Exec: h.exec})
			rs := MeshRules(meshInputs["leader-cni-forward"])
			if _, err := c.Apply(ctx, rs); err != nil {
				t.Fatal(err)
			}
			applied := formatSave(h.tables[IPv4]) + formatSave(h.tables[IPv6])
			// Verify once (full checks), then a cheap resync.
			for i, wantChecks := range []int{2, 0} {
				checks := c.checks
				res, err := c.Apply(ctx, rs)
				if err != nil {
					t.Fatal(err)
				}
				if res != (Result{}) || c.checks-checks != wantChecks {
					t.Fatalf("resync %d: %+v and %d full checks, want none and %d", i+1, res, c.checks-checks, wantChecks)
				}
			}

			tc.drift(t, h)
			checks := c.checks
			res, err := c.Apply(ctx, rs)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, res); diff != "" {
				t.Errorf("Apply after the drift (-want +got):\n%s", diff)
			}
			if h.cosmetic > 0 {
				if n := c.checks - checks; n != 0 {
					t.Errorf("%d full checks for a cosmetic change, want 0", n)
				}
			} else if n := c.checks - checks; n != 1 {
				t.Errorf("%d full checks after the drift, want 1 (one family changed)", n)
			}
			if tc.name != "foreign rule added to a built-in chain" {
				if diff := cmp.Diff(applied, formatSave(h.tables[IPv4])+formatSave(h.tables[IPv6])); diff != "" {
					t.Errorf("host after the repair (-applied +got):\n%s", diff)
				}
			}

			// Converged: one full check of what was written, then cheap.
			for i := range 2 {
				checks := c.checks
				if res, err := c.Apply(ctx, rs); err != nil || res != (Result{}) {
					t.Fatalf("resync %d after the repair: %+v, %v", i+1, res, err)
				}
				if i == 1 && c.checks != checks {
					t.Errorf("resync %d after the repair: %d full checks, want 0", i+1, c.checks-checks)
				}
			}
		})
	}
}

// TestDriftRuleSetChanged checks that a rule set that changes, even in
// place (the same slices), is applied, and that an invalid one is refused
// before the host is read, also after a valid one was verified.
func TestDriftRuleSetChanged(t *testing.T) {
	ctx := context.Background()
	h := newFakeHost(t)
	c := New(Options{Exec: h.exec})
	rs := MeshRules(meshInputs["leader-cni-forward"])
	for range 2 {
		if _, err := c.Apply(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}
	i := slices.IndexFunc(rs.Rules, func(r Rule) bool { return r.Chain == NATChain && r.Family == IPv4 })
	rs.Rules[i].Spec[1] = "10.99.0.0/16" // in place
	res, err := c.Apply(ctx, rs)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Result{Writes: 1, RulesAdded: 1, RulesRemoved: 1}, res); diff != "" {
		t.Errorf("Apply of the changed rule set (-want +got):\n%s", diff)
	}
	if !strings.Contains(formatSave(h.tables[IPv4]), "-d 10.99.0.0/16") {
		t.Errorf("changed rule not on the host")
	}

	rs.Rules[i].Spec[1] = "not-an-address"
	h.calls = nil
	if _, err := c.Apply(ctx, rs); err == nil || !strings.Contains(err.Error(), "not-an-address") {
		t.Fatalf("err = %v, want one naming the bad address", err)
	}
	if len(h.calls) != 0 {
		t.Errorf("ran %v for an invalid rule set", h.calls)
	}
	// Back to the verified rule set: checked in full, not taken on trust.
	rs.Rules[i].Spec[1] = "10.99.0.0/16"
	checks := c.checks
	if res, err := c.Apply(ctx, rs); err != nil || res != (Result{}) {
		t.Fatalf("Apply: %+v, %v", res, err)
	}
	if n := c.checks - checks; n != 2 {
		t.Errorf("%d full checks after an invalid rule set, want 2", n)
	}
}

// TestSaveSum checks what the save output's sum ignores and what it sees.
func TestSaveSum(t *testing.T) {
	c := New(Options{})
	base := "# Generated by iptables-save v1.8.9 on Wed Dec  2 04:00:00 2026\n*nat\n:POSTROUTING ACCEPT [10:600]\n:KILO-NAT - [0:0]\n" +
		"-A KILO-NAT -d 10.4.0.1/32 -m comment --comment \"kgctl: x\" -j RETURN\nCOMMIT\n# Completed on Wed Dec  2 04:00:00 2026\n"
	for _, tc := range []struct {
		name, out string
		same      bool
	}{
		{"timestamps", strings.ReplaceAll(base, "04:00:00", "04:00:30"), true},
		{"counters", strings.Replace(base, "[10:600]", "[12:720]", 1), true},
		{"carriage returns", strings.ReplaceAll(base, "\n", "\r\n"), true},
		{"no final newline", strings.TrimSuffix(base, "\n"), true},
		{"policy", strings.Replace(base, "POSTROUTING ACCEPT", "POSTROUTING DROP", 1), false},
		{"rule", strings.Replace(base, "10.4.0.1/32", "10.4.0.2/32", 1), false},
		{"comment", strings.Replace(base, "kgctl: x", "kgctl: y", 1), false},
		{"rule moved into a line", strings.Replace(base, "RETURN\nCOMMIT", "RETURN COMMIT", 1), false},
		{"chain renamed", strings.Replace(base, ":KILO-NAT", ":KILO-NAX", 1), false},
		{"chain line blanks", strings.Replace(base, ":KILO-NAT - [0:0]", ":KILO-NAT\t-  [0:0] ", 1), true},
		{"policy with a bracket", strings.Replace(base, ":KILO-NAT - [0:0]", ":KILO-NAT -[0:0]", 1), false},
		{"policy missing", strings.Replace(base, ":KILO-NAT - [0:0]", ":KILO-NAT [0:0]", 1), false},
	} {
		if got := c.saveSum([]byte(tc.out)) == c.saveSum([]byte(base)); got != tc.same {
			t.Errorf("%s: same sum %v, want %v", tc.name, got, tc.same)
		}
	}
}

// TestRuleSetSum checks that every field of a rule set moves its sum.
func TestRuleSetSum(t *testing.T) {
	c := New(Options{})
	base := RuleSet{
		Chains: []Chain{{Family: IPv4, Table: "nat", Name: "KILO-NAT"}},
		Rules:  []Rule{{Family: IPv4, Table: "nat", Chain: "KILO-NAT", Spec: []string{"-d", "10.0.0.0/8", "-j", "RETURN"}}},
	}
	clone := func() RuleSet {
		rs := RuleSet{Chains: slices.Clone(base.Chains), Rules: slices.Clone(base.Rules)}
		rs.Rules[0].Spec = slices.Clone(rs.Rules[0].Spec)
		return rs
	}
	for name, change := range map[string]func(*RuleSet){
		"chain family": func(rs *RuleSet) { rs.Chains[0].Family = IPv6 },
		"chain table":  func(rs *RuleSet) { rs.Chains[0].Table = "filter" },
		"chain name":   func(rs *RuleSet) { rs.Chains[0].Name = "KILO-NAX" },
		"no chain":     func(rs *RuleSet) { rs.Chains = nil },
		"rule family":  func(rs *RuleSet) { rs.Rules[0].Family = IPv6 },
		"rule table":   func(rs *RuleSet) { rs.Rules[0].Table = "filter" },
		"rule chain":   func(rs *RuleSet) { rs.Rules[0].Chain = "POSTROUTING" },
		"spec":         func(rs *RuleSet) { rs.Rules[0].Spec[1] = "10.0.0.0/9" },
		"spec split":   func(rs *RuleSet) { rs.Rules[0].Spec = []string{"-d", "10.0.0.0/8 -j", "RETURN"} },
		"rule added":   func(rs *RuleSet) { rs.Rules = append(rs.Rules, rs.Rules[0]) },
	} {
		rs := clone()
		change(&rs)
		if c.ruleSetSum(rs) == c.ruleSetSum(base) {
			t.Errorf("%s: same sum", name)
		}
	}
	if c.ruleSetSum(clone()) != c.ruleSetSum(base) {
		t.Errorf("a copy has another sum")
	}
}

func chainOf(t *testing.T, h *fakeHost, f Family, tbl, name string) *savedChain {
	t.Helper()
	c := h.tables[f][tbl].chain(name)
	if c == nil {
		t.Fatalf("%s table %s has no chain %s", f, tbl, name)
	}
	return c
}

// TestDriftRepairedNetns is TestDriftRepaired with the real binaries:
// other programs' iptables commands change the host between two resyncs
// that change nothing, and each change is repaired.
func TestDriftRepairedNetns(t *testing.T) {
	ns := newNetns(t)
	ctx := context.Background()
	run(t, ns, foreignRules4, "iptables-restore", "--noflush")
	rec := &recorder{netns: ns}
	c := New(Options{Exec: rec.exec})
	rs := MeshRules(meshInputs["leader-cni-forward"])
	if _, err := c.Apply(ctx, rs); err != nil {
		t.Fatal(err)
	}
	applied := saved(t, ns)
	for _, tc := range []struct {
		name string
		cmd  []string // run in the namespace after a verified resync
		want Result
	}{
		{"our rule deleted", []string{"iptables", "-w", "-t", "nat", "-D", NATChain, "2"}, Result{Writes: 1, RulesAdded: 1}},
		{"our rule replaced", []string{"iptables", "-w", "-t", "nat", "-R", NATChain, "1", "-d", "10.4.0.1/32", "-m", "comment", "--comment", "kgctl: changed", "-j", "RETURN"},
			Result{Writes: 1, RulesAdded: 1, RulesRemoved: 1}},
		{"foreign rule in our chain", []string{"iptables", "-w", "-t", "nat", "-I", NATChain, "1", "-s", "192.0.2.0/24", "-j", "ACCEPT"}, Result{Writes: 1, RulesRemoved: 1}},
		{"our jump deleted", []string{"ip6tables", "-w", "-t", "nat", "-D", "POSTROUTING", "1"}, Result{Writes: 1, RulesAdded: 1}},
		{"our forward rule deleted", []string{"iptables", "-w", "-t", "filter", "-D", "FORWARD", "2"}, Result{Writes: 1, RulesAdded: 1}},
	} {
		for i := range 2 { // the first verifies after the last write, the second is cheap
			checks := c.checks
			if res, err := c.Apply(ctx, rs); err != nil || res != (Result{}) {
				t.Fatalf("%s: resync %d before: %+v, %v", tc.name, i+1, res, err)
			}
			if i == 1 && c.checks != checks {
				t.Errorf("%s: resync %d before: %d full checks, want 0", tc.name, i+1, c.checks-checks)
			}
		}
		run(t, ns, "", tc.cmd[0], tc.cmd[1:]...)
		if saved(t, ns) == applied {
			t.Fatalf("%s: %v changed nothing", tc.name, tc.cmd)
		}
		res, err := c.Apply(ctx, rs)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, res); diff != "" {
			t.Errorf("%s: Apply (-want +got):\n%s", tc.name, diff)
		}
		if diff := cmp.Diff(applied, saved(t, ns)); diff != "" {
			t.Errorf("%s: host after the repair (-applied +got):\n%s", tc.name, diff)
		}
	}
}
