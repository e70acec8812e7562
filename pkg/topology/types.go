package topology

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/kgctl/kgctl/pkg/wireguard"
)

// Granularity says how nodes are grouped into segments.
type Granularity string

const (
	// LocationGranularity groups the nodes of one location into one segment
	// whose leader links to the other segments' leaders.
	LocationGranularity Granularity = "location"
	// FullGranularity makes every node its own segment: a full mesh.
	FullGranularity Granularity = "full"
	// CrossGranularity makes every node its own segment, but nodes in the
	// same location talk over their private network, not WireGuard.
	CrossGranularity Granularity = "cross"
)

// Granularities lists the valid granularities, for flag help and errors.
var Granularities = []Granularity{LocationGranularity, FullGranularity, CrossGranularity}

// ParseGranularity parses a --mesh-granularity value.
func ParseGranularity(s string) (Granularity, error) {
	for _, g := range Granularities {
		if string(g) == s {
			return g, nil
		}
	}
	return "", fmt.Errorf("unknown granularity %q: want one of location, full, cross", s)
}

// Encapsulation says when traffic inside a location is IPIP-encapsulated.
type Encapsulation string

const (
	EncapsulateNever       Encapsulation = "never"
	EncapsulateCrossSubnet Encapsulation = "crosssubnet"
	EncapsulateAlways      Encapsulation = "always"
)

// ParseEncapsulation parses an --encapsulate value.
func ParseEncapsulation(s string) (Encapsulation, error) {
	switch e := Encapsulation(s); e {
	case EncapsulateNever, EncapsulateCrossSubnet, EncapsulateAlways:
		return e, nil
	}
	return "", fmt.Errorf("unknown encapsulation %q: want one of never, crosssubnet, always", s)
}

// Node is one Kubernetes node as the mesh sees it, already parsed from
// its labels, annotations and spec.
type Node struct {
	Name string
	// Location is the logical location; "" is the default location.
	Location string
	// InternalIP is the node's private address with its subnet's mask
	// (the mask tells which peers are on the same subnet); zero if none.
	InternalIP netip.Prefix
	// Endpoint is where other locations reach this node's WireGuard port.
	Endpoint wireguard.Endpoint
	// Key is the node's WireGuard public key; zero until its agent publishes it.
	Key      wireguard.Key
	PodCIDRs []netip.Prefix
	// PersistentKeepalive is what this node uses towards all of its peers
	// (set on nodes behind NAT).
	PersistentKeepalive time.Duration
	// Leader is the node's request to lead its location.
	Leader bool
	// Demoted is when the node's agent gave up leading its location
	// because its data path died (kilo.squat.ai/status "demoted", on that
	// node's clock); zero if it did not. A demoted node leads only when
	// every other node of its segment is demoted too (docs/failover.md).
	Demoted            time.Time
	AllowedLocationIPs []netip.Prefix
	// LastSeen is when the node's agent last checked in; zero if never.
	LastSeen time.Time
	// Ready is the node's Ready condition (kubelet's, kept current by the
	// node lifecycle controller); its zero value means it has none, and
	// then only LastSeen decides liveness.
	Ready Readiness
	// HeartbeatInterval is the longest the node's agent says it leaves
	// LastSeen unrefreshed (kilo.squat.ai/heartbeat-interval, published
	// by kgctl agents only); zero when it publishes none (Kilo's agents).
	// It bounds a Ready node's LastSeen: see ReadyHeartbeatBound.
	HeartbeatInterval time.Duration
	// Granularity is what the node's agent says it runs with; "" if unknown.
	Granularity Granularity
	// DiscoveredEndpoints are the endpoints this node's WireGuard device
	// learned for NATed peers, keyed by the peer's public key.
	DiscoveredEndpoints map[wireguard.Key]netip.AddrPort
	// CreationTimestamp is the object's metadata.creationTimestamp; zero
	// when unknown (files). Of two nodes claiming one key or prefix, the
	// older keeps it (see rank).
	CreationTimestamp time.Time
}

// Readiness is a node's Ready condition as liveness reads it.
type Readiness struct {
	// Status is "True", "False" or "Unknown"; "" when the node has no
	// Ready condition (no kubelet: hand-made or edge Nodes).
	Status string
	// Since is when Status last changed: the condition's
	// lastTransitionTime, or, in an agent, when it saw the change.
	Since time.Time
}

// Peer is a WireGuard peer outside the cluster (Kilo's Peer resource).
type Peer struct {
	Name                string
	PublicKey           wireguard.Key
	PresharedKey        *wireguard.Key
	Endpoint            wireguard.Endpoint
	AllowedIPs          []netip.Prefix
	PersistentKeepalive time.Duration
	// CreationTimestamp is the object's metadata.creationTimestamp; zero
	// when unknown (files). It ranks peers' claims like nodes'.
	CreationTimestamp time.Time
}

// Settings are the mesh-wide parameters (the agent's flags).
type Settings struct {
	Granularity Granularity
	// Subnet is where segment leaders' WireGuard IPs come from.
	Subnet netip.Prefix
	// Port is the WireGuard listen port of every node.
	Port         int
	ServiceCIDRs []netip.Prefix
	// Now and StaleAfter decide liveness: a node whose Ready condition is
	// True is alive, unless it publishes a HeartbeatInterval and its
	// LastSeen is older than ReadyHeartbeatBound before Now; one without
	// a Ready condition is left out when its LastSeen is older than
	// StaleAfter before Now; one not Ready is left out when both its
	// Ready condition's change and its LastSeen are.
	// Either zero disables the check (files in a Git repository carry old
	// timestamps).
	Now        time.Time
	StaleAfter time.Duration
	// Encapsulate and Local shape the routes inside a location.
	Encapsulate Encapsulation
	// Local makes the mesh route between nodes of the same location
	// (rather than leaving it to the CNI).
	Local bool
}

// DefaultSettings are Kilo's defaults.
func DefaultSettings() Settings {
	return Settings{
		Granularity: LocationGranularity,
		Subnet:      netip.MustParsePrefix("10.4.0.0/16"),
		Port:        51820,
		StaleAfter:  time.Minute,
		Encapsulate: EncapsulateNever,
		Local:       true,
	}
}

// Validate checks the settings, naming the flag at fault.
func (s Settings) Validate() error {
	if _, err := ParseGranularity(string(s.Granularity)); err != nil {
		return fmt.Errorf("--mesh-granularity: %w", err)
	}
	if !s.Subnet.IsValid() {
		return fmt.Errorf("--subnet: a CIDR is required")
	}
	if s.Subnet != s.Subnet.Masked() {
		return fmt.Errorf("--subnet: %q has host bits set; did you mean %q?", s.Subnet, s.Subnet.Masked())
	}
	if s.Subnet.Addr().BitLen()-s.Subnet.Bits() < 2 {
		return fmt.Errorf("--subnet: %q is too small to allocate WireGuard IPs from", s.Subnet)
	}
	if s.Port < 1 || s.Port > 65535 {
		return fmt.Errorf("--port: %d is not in 1-65535", s.Port)
	}
	if s.Encapsulate != "" {
		if _, err := ParseEncapsulation(string(s.Encapsulate)); err != nil {
			return fmt.Errorf("--encapsulate: %w", err)
		}
	}
	return nil
}

// Cluster is the engine's whole input.
type Cluster struct {
	Nodes    []Node
	Peers    []Peer
	Settings Settings
}
