// Package topology is kgctl's engine: a pure function from a Cluster (nodes,
// peers, settings) to a Mesh (segments, leaders, WireGuard IPs, and every
// node's and peer's WireGuard configuration and routes).
//
// It follows the semantics of Kilo's topology: nodes are grouped into
// segments (a location, or a single node in full/cross granularity), one
// leader per segment links to the other segments over WireGuard, and each
// segment leader gets a WireGuard IP allocated in segment order from the
// mesh subnet, so the same cluster gets the same addresses as under Kilo.
//
// It does no I/O: no Kubernetes client, no netlink, no clock, no DNS.
// Readiness that depends on time is computed against Settings.Now.
package topology
