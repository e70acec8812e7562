package agent

import (
	"encoding/json"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kgctl/kgctl/pkg/liveness"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// Published is the state a node's agent announces about itself.
type Published struct {
	PublicKey   wireguard.Key
	InternalIP  netip.Prefix
	Endpoint    wireguard.Endpoint
	WireGuardIP netip.Prefix
	Granularity topology.Granularity
	// Discovered are endpoints WireGuard learned for NATed peers, keyed by
	// base64 public key.
	Discovered map[string]netip.AddrPort
	Now        time.Time
	// Refresh is how old last-seen may get before it is rewritten: only
	// the periodic resync refreshes it, so the update our own patch causes
	// does not cause another patch.
	Refresh time.Duration
	// HeartbeatInterval is published (whole seconds) as the kgctl marker:
	// the longest this agent leaves last-seen unrefreshed.
	HeartbeatInterval time.Duration
}

// AnnotationPatch returns the annotations to set (nil value: remove) so
// that current announces p; empty when nothing needs writing.
func AnnotationPatch(current map[string]string, p Published) map[string]*string {
	want := map[string]string{
		translate.KeyKey:         p.PublicKey.String(),
		translate.GranularityKey: string(p.Granularity),
	}
	if p.InternalIP.IsValid() {
		want[translate.InternalIPKey] = p.InternalIP.String()
	}
	if !p.Endpoint.IsZero() {
		want[translate.EndpointKey] = p.Endpoint.String()
	}
	if p.WireGuardIP.IsValid() {
		want[translate.WireGuardIPKey] = p.WireGuardIP.String()
	}
	if len(p.Discovered) > 0 {
		want[translate.DiscoveredEndpointsKey] = discoveredJSON(p.Discovered)
	}
	if p.HeartbeatInterval > 0 {
		want[translate.HeartbeatIntervalKey] = strconv.FormatInt(int64(p.HeartbeatInterval/time.Second), 10)
	}
	patch := map[string]*string{}
	for k, v := range want {
		if cur, ok := current[k]; !ok || cur != v {
			patch[k] = &v
		}
	}
	for _, k := range []string{translate.InternalIPKey, translate.EndpointKey, translate.WireGuardIPKey, translate.DiscoveredEndpointsKey, translate.HeartbeatIntervalKey} {
		if _, ok := want[k]; !ok {
			if _, has := current[k]; has {
				patch[k] = nil
			}
		}
	}
	seen, err := strconv.ParseInt(current[translate.LastSeenKey], 10, 64)
	if err != nil || p.Now.Sub(time.Unix(seen, 0)) >= p.Refresh || len(patch) > 0 {
		v := strconv.FormatInt(p.Now.Unix(), 10)
		patch[translate.LastSeenKey] = &v
	}
	if len(patch) == 0 {
		return nil
	}
	return patch
}

// discoveredJSON encodes endpoints the way Kilo does (Go's net.UDPAddr),
// so Kilo agents and kgctl agents read each other's.
func discoveredJSON(d map[string]netip.AddrPort) string {
	type udpAddr struct {
		IP   string
		Port int
		Zone string
	}
	out := make(map[string]udpAddr, len(d))
	for _, k := range slices.Sorted(maps.Keys(d)) {
		out[k] = udpAddr{IP: d[k].Addr().String(), Port: int(d[k].Port())}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// Liveness is what the agent needs of a liveness.Tracker.
type Liveness interface {
	// Adjust replaces a node's liveness inputs by the agent's observations.
	Adjust(n *topology.Node)
	// SetEchoGap tells it how long the agent's own heartbeat may take to
	// come back, now that it writes it more or less often.
	SetEchoGap(d time.Duration)
}

// HeartbeatNeeded says why some reader needs this agent's last-seen
// refreshed every resync, or "" when none does and it may be refreshed
// only every --heartbeat-interval. Readers that need it:
//   - a Kilo agent (a node with a key but no kgctl marker,
//     kilo.squat.ai/heartbeat-interval): it drops nodes whose last-seen
//     is a minute old;
//   - every agent while some node of the mesh has no Ready condition:
//     that node's liveness is its heartbeat, aged only up to each
//     agent's own echo, which must come back every resync;
//   - everyone when this agent's own Node is not Ready (kubelet down,
//     agent and tunnels up): its heartbeat is then what keeps it in.
//
// A node whose last-seen is older than the skew tolerance by now has no
// agent reading or writing anything: Node objects left behind by Kilo
// long gone do not keep every agent writing every resync.
func HeartbeatNeeded(nodes []*corev1.Node, self string, now time.Time) string {
	for _, n := range nodes {
		if n.Name == self {
			switch translate.Ready(n).Status {
			case "":
				return "this node has no Ready condition"
			case topology.ReadyTrue:
			default:
				return "this node is not Ready"
			}
			continue
		}
		if n.Annotations[translate.KeyKey] == "" || !recentlySeen(n, now) {
			continue // no agent: not in the mesh, reads nothing
		}
		if _, kgctl := n.Annotations[translate.HeartbeatIntervalKey]; !kgctl {
			return "node " + n.Name + " runs Kilo's agent (no " + translate.HeartbeatIntervalKey + "), which reads last-seen"
		}
		if translate.Ready(n).Status == "" {
			return "node " + n.Name + " has no Ready condition: its liveness is its heartbeat"
		}
	}
	return ""
}

// recentlySeen: the node's last-seen is within the skew tolerance of now.
func recentlySeen(n *corev1.Node, now time.Time) bool {
	s, err := strconv.ParseInt(n.Annotations[translate.LastSeenKey], 10, 64)
	return err == nil && now.Sub(time.Unix(s, 0)) <= liveness.DefaultSkewTolerance
}

// heartbeatMode is how often the agent writes last-seen now, and why.
type heartbeatMode struct {
	every  time.Duration
	reason string
}

// decideHeartbeat picks the heartbeat interval for this reconcile from
// the cluster, logs a change, and tells the tracker how long echoes may
// now take.
func (a *Agent) decideHeartbeat(nodes []*corev1.Node, now time.Time) {
	m := heartbeatMode{every: a.o.ResyncPeriod, reason: HeartbeatNeeded(nodes, a.o.Self.Name, now)}
	if m.reason == "" {
		m.every = max(a.o.HeartbeatInterval, a.o.ResyncPeriod)
		m.reason = "no reader needs it more often"
	}
	if m.every == a.heartbeat.every {
		a.heartbeat.reason = m.reason
		return
	}
	// Every resync is the default (Kilo's): not news at start.
	if a.heartbeat.every != 0 || m.every != a.o.ResyncPeriod {
		a.o.Logger.Info("heartbeat (last-seen)", "every", m.every, "why", m.reason)
	}
	a.heartbeat = m
	if a.o.Liveness != nil {
		// Echoes come back once per interval, give or take a resync.
		a.o.Liveness.SetEchoGap(m.every + 3*a.o.ResyncPeriod/2)
	}
}

// heartbeatRefresh is Published.Refresh: every resync while a reader
// needs it, else at the first resync on or after the interval.
func (a *Agent) heartbeatRefresh() time.Duration {
	half := a.o.ResyncPeriod / 2
	if a.heartbeat.every <= a.o.ResyncPeriod {
		return half
	}
	return a.heartbeat.every - half
}

// adjustLiveness is source.Options.Liveness: nil without a tracker.
func (a *Agent) adjustLiveness() func(*topology.Node) {
	if a.o.Liveness == nil {
		return nil
	}
	return a.o.Liveness.Adjust
}
