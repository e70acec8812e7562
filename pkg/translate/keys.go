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
	// the mesh does not read it.
	StatusKey              = AnnotationPrefix + "status"
	WireGuardIPKey         = AnnotationPrefix + "wireguard-ip"
	GranularityKey         = AnnotationPrefix + "granularity"
	DiscoveredEndpointsKey = AnnotationPrefix + "discovered-endpoints"

	// DefaultTopologyLabel is where the location comes from when the
	// location annotation is absent.
	DefaultTopologyLabel = "topology.kubernetes.io/region"
)
