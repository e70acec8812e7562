package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kgctl/kgctl/pkg/source"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// Cluster is the agent's view of the cluster: a cache and its changes.
type Cluster interface {
	Objects() source.Objects
	Changed() <-chan struct{}
}

// Publisher writes the node's state back to the cluster.
type Publisher interface {
	Annotate(ctx context.Context, node string, annotations map[string]*string) error
	Event(node, reason, message string)
}

// Host is the node's data plane. Apply may be called again with the same
// state at no cost (no writes). It applies each part on its own: a part
// that fails is in the result's Errors, and the others still converge.
type Host interface {
	Apply(ctx context.Context, s State) HostResult
	// EnsureTunnel makes the IPIP tunnel named name exist and be up. An
	// error means the host cannot encapsulate now (no ipip in its kernel,
	// say): the agent then routes without encapsulation and asks again on
	// every reconcile.
	EnsureTunnel(ctx context.Context, name string) error
	// Discovered returns endpoints WireGuard learned for peers that
	// handshook within maxAge, keyed by base64 public key. The device
	// stamps handshakes on the host's clock, so the age is measured on it,
	// never on the agent's injected one.
	Discovered(maxAge time.Duration) (map[string]netip.AddrPort, error)
}

// HostResult counts what one Apply wrote, and says which parts failed.
type HostResult struct {
	WireGuardWrites, RouteWrites, IPTablesWrites int
	Peers                                        int
	Errors                                       PartErrors
}

// Writes is the total number of writes to the host.
func (r HostResult) Writes() int { return r.WireGuardWrites + r.RouteWrites + r.IPTablesWrites }

// Self is what the node knows about itself before reading the cluster.
type Self struct {
	Name       string
	PrivateKey wireguard.Key
	// InternalIP and Endpoint are what the host detection found; the
	// node's force-* annotations override them when the mesh is built.
	InternalIP netip.Prefix
	Endpoint   wireguard.Endpoint
}

// Options configure an Agent.
type Options struct {
	Self      Self
	Settings  topology.Settings
	Node      translate.NodeOptions
	Host      HostConfig
	Cluster   Cluster
	Publisher Publisher
	Data      Host
	// ResyncPeriod re-applies everything and refreshes last-seen.
	ResyncPeriod time.Duration
	// HeartbeatInterval is how often last-seen is refreshed when no
	// reader needs it every resync (see HeartbeatNeeded); at most
	// ResyncPeriod means every resync, as Kilo.
	HeartbeatInterval time.Duration
	// Debounce coalesces bursts of cluster events into one reconcile.
	Debounce time.Duration
	// Liveness gives each node's liveness from the agent's own
	// observations (a liveness.Tracker fed by the watch); nil trusts the
	// annotation and the Ready condition's time against Now, which a
	// frozen cache or a skewed clock fools.
	Liveness Liveness
	Now      func() time.Time
	Logger   *slog.Logger
	Metrics  *Metrics
	// WriteCNI, when set (--cni), writes the CNI configuration for the
	// node's pod CIDRs. It is called whenever they change, not only at
	// start: a node often gets its pod CIDR after its agent starts.
	WriteCNI func(podCIDRs []netip.Prefix) error
	// Saved, when set, is given every state whose WireGuard peers and
	// routes converged: a restarted agent restores it before it has
	// listed the cluster (see laststate). It should write only on change.
	Saved func(State) error
	// Probe drives the probes and leader failover (probe.go, failover.go).
	Probe ProbeOptions
}

// Agent reconciles one node.
type Agent struct {
	o          Options
	publicKey  wireguard.Key
	lastEvents string
	// configured are the endpoints the last mesh's nodes and peers
	// announce, by public key: an endpoint WireGuard learned that differs
	// from the announced one was learned through NAT, and is published
	// for the other nodes (discovered-endpoints).
	configured map[string]wireguard.Endpoint
	// cniFor are the pod CIDRs the CNI configuration was last written for.
	cniFor []netip.Prefix
	parts  partReporter
	// health is the tunnels' status, published on change (health.go).
	health healthReport
	// builds keeps the last mesh and skips the engine when its inputs
	// did not change (buildcache.go).
	builds buildCache
	// heartbeat is how often last-seen is written now, and why.
	heartbeat heartbeatMode
	// mesh, view and names are the last reconcile's, for the probe tick.
	mesh  *topology.Mesh
	view  topology.NodeView
	names map[string]string
	// failover is the demoted flag (failover.go).
	failover     failoverState
	lastNoDemote string
	probeFailed  bool
	// probes holds back probes to silent leaders (probegate.go).
	probes probeGate
}

// New checks the options; it touches nothing.
func New(o Options) (*Agent, error) {
	switch {
	case o.Self.Name == "":
		return nil, errors.New("agent: --hostname is required")
	case o.Cluster == nil || o.Publisher == nil || o.Data == nil:
		return nil, errors.New("agent: cluster, publisher and host are required")
	}
	if err := o.Settings.Validate(); err != nil {
		return nil, err
	}
	if o.ResyncPeriod <= 0 {
		o.ResyncPeriod = 30 * time.Second
	}
	if o.Debounce <= 0 {
		o.Debounce = 200 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	if o.Probe.Interval > 0 && o.Probe.Timeout <= 0 {
		o.Probe.Timeout = 5 * o.Probe.Interval
	}
	// Deriving the public key is a scalar multiplication: once, not per reconcile.
	return &Agent{o: o, publicKey: o.Self.PrivateKey.PublicKey()}, nil
}

// Run reconciles on every cluster change (debounced) and every resync
// period until ctx ends. A failed reconcile is retried on the next
// trigger; the data plane keeps its last applied state meanwhile.
func (a *Agent) Run(ctx context.Context) error {
	resync := time.NewTicker(a.o.ResyncPeriod)
	defer resync.Stop()
	var debounce <-chan time.Time
	var probe <-chan time.Time
	if a.o.Probe.Interval > 0 {
		if a.o.Probe.Prober == nil {
			p, err := NewUDPProber()
			if err != nil {
				return fmt.Errorf("probe socket: %w", err)
			}
			defer p.Close()
			a.o.Probe.Prober = p
		}
		t := time.NewTicker(a.o.Probe.Interval)
		defer t.Stop()
		probe = t.C
	}
	reconcile := func(why string) {
		if err := a.Reconcile(ctx); err != nil && ctx.Err() == nil {
			a.o.Logger.Error("reconcile failed", "trigger", why, "err", err)
		}
	}
	reconcile("start")
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-a.o.Cluster.Changed():
			if debounce == nil {
				debounce = time.After(a.o.Debounce)
			}
		case <-debounce:
			debounce = nil
			reconcile("change")
		case <-resync.C:
			reconcile("resync")
		case <-probe:
			a.probeTick(ctx)
		}
	}
}

// Reconcile makes the host and the node's annotations match the cluster once.
func (a *Agent) Reconcile(ctx context.Context) (err error) {
	start := a.o.Now()
	defer func() { a.o.Metrics.observe(a.o.Now().Sub(start), err) }()

	objs := a.o.Cluster.Objects()
	i := slices.IndexFunc(objs.Nodes, func(n *corev1.Node) bool { return n.Name == a.o.Self.Name })
	if i < 0 {
		// Never prune on a missing node: the cache may be behind.
		return fmt.Errorf("node %q not found in the cluster (check --hostname)", a.o.Self.Name)
	}
	current := objs.Nodes[i].Annotations
	settings := a.o.Settings
	settings.Now = start
	a.decideHeartbeat(objs.Nodes, start)
	a.loadFailover(current)
	a.renderStatus()

	// Build with our own annotations as we are about to publish them, so
	// the first reconcile does not wait for the patch's round trip.
	pub := a.published(start)
	objs.Nodes = slices.Clone(objs.Nodes)
	objs.Nodes[i] = withAnnotations(objs.Nodes[i], a.statusOverlay(current, AnnotationPatch(current, pub)))
	m, problems, err := a.builds.build(objs, source.Options{Settings: settings, Node: a.o.Node, Liveness: a.adjustLiveness()})
	if err != nil {
		return err
	}
	a.reportOwnProblems(problems)
	a.o.Metrics.meshed(m)
	view, ok := m.NodeView(a.o.Self.Name)
	if m != a.mesh || a.names == nil {
		a.names = peerNames(m)
	}
	a.mesh, a.view = m, view
	var errs PartErrors
	if ok {
		a.clearIfLeading(view)
		pub.WireGuardIP = view.WireGuardIP
		res := a.apply(ctx, a.builds.desiredState(m, view, a.o.Self.PrivateKey, a.o.Host))
		a.o.Metrics.applied(res, view.Leader, len(view.WireGuard.Peers))
		if res.Writes() > 0 {
			a.o.Logger.Info("applied", "wireguard", res.WireGuardWrites, "routes", res.RouteWrites, "iptables", res.IPTablesWrites, "peers", len(view.WireGuard.Peers), "leader", view.Leader)
		}
		errs = res.Errors
		a.sampleHealth(m, view, res.Errors[PartWireGuard] == nil, start)
	}
	a.configured = configuredEndpoints(m)
	errs.Set(PartCNI, a.writeCNI(m))
	// Failing parts are reported once per change, not returned: a resync
	// failing the same way is not news, and the other parts converged.
	a.reportParts(errs)
	return a.publish(ctx, current, pub)
}

// apply applies want, without encapsulation when the host cannot
// encapsulate (asked again on every reconcile, so the tunnel is used as
// soon as it appears).
func (a *Agent) apply(ctx context.Context, want State) HostResult {
	var tunnelErr error
	if want.Tunnel != "" {
		if tunnelErr = a.o.Data.EnsureTunnel(ctx, want.Tunnel); tunnelErr != nil {
			want = want.On(a.o.Host, Capabilities{})
		}
	}
	res := a.o.Data.Apply(ctx, want)
	res.Errors.Set(PartTunnel, tunnelErr)
	if a.o.Saved != nil && res.Errors[PartWireGuard] == nil && res.Errors[PartRoutes] == nil {
		if err := a.o.Saved(want); err != nil {
			a.o.Logger.Warn("saving the applied state for a fast restart", "err", err)
		}
	}
	return res
}

// writeCNI keeps the CNI configuration in step with the node's pod
// CIDRs; a failure is retried on the next reconcile.
func (a *Agent) writeCNI(m *topology.Mesh) error {
	if a.o.WriteCNI == nil {
		return nil
	}
	n, ok := m.Node(a.o.Self.Name)
	if !ok || len(n.PodCIDRs) == 0 || slices.Equal(n.PodCIDRs, a.cniFor) {
		return nil
	}
	if err := a.o.WriteCNI(n.PodCIDRs); err != nil {
		return err
	}
	a.cniFor = slices.Clone(n.PodCIDRs)
	return nil
}

func (a *Agent) published(now time.Time) Published {
	var discovered map[string]netip.AddrPort
	if d, err := a.o.Data.Discovered(3 * time.Minute); err == nil {
		discovered = learned(d, a.configured)
	}
	return Published{
		PublicKey:   a.publicKey,
		InternalIP:  a.o.Self.InternalIP,
		Endpoint:    a.o.Self.Endpoint,
		Granularity: a.o.Settings.Granularity,
		Discovered:  discovered,
		Now:         now,
		Refresh:     a.heartbeatRefresh(),
		// The kgctl marker, and what its readers may expect.
		HeartbeatInterval: max(a.o.HeartbeatInterval, a.o.ResyncPeriod),
	}
}

func (a *Agent) publish(ctx context.Context, current map[string]string, p Published) error {
	patch := a.statusPatch(current, AnnotationPatch(current, p))
	if patch == nil {
		return nil
	}
	a.o.Metrics.Patches.Inc()
	return a.o.Publisher.Annotate(ctx, a.o.Self.Name, patch)
}

// reportOwnProblems turns problems with this node's annotations into
// Events on its Node, once per distinct set.
func (a *Agent) reportOwnProblems(ps topology.Problems) {
	var msgs []string
	for _, p := range ps {
		if p.Kind == "Node" && p.Name == a.o.Self.Name {
			msgs = append(msgs, p.String())
		}
	}
	joined := strings.Join(msgs, "\n")
	if joined == a.lastEvents {
		return
	}
	a.lastEvents = joined
	for _, m := range msgs {
		a.o.Logger.Warn("node annotation problem", "problem", m)
	}
	// One Event for the set: the events API folds Events of one reason
	// on one object sent together into a series, keeping one message.
	if len(msgs) > 0 {
		a.o.Publisher.Event(a.o.Self.Name, "InvalidAnnotation", joined)
	}
}

// learned keeps the endpoints WireGuard learned that differ from the
// announced ones: those are where NATed peers are really reachable. It
// compares with what nodes announce, not with the endpoints last applied
// (which already use discovered ones), so a discovery stays published.
func learned(seen map[string]netip.AddrPort, configured map[string]wireguard.Endpoint) map[string]netip.AddrPort {
	out := make(map[string]netip.AddrPort)
	for k, ap := range seen {
		if e, ok := configured[k]; ok && (e.Addr != ap.Addr() || e.Port != ap.Port()) {
			out[k] = ap
		}
	}
	return out
}

// configuredEndpoints maps every segment leader's and peer's public key
// to the endpoint it announces.
func configuredEndpoints(m *topology.Mesh) map[string]wireguard.Endpoint {
	out := make(map[string]wireguard.Endpoint, len(m.Segments)+len(m.Peers))
	for i := range m.Segments {
		l := m.Segments[i].LeaderNode()
		out[l.Key.String()] = l.Endpoint
	}
	for _, p := range m.Peers {
		out[p.PublicKey.String()] = p.Endpoint
	}
	return out
}

// withAnnotations returns a copy of n with a patch applied.
func withAnnotations(n *corev1.Node, patch map[string]*string) *corev1.Node {
	if len(patch) == 0 {
		return n
	}
	c := n.DeepCopy()
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	for k, v := range patch {
		if v == nil {
			delete(c.Annotations, k)
		} else {
			c.Annotations[k] = *v
		}
	}
	return c
}
