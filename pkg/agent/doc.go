// Package agent is kgctl's node agent: it keeps one node's host — its
// WireGuard device, routes, rules and iptables rules — equal to that
// node's view of the mesh, and publishes the node's own state (key,
// endpoint, internal IP, ...) as Kilo's annotations.
//
// It is written against small interfaces it declares itself (Cluster,
// Publisher, Host), so it imports neither client-go nor netlink; the
// kube watcher lives in pkg/source and the host drivers under
// pkg/agent/{wg,route,iptables}.
package agent
