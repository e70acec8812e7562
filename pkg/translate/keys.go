package translate

// Kilo's node annotations. The names are upstream Kilo's, so a cluster
// annotated for Kilo works unchanged.
const (
	AnnotationPrefix = "kilo.squat.ai/"

	// Set by an administrator.
	ForceEndpointKey       = AnnotationPrefix + "force-endpoint"
	ForceInternalIPKey     = AnnotationPrefix + "force-internal-ip"
	LeaderKey              = AnnotationPrefix + "leader"
	LocationKey            = AnnotationPrefix + "location"
	PersistentKeepaliveKey = AnnotationPrefix + "persistent-keepalive"
	AllowedLocationIPsKey  = AnnotationPrefix + "allowed-location-ips"

	// Published by each node's agent.
	EndpointKey   = AnnotationPrefix + "endpoint"
	InternalIPKey = AnnotationPrefix + "internal-ip"
	KeyKey        = AnnotationPrefix + "key"
	LastSeenKey   = AnnotationPrefix + "last-seen"
	// StatusKey is the tunnel status an agent publishes (pkg/health);
	// the mesh reads only its "demoted" field (docs/failover.md).
	StatusKey              = AnnotationPrefix + "status"
	WireGuardIPKey         = AnnotationPrefix + "wireguard-ip"
	GranularityKey         = AnnotationPrefix + "granularity"
	DiscoveredEndpointsKey = AnnotationPrefix + "discovered-endpoints"
	// HeartbeatIntervalKey is how often, at the least, a kgctl agent
	// refreshes last-seen (seconds); only kgctl agents publish it, so a
	// node with a key but without it runs Kilo's agent, which reads
	// last-seen (docs/liveness.md).
	HeartbeatIntervalKey = AnnotationPrefix + "heartbeat-interval"

	// DefaultTopologyLabel is where the location comes from when the
	// location annotation is absent.
	DefaultTopologyLabel = "topology.kubernetes.io/region"
)
