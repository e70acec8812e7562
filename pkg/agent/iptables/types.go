package iptables

import (
	"fmt"
	"net/netip"
)

// Family is an IP family: IPv4 rules go to iptables, IPv6 rules to ip6tables.
type Family int

const (
	IPv4 Family = 4
	IPv6 Family = 6
)

// FamilyOf returns the family of p's address (IPv4-mapped IPv6 counts as IPv6,
// as ip6tables would see it).
func FamilyOf(p netip.Prefix) Family {
	if p.Addr().Is4() {
		return IPv4
	}
	return IPv6
}

func (f Family) String() string {
	switch f {
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	}
	return fmt.Sprintf("Family(%d)", int(f))
}

func (f Family) valid() bool { return f == IPv4 || f == IPv6 }

// saveCommand and restoreCommand are the binaries of the family.
func (f Family) saveCommand() string {
	if f == IPv6 {
		return "ip6tables-save"
	}
	return "iptables-save"
}

func (f Family) restoreCommand() string {
	if f == IPv6 {
		return "ip6tables-restore"
	}
	return "iptables-restore"
}

// Chain is a chain we own: it is created if missing, rewritten whole when
// its rules differ, and deleted once no longer desired.
type Chain struct {
	Family Family
	Table  string // "nat", "filter", ...
	Name   string // e.g. "KILO-NAT"
}

// Rule is one rule, in order within its chain. Spec is the rule's arguments
// after the chain name, as given to iptables -A, e.g.
//
//	"-s", "10.2.0.0/24", "-m", "comment", "--comment", "kgctl: jump to KILO-NAT", "-j", "KILO-NAT"
//
// Every rule carries a comment with the Controller's marker; a rule in a
// chain that is not ours (POSTROUTING, FORWARD) is only recognised by it.
// Specs are compared in the form iptables-save prints them: addresses,
// option order, protocol names, implicit protocol matches and tcp/udp
// options are canonicalised. When a rule set holds a spec beyond that
// (other matches, target options such as --set-mark), Apply reads the
// result back once after writing and remembers how iptables-save printed
// it; a new Controller then writes once more before it converges.
type Rule struct {
	Family Family
	Table  string
	Chain  string
	Spec   []string
}

// RuleSet is the whole desired state: our chains and every rule we want, in
// order. Rules in chains not listed in Chains (built-in chains) are kept in
// the given order relative to each other; new ones go above other programs'
// rules.
type RuleSet struct {
	Chains []Chain
	Rules  []Rule
}

// Result says what an Apply did.
type Result struct {
	// Writes is the number of iptables-restore invocations (at most one per
	// family); 0 when the host already matched.
	Writes int
	// RulesAdded and RulesRemoved count rules that were missing or stale;
	// rules rewritten unchanged (their chain was rewritten, or they were
	// moved to restore the desired order) count in neither.
	RulesAdded   int
	RulesRemoved int
	// ChainsCreated and ChainsDeleted count our chains.
	ChainsCreated int
	ChainsDeleted int
}

func (r *Result) add(o Result) {
	r.Writes += o.Writes
	r.RulesAdded += o.RulesAdded
	r.RulesRemoved += o.RulesRemoved
	r.ChainsCreated += o.ChainsCreated
	r.ChainsDeleted += o.ChainsDeleted
}
