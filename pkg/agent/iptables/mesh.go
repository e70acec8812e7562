package iptables

import (
	"net/netip"
	"slices"
)

// NATChain is the nat chain deciding which traffic leaving the mesh is
// masqueraded; Kilo's name, so a node moved from Kilo reuses it.
const NATChain = "KILO-NAT"

// MeshInput is what MeshRules needs to know about the local node and its
// mesh. Every prefix goes to the rules of its own family.
type MeshInput struct {
	// PodCIDRs are the local node's pod CIDRs.
	PodCIDRs []netip.Prefix
	// LocalSegmentPodCIDRs are the pod CIDRs of every node in the local
	// node's segment (location); used by a leader's forward rules.
	LocalSegmentPodCIDRs []netip.Prefix
	// LocalSegmentPrivateIPs are the private IPs of the local segment's
	// nodes; only the address counts (a node's InternalIP may carry its
	// subnet's mask).
	LocalSegmentPrivateIPs []netip.Prefix
	// AllowedLocationIPs are the local segment's allowed location IPs:
	// traffic to them is masqueraded so that replies find their way back.
	AllowedLocationIPs []netip.Prefix
	// KnownCIDRs are never masqueraded as destinations: every segment's
	// allowed IPs and WireGuard IPs.
	KnownCIDRs []netip.Prefix
	// PeerAllowedIPs are the Peers' allowed IPs: never masqueraded as
	// destinations, and traffic from them leaving the mesh is masqueraded.
	PeerAllowedIPs []netip.Prefix
	// ServiceCIDRs are never masqueraded as destinations.
	ServiceCIDRs []netip.Prefix
	// Leader is true when the local node leads its segment.
	Leader bool
	// CNI is true when kgctl manages the CNI: traffic from the local pods
	// goes through KILO-NAT.
	CNI bool
	// ForwardRules adds filter FORWARD ACCEPT rules for pod traffic, for
	// hosts whose FORWARD policy is DROP (Docker). Kilo adds them only
	// together with CNI; callers wanting that pass CNI && flag.
	ForwardRules bool
	// Comment is the marker of the rules' comments; default "kgctl". It
	// must match the Controller's.
	Comment string
}

// MeshRules returns the iptables rules Kilo's mesh needs on the local node:
//
//   - nat KILO-NAT (per family in use): RETURN for destinations inside the
//     mesh (known CIDRs, peers' allowed IPs, service CIDRs), then
//     MASQUERADE for everything else;
//   - nat POSTROUTING: a jump to KILO-NAT for traffic from the local pod
//     CIDRs (with CNI) and from peers, and for traffic to the local
//     segment's allowed location IPs;
//   - filter FORWARD (with ForwardRules): ACCEPT to and from the local pod
//     CIDRs; a leader also accepts its segment's pod CIDRs, allowed
//     location IPs and private IPs, as it forwards for them.
//
// A family gets rules only when some input prefix is of that family.
func MeshRules(in MeshInput) RuleSet {
	b := meshBuilder{comment: in.Comment}
	if b.comment == "" {
		b.comment = DefaultComment
	}

	if in.CNI {
		for _, p := range in.PodCIDRs {
			b.rule("nat", "POSTROUTING", "-s", p, "jump to KILO-NAT chain for local pods", NATChain)
		}
	}
	for _, p := range in.PeerAllowedIPs {
		b.rule("nat", "POSTROUTING", "-s", p, "jump to KILO-NAT chain for peers", NATChain)
	}
	for _, p := range in.AllowedLocationIPs {
		b.rule("nat", "POSTROUTING", "-d", p, "jump to KILO-NAT chain for allowed location IPs", NATChain)
	}

	for _, p := range in.KnownCIDRs {
		b.rule("nat", NATChain, "-d", p, "do not NAT packets destined for known IPs", "RETURN")
	}
	for _, p := range in.PeerAllowedIPs {
		b.rule("nat", NATChain, "-d", p, "do not NAT packets destined for peers", "RETURN")
	}
	for _, p := range in.ServiceCIDRs {
		b.rule("nat", NATChain, "-d", p, "do not NAT packets destined for service CIDRs", "RETURN")
	}

	if in.ForwardRules {
		forward := func(ps []netip.Prefix, what string) {
			for _, p := range ps {
				b.rule("filter", "FORWARD", "-s", p, "forward packets from "+what, "ACCEPT")
				b.rule("filter", "FORWARD", "-d", p, "forward packets to "+what, "ACCEPT")
			}
		}
		forward(in.PodCIDRs, "local pods")
		if in.Leader {
			forward(in.LocalSegmentPodCIDRs, "pods of the location")
			forward(in.AllowedLocationIPs, "allowed location IPs")
			private := make([]netip.Prefix, 0, len(in.LocalSegmentPrivateIPs))
			for _, p := range in.LocalSegmentPrivateIPs {
				private = append(private, netip.PrefixFrom(p.Addr(), p.Addr().BitLen()))
			}
			forward(private, "private IPs")
		}
	}

	// Every family in use gets its KILO-NAT chain, closed by MASQUERADE.
	all := slices.Concat(in.PodCIDRs, in.LocalSegmentPodCIDRs, in.LocalSegmentPrivateIPs,
		in.AllowedLocationIPs, in.KnownCIDRs, in.PeerAllowedIPs, in.ServiceCIDRs)
	for _, f := range []Family{IPv4, IPv6} {
		if !slices.ContainsFunc(all, func(p netip.Prefix) bool { return p.IsValid() && FamilyOf(p) == f }) {
			continue
		}
		b.rs.Chains = append(b.rs.Chains, Chain{Family: f, Table: "nat", Name: NATChain})
		b.add(Rule{Family: f, Table: "nat", Chain: NATChain,
			Spec: []string{"-m", "comment", "--comment", b.comment + ": NAT remaining packets", "-j", "MASQUERADE"}})
	}
	return b.rs
}

type meshBuilder struct {
	comment string
	rs      RuleSet
	seen    map[string]bool
	// seenPrefix dedups the per-prefix rules without building strings:
	// a 10,000-node mesh has tens of thousands of them.
	seenPrefix map[prefixRuleKey]bool
}

type prefixRuleKey struct {
	tbl, chain, flag, target string
	p                        netip.Prefix
}

// rule adds "<flag> <p> -m comment --comment '<marker>: <why>' -j <target>"
// in p's family, written in iptables-save's canonical order, unless the
// chain already has the same rule under another comment.
func (b *meshBuilder) rule(tbl, chain, flag string, p netip.Prefix, why, target string) {
	if !p.IsValid() {
		return
	}
	p = p.Masked()
	k := prefixRuleKey{tbl: tbl, chain: chain, flag: flag, target: target, p: p}
	if b.seenPrefix[k] {
		return
	}
	if b.seenPrefix == nil {
		b.seenPrefix = map[prefixRuleKey]bool{}
	}
	b.seenPrefix[k] = true
	b.rs.Rules = append(b.rs.Rules, Rule{
		Family: FamilyOf(p),
		Table:  tbl,
		Chain:  chain,
		Spec:   []string{flag, p.String(), "-m", "comment", "--comment", b.comment + ": " + why, "-j", target},
	})
}

// add appends r unless the same rule is already in its chain.
func (b *meshBuilder) add(r Rule) {
	k := r.Family.String() + "\x00" + r.Table + "\x00" + r.Chain + "\x00" + specKey(r.Spec)
	if b.seen == nil {
		b.seen = map[string]bool{}
	}
	if b.seen[k] {
		return
	}
	b.seen[k] = true
	b.rs.Rules = append(b.rs.Rules, r)
}
