package iptables

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestPlan runs every testdata/plan/*.txtar case: a family, the desired
// rules (written as iptables-save text: chains with policy "-" are ours),
// the current iptables-save output, and the golden restore input and result.
// It also replays the restore input on the current state and checks that
// planning again finds nothing to do and that every foreign rule survived.
func TestPlan(t *testing.T) {
	files, err := filepath.Glob("testdata/plan/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sec := map[string]string{}
			for _, f := range ar.Files {
				sec[f.Name] = string(f.Data)
			}
			fam := IPv4
			if strings.TrimSpace(sec["family"]) == "IPv6" {
				fam = IPv6
			}
			rs := ruleSetFromSave(t, fam, sec["desired"])
			desired, err := prepare(rs, DefaultComment, []Family{fam}, nil)
			if err != nil {
				t.Fatal(err)
			}
			current, err := parseSave([]byte(sec["current"]))
			if err != nil {
				t.Fatal(err)
			}
			plans, res, err := planFamily(desired[fam], current, DefaultComment)
			if err != nil {
				t.Fatal(err)
			}
			var restore bytes.Buffer
			if err := writeRestore(&restore, plans); err != nil {
				t.Fatal(err)
			}
			result := fmt.Sprintf("added=%d removed=%d chains-created=%d chains-deleted=%d\n",
				res.RulesAdded, res.RulesRemoved, res.ChainsCreated, res.ChainsDeleted)
			if *update {
				setSection(ar, "restore", restore.String())
				setSection(ar, "result", result)
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(sec["restore"], restore.String()); diff != "" {
				t.Errorf("restore input (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(sec["result"], result); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}

			after := replay(t, current, restore.Bytes())
			again, _, err := planFamily(desired[fam], after, DefaultComment)
			if err != nil {
				t.Fatal(err)
			}
			if len(again) > 0 {
				var b bytes.Buffer
				writeRestore(&b, again)
				t.Errorf("after replaying the restore input, the plan is not empty:\n%s", b.String())
			}
			if diff := cmp.Diff(foreignRules(current), foreignRules(after)); diff != "" {
				t.Errorf("foreign rules changed (-before +after):\n%s", diff)
			}
		})
	}
}

func setSection(ar *txtar.Archive, name, data string) {
	for i := range ar.Files {
		if ar.Files[i].Name == name {
			ar.Files[i].Data = []byte(data)
			return
		}
	}
	ar.Files = append(ar.Files, txtar.File{Name: name, Data: []byte(data)})
}

// ruleSetFromSave reads a desired RuleSet written as iptables-save text.
func ruleSetFromSave(t *testing.T, fam Family, text string) RuleSet {
	t.Helper()
	tables, err := parseSave([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range tables {
		names = append(names, n)
	}
	slices.Sort(names)
	var rs RuleSet
	for _, n := range names {
		for _, c := range tables[n].chains {
			if !c.builtin && !isBuiltin(n, c.name) {
				rs.Chains = append(rs.Chains, Chain{Family: fam, Table: n, Name: c.name})
			}
			for _, r := range c.rules {
				rs.Rules = append(rs.Rules, Rule{Family: fam, Table: n, Chain: c.name, Spec: r.spec})
			}
		}
	}
	return rs
}

// foreignRules lists, per chain, the rules without our marker outside our
// chains (a chain is judged ours if all its rules are marked).
func foreignRules(tables map[string]*table) []string {
	var out []string
	for _, n := range sortedKeys(tables) {
		for _, c := range tables[n].chains {
			for _, r := range c.rules {
				if !hasMarker(r.spec, DefaultComment) {
					out = append(out, n+" "+c.name+" "+joinArgs(r.spec))
				}
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// replay applies iptables-restore --noflush input to a copy of tables the
// way iptables-restore does, failing the test where the real binary would
// fail.
func replay(t testing.TB, tables map[string]*table, input []byte) map[string]*table {
	t.Helper()
	out := map[string]*table{}
	for n, tb := range tables {
		c := newTable(n)
		for _, ch := range tb.chains {
			nc := c.addChain(ch.name, ch.builtin)
			nc.rules = slices.Clone(ch.rules)
		}
		out[n] = c
	}
	var cur *table
	for i, line := range strings.Split(strings.TrimSuffix(string(input), "\n"), "\n") {
		fail := func(format string, args ...any) {
			t.Fatalf("restore input line %d %q: %s", i+1, line, fmt.Sprintf(format, args...))
		}
		switch {
		case line == "":
		case strings.HasPrefix(line, "*"):
			if out[line[1:]] == nil {
				out[line[1:]] = newTable(line[1:])
			}
			cur = out[line[1:]]
		case line == "COMMIT":
			cur = nil
		case strings.HasPrefix(line, ":"):
			name := strings.Fields(line[1:])[0]
			if c := cur.chain(name); c != nil {
				if c.builtin {
					fail("declares a built-in chain")
				}
				c.rules = nil
			} else {
				cur.addChain(name, false)
			}
		default:
			args, err := splitArgs(line)
			if err != nil {
				fail("%v", err)
			}
			op, c := args[0], cur.chain(args[1])
			if c == nil {
				fail("no chain %q", args[1])
			}
			switch op {
			case "-A":
				c.rules = append(c.rules, savedRule{spec: args[2:], key: specKey(args[2:])})
			case "-I":
				pos, _ := strconv.Atoi(args[2])
				if pos < 1 || pos > len(c.rules)+1 {
					fail("position %d out of 1..%d", pos, len(c.rules)+1)
				}
				r := savedRule{spec: args[3:], key: specKey(args[3:])}
				c.rules = slices.Insert(c.rules, pos-1, r)
			case "-D":
				k := specKey(args[2:])
				i := slices.IndexFunc(c.rules, func(r savedRule) bool { return r.key == k })
				if i < 0 {
					fail("no such rule")
				}
				c.rules = slices.Delete(c.rules, i, i+1)
			case "-X":
				if len(c.rules) > 0 {
					fail("chain not empty")
				}
				for _, other := range cur.chains {
					for _, r := range other.rules {
						if targetOf(r.spec) == c.name {
							fail("chain still referenced from %q", other.name)
						}
					}
				}
				cur.chains = slices.DeleteFunc(cur.chains, func(x *savedChain) bool { return x == c })
				delete(cur.byName, c.name)
			default:
				fail("unknown operation")
			}
		}
	}
	return out
}

func TestPlanErrors(t *testing.T) {
	mark := func(s ...string) []string {
		return append(s, "-m", "comment", "--comment", "kgctl: test")
	}
	base := "*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:FORWARD ACCEPT [0:0]\n:DOCKER-USER - [0:0]\nCOMMIT\n"
	tests := map[string]struct {
		rs      RuleSet
		wantErr string
	}{
		"built-in chain declared as ours": {
			rs:      RuleSet{Chains: []Chain{{Family: IPv4, Table: "nat", Name: "POSTROUTING"}}},
			wantErr: `chain "POSTROUTING" is built into table "nat"`,
		},
		"rule in a chain nobody has": {
			rs:      RuleSet{Rules: []Rule{{Family: IPv4, Table: "nat", Chain: "NOPE", Spec: mark("-j", "RETURN")}}},
			wantErr: `chain "NOPE" is neither declared`,
		},
		"rule without marker": {
			rs:      RuleSet{Rules: []Rule{{Family: IPv4, Table: "nat", Chain: "POSTROUTING", Spec: []string{"-j", "MASQUERADE"}}}},
			wantErr: `no comment starting with "kgctl:"`,
		},
		"family not managed": {
			rs:      RuleSet{Rules: []Rule{{Family: IPv6, Table: "nat", Chain: "POSTROUTING", Spec: mark("-j", "MASQUERADE")}}},
			wantErr: "family IPv6 is not managed",
		},
		"zero family": {
			rs:      RuleSet{Chains: []Chain{{Table: "nat", Name: "X"}}},
			wantErr: "family 0 is neither IPv4 nor IPv6",
		},
		"chain declared twice": {
			rs:      RuleSet{Chains: []Chain{{Family: IPv4, Table: "nat", Name: "X"}, {Family: IPv4, Table: "nat", Name: "X"}}},
			wantErr: "declared twice",
		},
		"chain name too long": {
			rs:      RuleSet{Chains: []Chain{{Family: IPv4, Table: "nat", Name: strings.Repeat("X", 29)}}},
			wantErr: "longer than 28",
		},
		"empty table": {
			rs:      RuleSet{Rules: []Rule{{Family: IPv4, Chain: "POSTROUTING", Spec: mark("-j", "MASQUERADE")}}},
			wantErr: "table name is empty",
		},
		"line break in argument": {
			rs:      RuleSet{Rules: []Rule{{Family: IPv4, Table: "nat", Chain: "POSTROUTING", Spec: []string{"-m", "comment", "--comment", "kgctl: a\nb", "-j", "RETURN"}}}},
			wantErr: "line break",
		},
		"comment too long": {
			rs:      RuleSet{Rules: []Rule{{Family: IPv4, Table: "nat", Chain: "POSTROUTING", Spec: []string{"-m", "comment", "--comment", "kgctl: " + strings.Repeat("x", 250), "-j", "RETURN"}}}},
			wantErr: "longer than 255",
		},
		"bad spec": {
			rs:      RuleSet{Rules: []Rule{{Family: IPv4, Table: "nat", Chain: "POSTROUTING", Spec: mark("-s", "fd00::/64", "-j", "RETURN")}}},
			wantErr: "not an IPv4 address",
		},
	}
	current, err := parseSave([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			desired, err := prepare(tt.rs, DefaultComment, []Family{IPv4}, nil)
			if err == nil {
				_, _, err = planFamily(desired[IPv4], current, DefaultComment)
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestPlanSharedChainInOtherProgramsChain(t *testing.T) {
	// A rule of ours in Docker's DOCKER-USER chain: the chain is shared, never ours.
	current, err := parseSave([]byte("*filter\n:FORWARD ACCEPT [0:0]\n:DOCKER-USER - [0:0]\n-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -j RETURN\nCOMMIT\n"))
	if err != nil {
		t.Fatal(err)
	}
	rs := RuleSet{Rules: []Rule{{Family: IPv4, Table: "filter", Chain: "DOCKER-USER",
		Spec: []string{"-s", "10.2.0.0/24", "-m", "comment", "--comment", "kgctl: accept", "-j", "ACCEPT"}}}}
	desired, err := prepare(rs, DefaultComment, []Family{IPv4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	plans, _, err := planFamily(desired[IPv4], current, DefaultComment)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	writeRestore(&b, plans)
	want := "*filter\n-I DOCKER-USER 1 -s 10.2.0.0/24 -m comment --comment \"kgctl: accept\" -j ACCEPT\nCOMMIT\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("restore input (-want +got):\n%s", diff)
	}
	// Later the rule is no longer desired: it goes, the chain stays.
	after := replay(t, current, b.Bytes())
	plans, _, err = planFamily(nil, after, DefaultComment)
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	writeRestore(&b, plans)
	want = "*filter\n-D DOCKER-USER -s 10.2.0.0/24 -m comment --comment \"kgctl: accept\" -j ACCEPT\nCOMMIT\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("restore input (-want +got):\n%s", diff)
	}
}
