// Package iptables is the agent's iptables driver: it brings the host's
// iptables rules to a desired RuleSet with as few writes as possible, and
// builds the RuleSet Kilo's mesh needs (MeshRules).
//
// A Controller reads the current state with one iptables-save per family
// (all tables: with the nf_tables backend a per-table save costs as much as
// a full one), compares it with the desired rules (a pure diff), and, only when
// something differs, writes the difference with ONE iptables-restore
// --noflush call per family. A resync that changes nothing executes no
// restore at all, and when the save output is the one last found in order
// for the same RuleSet (a hash of each, without timestamps and counters),
// it is neither parsed nor compared again: the save still runs every time,
// so anyone's change to the host is seen and repaired on the next Apply.
//
// Ownership is stateless, so a restarted agent finds its rules again:
//   - chains listed in RuleSet.Chains are ours and are rewritten whole;
//   - in any other chain (built-in chains such as POSTROUTING and FORWARD, or
//     another program's chain) only rules whose comment carries our marker
//     ("kgctl" or "kgctl: ...") are ours; every desired rule must carry it;
//   - a user-defined chain that is no longer desired is deleted when all its
//     rules carry our marker (or it is empty and only our rules jump to it)
//     and no other program's rule jumps to it.
//
// It never flushes a built-in chain or a table and never touches a rule
// without our marker outside our own chains, so kube-proxy's and Docker's
// rules survive Apply and CleanUp.
//
// It does not decide which rules the mesh needs beyond the pure MeshRules
// builder, does not talk to nftables directly, and does not enable IP
// forwarding or load kernel modules.
package iptables
