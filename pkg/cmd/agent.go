package cmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kgctl/kgctl/internal/heapdump"
	"github.com/kgctl/kgctl/pkg/agent"
	"github.com/kgctl/kgctl/pkg/agent/cni"
	"github.com/kgctl/kgctl/pkg/agent/detect"
	"github.com/kgctl/kgctl/pkg/agent/host"
	"github.com/kgctl/kgctl/pkg/agent/iptables"
	"github.com/kgctl/kgctl/pkg/agent/keyfile"
	"github.com/kgctl/kgctl/pkg/agent/laststate"
	"github.com/kgctl/kgctl/pkg/agent/route"
	"github.com/kgctl/kgctl/pkg/agent/wg"
	"github.com/kgctl/kgctl/pkg/liveness"
	"github.com/kgctl/kgctl/pkg/source"
	"github.com/kgctl/kgctl/pkg/status"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

func init() { subcommands = append(subcommands, newAgentCommand) }

// AgentOptions are `kgctl agent`'s flags, named as Kilo's kg names them
// where they apply.
type AgentOptions struct {
	Hostname       string
	Interface      string
	Port           int
	Subnet         string
	Granularity    string
	Encapsulate    string
	Local          bool
	CNI            bool
	CNIPath        string
	MTU            string
	ResyncPeriod   time.Duration
	Listen         string
	CleanUp        bool
	CreateIface    bool
	InternalCIDRs  []string
	ServiceCIDRs   []string
	TopologyLabel  string
	ForwardRules   bool
	LogLevel       string
	WireGuard      string
	PrivateKeyPath string
	Tunnel         string
	MeshTable      int
	NoIPTables     bool
	// HeartbeatInterval: last-seen refreshed this often when no reader
	// needs it every resync (docs/liveness.md).
	HeartbeatInterval time.Duration
	// Kilo's kg flags with Kilo's meaning.
	PrioritisePrivate bool
	CleanUpIface      bool
	Master            string
	WireGuardMark     uint32
	// Compatibility runs the mesh as an add-on over another cluster
	// network (--compatibility, as Kilo's kg).
	Compatibility string
	// ClockOffset shifts the agent's clock (tests of clock skew between
	// nodes sharing one kernel clock); hidden.
	ClockOffset time.Duration
	// ProbeInterval and ProbeTimeout drive leader failover on a dead
	// data path (docs/failover.md).
	ProbeInterval time.Duration
	ProbeTimeout  time.Duration

	root     *Root
	settings topology.Settings
	mode     wg.Mode
	compat   agent.Compatibility
	internal []netip.Prefix
	mtu      int
	logger   *slog.Logger
}

// DefaultWireGuardMark is --wireguard-mark's default: clear of
// kube-proxy's 0x4000 and 0x8000, Calico's and Tailscale's upper bits and
// Cilium's and Istio's low magic values; matched exactly.
const DefaultWireGuardMark = 0x1000

func newAgentCommand(r *Root) *cobra.Command { return agentCommand(&AgentOptions{root: r}) }

// agentCommand builds the command around o, so tests can read o back.
func agentCommand(o *AgentOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the mesh agent on this node (the DaemonSet's command)",
		Long: `Run the mesh agent: keep this node's WireGuard device, routes, rules and
iptables rules equal to its view of the mesh, and publish its key, endpoint
and internal IP as Kilo's node annotations. Without a WireGuard kernel
module it runs WireGuard in-process (--wireguard=auto|userspace).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	d := topology.DefaultSettings()
	host, _ := os.Hostname()
	f := cmd.Flags()
	f.StringVar(&o.Hostname, "hostname", host, "name of this node's Node object")
	f.StringVar(&o.Interface, "interface", "kilo0", "name of the WireGuard interface")
	f.IntVar(&o.Port, "port", d.Port, "WireGuard listen port")
	f.StringVar(&o.Subnet, "subnet", d.Subnet.String(), "CIDR from which WireGuard IPs are allocated")
	f.StringVar(&o.Granularity, "mesh-granularity", string(d.Granularity), "how nodes are grouped: location, full or cross")
	f.StringVar(&o.Encapsulate, "encapsulate", string(topology.EncapsulateAlways), "IPIP-encapsulate traffic inside a location: never, crosssubnet or always")
	f.BoolVar(&o.Local, "local", true, "route between the nodes of a location (rather than leaving it to the CNI)")
	f.BoolVar(&o.CNI, "cni", true, "manage the CNI configuration and masquerade pod traffic leaving the mesh")
	f.StringVar(&o.CNIPath, "cni-path", "/etc/cni/net.d/10-kilo.conflist", "where to write the CNI configuration")
	f.StringVar(&o.MTU, "mtu", "auto", `MTU of the WireGuard interface, or "auto" (private interface's MTU minus 80)`)
	f.DurationVar(&o.ResyncPeriod, "resync-period", 30*time.Second, "how often to re-apply everything and refresh last-seen")
	f.DurationVar(&o.HeartbeatInterval, "heartbeat-interval", 10*time.Minute, "how often to refresh last-seen when no reader needs it every resync (no Kilo agent in the cluster, every node has a Ready condition); at most --resync-period: every resync, as Kilo")
	f.StringVar(&o.Listen, "listen", ":1107", "address for /metrics, /health and /graph (empty disables)")
	f.BoolVar(&o.CleanUp, "clean-up", false, "on shutdown, remove everything the agent created (for removing the node; a plain restart keeps the data plane)")
	f.BoolVar(&o.CreateIface, "create-interface", true, "create the WireGuard interface if it does not exist")
	f.StringSliceVar(&o.InternalCIDRs, "internal-cidr", nil, "CIDRs in which to look for the internal IP (default: the default route's address)")
	f.StringSliceVar(&o.ServiceCIDRs, "service-cidr", nil, "the cluster's service CIDRs: never masqueraded")
	f.StringVar(&o.TopologyLabel, "topology-label", translate.DefaultTopologyLabel, "node label holding the location")
	f.BoolVar(&o.ForwardRules, "iptables-forward-rules", false, "add FORWARD ACCEPT rules for pod traffic (hosts whose FORWARD policy is DROP)")
	f.StringVar(&o.LogLevel, "log-level", "info", "all, debug, info, warn, error or none (Kilo's levels)")
	f.StringVar(&o.WireGuard, "wireguard", string(wg.ModeAuto), "WireGuard implementation: kernel, userspace (in-process) or auto")
	_ = cmd.RegisterFlagCompletionFunc("mesh-granularity", fixed("location", "full", "cross"))
	_ = cmd.RegisterFlagCompletionFunc("encapsulate", fixed("never", "crosssubnet", "always"))
	_ = cmd.RegisterFlagCompletionFunc("log-level", fixed("all", "debug", "info", "warn", "error", "none"))
	_ = cmd.RegisterFlagCompletionFunc("wireguard", fixed("auto", "kernel", "userspace"))
	f.StringVar(&o.PrivateKeyPath, "private-key", "/var/lib/kilo/key", "file holding this node's WireGuard private key (created 0600 if missing)")
	f.StringVar(&o.Tunnel, "tunnel-interface", route.FallbackIPIP, "name of the IPIP interface used when encapsulating")
	f.IntVar(&o.MeshTable, "route-table", 1107, "routing table for the mesh's routes (the next one holds encapsulation routes)")
	f.BoolVar(&o.NoIPTables, "no-iptables", false, "do not manage iptables rules")
	f.BoolVar(&o.PrioritisePrivate, "prioritise-private-addresses", false, "publish the internal IP as the node's endpoint even when it has a public one (Kilo's kg flag)")
	f.BoolVar(&o.CleanUpIface, "clean-up-interface", false, "on shutdown, delete the WireGuard interface (also done by --clean-up; Kilo's kg flag)")
	f.StringVar(&o.Master, "master", "", "address of the Kubernetes API server, overriding the kubeconfig's (Kilo's kg flag; same as --server)")
	f.Var(newHexUint32(&o.WireGuardMark, DefaultWireGuardMark), "wireguard-mark", "firewall mark on WireGuard's own packets (kube-proxy uses 0x4000 and 0x8000): a rule sends them to the main table so they never take the mesh's routes; 0 disables")
	f.StringVar(&o.Compatibility, "compatibility", "", "run on top of another cluster network (add-on mode): flannel")
	f.DurationVar(&o.ProbeInterval, "probe-interval", 2*time.Second, "how often a leader probes the other locations' leaders through WireGuard and samples its tunnels (0 disables probes and leader failover)")
	f.DurationVar(&o.ProbeTimeout, "probe-timeout", 10*time.Second, "a probed tunnel that received nothing for this long is down; a leader that received nothing from any other leader for this long gives up leading when another leader confirms (docs/failover.md)")
	f.DurationVar(&o.ClockOffset, "debug-clock-offset", 0, "shift the agent's clock (for testing clock skew)")
	_ = f.MarkHidden("debug-clock-offset")
	return cmd
}

// Complete validates the flags into settings, naming the flag at fault.
func (o *AgentOptions) Complete() error {
	var err error
	if o.logger, err = newLogger(o.root.Streams.ErrOut, o.LogLevel); err != nil {
		return err
	}
	if o.Master != "" {
		if o.root.Kube.APIServer != nil && *o.root.Kube.APIServer != "" && *o.root.Kube.APIServer != o.Master {
			return fmt.Errorf("--master %q and --server %q disagree: give one", o.Master, *o.root.Kube.APIServer)
		}
		o.root.Kube.APIServer = &o.Master
	}
	mf := MeshFlags{Granularity: o.Granularity, Subnet: o.Subnet, Port: o.Port, TopologyLabel: o.TopologyLabel, ServiceCIDRs: o.ServiceCIDRs, Now: "live"}
	s, err := mf.Settings()
	if err != nil {
		return err
	}
	enc, err := topology.ParseEncapsulation(o.Encapsulate)
	if err != nil {
		return fmt.Errorf("--encapsulate: %w", err)
	}
	s.Encapsulate, s.Local = enc, o.Local
	if o.compat, err = agent.ParseCompatibility(o.Compatibility); err != nil {
		return fmt.Errorf("--compatibility: %w", err)
	}
	s = o.compat.Settings(s)
	s.StaleAfter = max(time.Minute, 2*o.ResyncPeriod)
	o.settings = s
	if o.mode, err = wg.ParseMode(o.WireGuard); err != nil {
		return fmt.Errorf("--wireguard: %w", err)
	}
	for _, c := range o.InternalCIDRs {
		p, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			return fmt.Errorf("--internal-cidr: %q is not a CIDR", c)
		}
		o.internal = append(o.internal, p)
	}
	if o.MTU != "auto" {
		if o.mtu, err = strconv.Atoi(o.MTU); err != nil || o.mtu < 1280 || o.mtu > 9000 {
			return fmt.Errorf("--mtu: %q: want \"auto\" or 1280-9000", o.MTU)
		}
	}
	if o.Hostname == "" {
		return errors.New("--hostname: required")
	}
	if o.ResyncPeriod < time.Second {
		return fmt.Errorf("--resync-period: %s is too short (at least 1s)", o.ResyncPeriod)
	}
	if o.HeartbeatInterval < 0 {
		return fmt.Errorf("--heartbeat-interval: %s is negative", o.HeartbeatInterval)
	}
	if o.ProbeInterval != 0 && o.ProbeInterval < 100*time.Millisecond {
		return fmt.Errorf("--probe-interval: %s: want 0 (off) or at least 100ms", o.ProbeInterval)
	}
	if o.ProbeInterval > 0 && o.ProbeTimeout < 2*o.ProbeInterval {
		return fmt.Errorf("--probe-timeout: %s: want at least twice --probe-interval (%s)", o.ProbeTimeout, o.ProbeInterval)
	}
	return nil
}

// Run starts the agent and blocks until SIGINT/SIGTERM.
func (o *AgentOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := o.logger
	heapdump.OnSignal(ctx, log)

	key, created, err := keyfile.LoadOrCreate(o.PrivateKeyPath, nil)
	if err != nil {
		return err
	}
	if created {
		log.Info("generated a new WireGuard key", "path", o.PrivateKeyPath, "public", key.PublicKey().String())
	}
	facts, err := detect.Host(detect.Options{InternalCIDRs: o.internal, Skip: []string{o.Interface, o.Tunnel, agent.FlannelInterface}})
	if err != nil {
		return err
	}
	endpoint := wireguard.Endpoint{Addr: facts.InternalIP.Addr(), Port: uint16(o.Port)}
	if facts.PublicIP.IsValid() && !(o.PrioritisePrivate && facts.InternalIP.IsValid()) {
		endpoint.Addr = facts.PublicIP
	}
	if o.mtu == 0 {
		o.mtu = detect.MTU(facts.PrivateInterface)
	}
	log.Info("host", "privateInterface", facts.PrivateInterface, "internalIP", facts.InternalIP, "endpoint", endpoint.String(), "mtu", o.mtu)

	cfg, err := o.root.Kube.ToRESTConfig()
	if err != nil {
		return fmt.Errorf("kubernetes config: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	watcher := source.NewWatcher(cs, dc, disc, 0)
	// Liveness from what this agent observes, on its own clock: see
	// pkg/liveness. Its own heartbeat is written every resync period.
	now := func() time.Time { return time.Now().Add(o.ClockOffset) }
	alive := liveness.New(liveness.Options{
		Self: o.Hostname, StaleAfter: o.settings.StaleAfter, EchoGap: 5 * o.ResyncPeriod / 2, Now: now,
	})
	watcher.ObserveNodes(alive)
	// A Peer that does not decode is left out and logged once, not fatal.
	watcher.LogPeerProblems(log)
	if !watcher.PeersAvailable {
		log.Warn("the Peer CRD (peers.kilo.squat.ai) is not installed: no peers; restart the agent after installing it")
	}
	if !o.CreateIface {
		if _, err := net.InterfaceByName(o.Interface); err != nil {
			return fmt.Errorf("--create-interface=false but %s does not exist", o.Interface)
		}
	}
	dev, err := wg.Open(ctx, wg.Options{Name: o.Interface, Mode: o.mode, MTU: o.mtu, FirewallMark: o.WireGuardMark, Logger: log.With("component", "wireguard")})
	if err != nil {
		return err
	}
	log.Info("wireguard device", "interface", o.Interface, "mode", dev.Mode())
	h := &host.Linux{
		Device:     dev,
		Routes:     route.New(route.Options{Table: o.MeshTable, OwnedLinks: []string{o.Interface}, Protocol: route.DefaultProtocol}),
		IPTables:   iptables.New(iptables.Options{Families: ipFamilies()}),
		NoIPTables: o.NoIPTables,
	}
	defer func() {
		if o.CleanUp {
			if err := h.CleanUp(context.Background(), o.Tunnel); err != nil {
				log.Error("clean-up", "err", err)
			} else {
				log.Info("cleaned up")
			}
		} else if o.CleanUpIface {
			if err := dev.Delete(); err != nil {
				log.Error("clean-up-interface", "interface", o.Interface, "err", err)
			}
		} else {
			dev.Close()
		}
	}()

	metrics := agent.NewMetrics()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := metrics.Register(reg); err != nil {
		return err
	}
	if o.Listen != "" {
		srv := o.serve(reg, metrics)
		defer srv.Shutdown(context.Background())
	}
	// An embedded device went away with the previous process: bring back
	// its last peers and routes before listing the cluster (seconds on a
	// busy API server), so the node's own traffic barely notices a restart.
	saved := &laststate.Writer{Path: filepath.Join(filepath.Dir(o.PrivateKeyPath), "kgctl-state.json")}
	if dev.Mode() == wg.ModeUserspace {
		if ok, err := h.Restore(ctx, key, saved.Path); err != nil {
			log.Warn("restoring the last applied state", "path", saved.Path, "err", err)
		} else if ok {
			log.Info("restored the last applied WireGuard peers and routes", "path", saved.Path)
		}
	}
	if err := watcher.Start(ctx, 2*time.Minute); err != nil {
		return err
	}

	a, err := agent.New(agent.Options{
		Self:     agent.Self{Name: o.Hostname, PrivateKey: key, InternalIP: facts.InternalIP, Endpoint: endpoint},
		Settings: o.settings,
		Node:     translate.NodeOptions{TopologyLabel: o.TopologyLabel},
		Host: agent.HostConfig{
			Interface: o.Interface, PrivateInterface: facts.PrivateInterface, Tunnel: o.Tunnel,
			MeshTable: o.MeshTable, EncapTable: o.MeshTable + 1, EncapPriority: route.DefaultRulePriority - 1,
			FirewallMark: o.WireGuardMark, MarkPriority: route.DefaultRulePriority - 2,
			CNI: o.CNI, ForwardRules: o.ForwardRules && o.CNI, Compatibility: o.compat,
		},
		Cluster:      watcher,
		Publisher:    source.NewPublisher(cs, "kgctl-agent"),
		Data:         h,
		ResyncPeriod: o.ResyncPeriod,
		Liveness:     alive,
		Now:          now,
		Logger:       log,
		Metrics:      metrics,
		WriteCNI:     o.cniWriter(),
		Saved:        host.Saver(saved),
		Probe:        agent.ProbeOptions{Interval: o.ProbeInterval, Timeout: o.ProbeTimeout},
		// Rarely when nobody needs it: the watch then carries changes.
		HeartbeatInterval: o.HeartbeatInterval,
	})
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// serve exposes /metrics, /health (200 after the first full apply) and
// /graph (the mesh of the last reconcile).
func (o *AgentOptions) serve(reg *prometheus.Registry, m *agent.Metrics) *http.Server {
	mux := status.Handler(status.Options{Gatherer: reg, Ready: m.Ready(), Mesh: func() (*topology.Mesh, error) {
		if mesh := m.Mesh(); mesh != nil {
			return mesh, nil
		}
		return nil, errors.New("no mesh computed yet")
	}})
	srv := &http.Server{Addr: o.Listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			o.logger.Error("metrics server", "err", err)
		}
	}()
	return srv
}

// cniWriter writes the CNI bridge configuration when --cni is set.
func (o *AgentOptions) cniWriter() func([]netip.Prefix) error {
	if !o.CNI {
		return nil
	}
	return func(pods []netip.Prefix) error {
		changed, err := cni.Write(o.CNIPath, cni.Config{PodCIDRs: pods, MTU: o.mtu})
		if changed {
			o.logger.Info("wrote CNI configuration", "path", o.CNIPath, "podCIDRs", pods)
		}
		return err
	}
}

// ipFamilies are the families iptables is managed for: IPv6 only where
// the kernel has it, so a host with IPv6 disabled gets no error per resync.
func ipFamilies() []iptables.Family {
	if !detect.IPv6() {
		return []iptables.Family{iptables.IPv4}
	}
	return []iptables.Family{iptables.IPv4, iptables.IPv6}
}
