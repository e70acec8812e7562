// Package route is the agent's routing host driver: the only code in kgctl
// that touches routes, policy rules, interface addresses and the IPIP tunnel
// (through github.com/vishvananda/netlink).
//
// A [Manager] takes the whole desired [State] and makes the host match it,
// touching only what differs: calling [Manager.Apply] again with the same
// state lists the kernel's tables and writes nothing ([Result.Writes] is 0).
// It is stateless across restarts. What it owns is recognised on the host:
//
//   - routes: every route carrying [Options.Protocol] (in any table) is
//     ours; routes of any other protocol are never touched;
//   - policy rules: every rule carrying [Options.Protocol] is ours;
//   - addresses: on the links in [Options.OwnedLinks] every address except
//     IPv6 link-local ones is ours; on other links only addresses inside
//     [Options.ManagedPrefixes] are, and the rest are only ever added to.
//
// Routes go in the Manager's table ([Options.Table], Kilo's 1107, unless a
// route names another); for each address family with routes in that table,
// Apply keeps one rule "from all lookup <table>" at [Options.RulePriority],
// ahead of the main table's rule (32766), so the mesh's routes win.
//
// [Manager.CleanUp] removes everything of ours: it is Apply of an empty
// state.
//
// [EnsureIPIP] and [DeleteIPIP] manage the IPIP tunnel used to encapsulate
// traffic inside a location; [Encapsulate] is the --encapsulate strategy.
//
// What it does not do: decide what the routes are (the topology engine
// does), configure WireGuard or iptables, or create links other than the
// IPIP tunnel. It does not protect the WireGuard endpoints either: the
// caller must never route a peer's endpoint address into the WireGuard
// interface (or the tunnel carrying it), or the encrypted packets would be
// routed into their own tunnel and the link would collapse. The topology
// engine leaves endpoint addresses out of the routes it computes.
package route
