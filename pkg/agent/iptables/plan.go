package iptables

import (
	"fmt"
	"slices"
	"sort"
)

// This file is the pure diff: given one family's desired tables and what
// iptables-save printed, it computes the iptables-restore operations that
// bring the host to the desired state, touching only our chains and our
// marked rules.

// desiredTable is the desired state of one table of one family.
type desiredTable struct {
	name string
	// chains are our chains in declaration order.
	chains []string
	own    map[string]bool
	// rules are the desired rules of every chain (ours and shared), in order.
	rules map[string][]wantRule
	// ruleChains are the chains of rules in first-appearance order.
	ruleChains []string
}

type wantRule struct {
	spec []string // canonical spec, written to iptables-restore
	key  string   // what iptables-save is expected to print, as a key
	// exact is true when spec is known to be what iptables-save prints.
	exact bool
}

func newDesiredTable(name string) *desiredTable {
	return &desiredTable{name: name, own: map[string]bool{}, rules: map[string][]wantRule{}}
}

func (d *desiredTable) addChain(name string) {
	if !d.own[name] {
		d.own[name] = true
		d.chains = append(d.chains, name)
	}
}

func (d *desiredTable) addRule(chain string, r wantRule) {
	if _, ok := d.rules[chain]; !ok {
		d.ruleChains = append(d.ruleChains, chain)
	}
	d.rules[chain] = append(d.rules[chain], r)
}

// tablePlan is what one table needs, in the order the restore input says it.
type tablePlan struct {
	name string
	// declare creates or flushes chains: our chains being rewritten and our
	// stale chains about to be deleted.
	declare []string
	// deletes removes our stale rules from shared chains (-D with the saved spec).
	deletes []ruleOp
	// appends fills our rewritten chains (-A).
	appends []ruleOp
	// inserts adds missing rules to shared chains (-I at a position).
	inserts []ruleOp
	// deleteChains deletes our stale chains (-X).
	deleteChains []string
}

type ruleOp struct {
	chain string
	pos   int // 1-based, for inserts
	spec  []string
}

func (p *tablePlan) empty() bool {
	return len(p.declare)+len(p.deletes)+len(p.appends)+len(p.inserts)+len(p.deleteChains) == 0
}

// builtinChains are the chains each table has from the start; none of them
// can be one of our chains.
var builtinChains = map[string][]string{
	"filter":   {"INPUT", "FORWARD", "OUTPUT"},
	"nat":      {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"},
	"mangle":   {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"},
	"raw":      {"PREROUTING", "OUTPUT"},
	"security": {"INPUT", "FORWARD", "OUTPUT"},
}

func isBuiltin(tbl, chain string) bool { return slices.Contains(builtinChains[tbl], chain) }

// planFamily compares one family's desired tables with the current ones
// (nil entries and missing tables count as empty) and returns a plan per
// table that needs a change, in table-name order, with what it adds and
// removes.
func planFamily(desired map[string]*desiredTable, current map[string]*table, marker string) ([]tablePlan, Result, error) {
	names := map[string]bool{}
	for n := range desired {
		names[n] = true
	}
	for n := range current {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)

	var (
		plans []tablePlan
		res   Result
	)
	for _, n := range sorted {
		d, cur := desired[n], current[n]
		if d == nil {
			d = newDesiredTable(n)
		}
		if cur == nil {
			cur = newTable(n)
		}
		p, r, err := planTable(d, cur, marker)
		if err != nil {
			return nil, Result{}, fmt.Errorf("table %q: %w", n, err)
		}
		if !p.empty() {
			plans = append(plans, p)
			res.add(r)
		}
	}
	return plans, res, nil
}

func planTable(d *desiredTable, cur *table, marker string) (tablePlan, Result, error) {
	p := tablePlan{name: d.name}
	var res Result

	for _, name := range d.chains {
		if c := cur.chain(name); isBuiltin(d.name, name) || (c != nil && c.builtin) {
			return p, res, fmt.Errorf("chain %q is built in; it cannot be one of our chains", name)
		}
	}
	for _, name := range d.ruleChains {
		if !d.own[name] && cur.chain(name) == nil && !isBuiltin(d.name, name) {
			return p, res, fmt.Errorf("chain %q is neither declared in the rule set nor present on the host", name)
		}
	}

	// Our chains: rewritten whole when their rules differ.
	for _, name := range d.chains {
		want := d.rules[name]
		c := cur.chain(name)
		var have []savedRule
		if c != nil {
			have = c.rules
		}
		if c != nil && sameKeys(have, want) {
			continue
		}
		if c == nil {
			res.ChainsCreated++
		}
		added, removed := multisetDiff(have, want)
		res.RulesAdded += added
		res.RulesRemoved += removed
		p.declare = append(p.declare, name)
		for _, r := range want {
			p.appends = append(p.appends, ruleOp{chain: name, spec: r.spec})
		}
	}

	// Our stale chains: deleted.
	stale := staleChains(d, cur, marker)
	for _, c := range stale {
		p.declare = append(p.declare, c.name)
		p.deleteChains = append(p.deleteChains, c.name)
		res.ChainsDeleted++
		res.RulesRemoved += len(c.rules)
	}

	// Shared chains: only our marked rules are compared and changed.
	isStale := map[string]bool{}
	for _, c := range stale {
		isStale[c.name] = true
	}
	var shared []string
	for _, c := range cur.chains {
		if !d.own[c.name] && !isStale[c.name] {
			shared = append(shared, c.name)
		}
	}
	for _, name := range d.ruleChains {
		if !d.own[name] && cur.chain(name) == nil {
			shared = append(shared, name) // a built-in chain the save did not list
		}
	}
	for _, name := range shared {
		var have []savedRule
		if c := cur.chain(name); c != nil {
			have = c.rules
		}
		dels, ins, added, removed := planShared(name, have, d.rules[name], marker)
		p.deletes = append(p.deletes, dels...)
		p.inserts = append(p.inserts, ins...)
		res.RulesAdded += added
		res.RulesRemoved += removed
	}
	return p, res, nil
}

// staleChains returns the user-defined chains that are ours but no longer
// desired: not declared, not the target of a desired rule, every rule in
// them marked, non-empty or the target of a marked rule, and not the target
// of anyone else's rule.
func staleChains(d *desiredTable, cur *table, marker string) []*savedChain {
	wanted := map[string]bool{}
	for _, rules := range d.rules {
		for _, r := range rules {
			wanted[targetOf(r.spec)] = true
		}
	}
	markedTarget := map[string]bool{}
	foreignTarget := map[string]bool{}
	for _, c := range cur.chains {
		if d.own[c.name] {
			continue // rewritten: its current rules go away
		}
		for _, r := range c.rules {
			if hasMarker(r.spec, marker) {
				markedTarget[targetOf(r.spec)] = true
			} else {
				foreignTarget[targetOf(r.spec)] = true
			}
		}
	}
	var stale []*savedChain
	for _, c := range cur.chains {
		if c.builtin || d.own[c.name] || wanted[c.name] || foreignTarget[c.name] || isBuiltin(d.name, c.name) {
			continue
		}
		if len(c.rules) == 0 && !markedTarget[c.name] {
			continue
		}
		ours := true
		for _, r := range c.rules {
			if !hasMarker(r.spec, marker) {
				ours = false
				break
			}
		}
		if ours {
			stale = append(stale, c)
		}
	}
	return stale
}

func sameKeys(have []savedRule, want []wantRule) bool {
	if len(have) != len(want) {
		return false
	}
	for i := range have {
		if have[i].key != want[i].key {
			return false
		}
	}
	return true
}

// multisetDiff counts the rules of want missing from have, and the rules of
// have not in want.
func multisetDiff(have []savedRule, want []wantRule) (added, removed int) {
	count := map[string]int{}
	for _, r := range have {
		count[r.key]++
	}
	for _, r := range want {
		if count[r.key] > 0 {
			count[r.key]--
		} else {
			added++
		}
	}
	for _, n := range count {
		removed += n
	}
	return added, removed
}

// planShared plans one shared chain (a built-in chain or another program's
// chain), where only the rules carrying marker are ours. It succeeds when
// the sequence of our rules (ignoring others' rules between them) equals
// want. Otherwise it deletes our stale rules (-D with the saved spec; the
// earliest duplicates go first, as -D deletes the first match) and inserts
// the missing ones so that our rules keep the desired order: a missing rule
// goes right after its predecessor in want, or above our first kept rule,
// or at the top of the chain when none of ours is left. If the kept rules
// are out of order, all of ours are deleted and inserted again at the top.
func planShared(chain string, have []savedRule, want []wantRule, marker string) (dels, ins []ruleOp, added, removed int) {
	var ours []int // indices into have
	for i, r := range have {
		if hasMarker(r.spec, marker) {
			ours = append(ours, i)
		}
	}
	if len(ours) == len(want) {
		same := true
		for j, i := range ours {
			if have[i].key != want[j].key {
				same = false
				break
			}
		}
		if same {
			return nil, nil, 0, 0
		}
	}

	// Delete the excess occurrences of each key, earliest first.
	wantCount := map[string]int{}
	for _, r := range want {
		wantCount[r.key]++
	}
	excess := map[string]int{}
	for _, i := range ours {
		excess[have[i].key]++
	}
	for k, n := range excess {
		excess[k] = n - wantCount[k]
	}
	deleted := make([]bool, len(have))
	for _, i := range ours {
		if k := have[i].key; excess[k] > 0 {
			excess[k]--
			deleted[i] = true
			dels = append(dels, ruleOp{chain: chain, spec: have[i].spec})
			removed++
		}
	}

	// Match the kept rules, in order, to a subsequence of want.
	var kept []int
	for _, i := range ours {
		if !deleted[i] {
			kept = append(kept, i)
		}
	}
	matched := make([]int, len(want)) // index into have, or -1
	for j := range matched {
		matched[j] = -1
	}
	k := 0
	for j := range want {
		if k < len(kept) && have[kept[k]].key == want[j].key {
			matched[j] = kept[k]
			k++
		}
	}
	added = len(want) - len(kept)
	if k < len(kept) {
		// Out of order: take all of ours out and put them back in order.
		for _, i := range kept {
			deleted[i] = true
			dels = append(dels, ruleOp{chain: chain, spec: have[i].spec})
		}
		for j := range matched {
			matched[j] = -1
		}
		kept = nil
	}

	// Missing rules hang after the desired rule before them (-1: none).
	after := map[int][]int{}
	prev := -1
	for j := range want {
		if matched[j] >= 0 {
			prev = j
			continue
		}
		after[prev] = append(after[prev], j)
	}
	wantOf := map[int]int{}
	for j, i := range matched {
		if i >= 0 {
			wantOf[i] = j
		}
	}
	pos := 0 // rules in the chain so far, once the earlier operations ran
	insert := func(js []int) {
		for _, j := range js {
			pos++
			ins = append(ins, ruleOp{chain: chain, pos: pos, spec: want[j].spec})
		}
	}
	if len(kept) == 0 {
		insert(after[-1])
		return dels, ins, added, removed
	}
	for i := range have {
		if deleted[i] {
			continue
		}
		if i == kept[0] {
			insert(after[-1])
		}
		pos++
		if j, ok := wantOf[i]; ok {
			insert(after[j])
		}
	}
	return dels, ins, added, removed
}
