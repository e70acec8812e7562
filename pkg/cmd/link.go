package cmd

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/link"
	"github.com/kgctl/kgctl/pkg/source"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
)

func init() { subcommands = append(subcommands, newLinkCommand) }

// LinkOptions are `kgctl link`'s flags: the cluster of --kubeconfig and
// --context ("from") and the one of --to-kubeconfig and --to-context ("to").
type LinkOptions struct {
	Name           string
	ToKubeconfig   string
	ToContext      string
	ServiceCIDRs   []string
	ToServiceCIDRs []string
	Subnet         string
	ToSubnet       string
	TopologyLabel  string
	Only           string
	DryRun         string
	Delete         bool
	Printer        *objectPrinter

	root *Root
	// dialTo connects to the "to" cluster; tests replace it.
	dialTo         func(kubeconfig, context string) (source.Clients, error)
	svc, toSvc     []netip.Prefix
	sides          []string
	subnet, toSubn netip.Prefix
}

// Directions for --only.
const (
	onlyTo   = "to"
	onlyFrom = "from"
)

func newLinkCommand(r *Root) *cobra.Command { return newLinkCommandWith(r, dialKubeconfig) }

func newLinkCommandWith(r *Root, dial func(string, string) (source.Clients, error)) *cobra.Command {
	o := &LinkOptions{root: r, dialTo: dial, Printer: newObjectPrinter("", true)}
	d := topology.DefaultSettings()
	cmd := &cobra.Command{
		Use:   "link",
		Short: "Join two clusters' meshes: each cluster's locations become Peers of the other",
		Long: `Link the cluster of --kubeconfig/--context with the one of --to-kubeconfig/
--to-context, Kilo's multi-cluster recipe in one step: every location of
each cluster becomes a Peer of the other (its leader's key and endpoint,
its pod CIDRs, internal and WireGuard IPs), as "showconf node LEADER
--as-peer" prints it; the first location's Peer also routes the cluster's
--service-cidr (or --to-service-cidr): one Peer per prefix, as the other
mesh requires.

The Peers are labelled ` + link.LabelKey + `=NAME: running it again changes only
what differs, --delete removes exactly what the link created, and a Peer
of the same name that the link did not create is never overwritten. The
two clusters need distinct WireGuard subnets (--subnet, --to-subnet, as
their agents run) and pod CIDRs; the Peers are checked against the other
cluster's mesh before anything is written.`,
		Example: fmt.Sprintf(`  # preview both directions as manifests, then review with plan
  %[1]s link --context a --to-context b --to-subnet 10.6.0.0/16 --dry-run=client -o yaml
  %[1]s link --context a --to-context b --to-subnet 10.6.0.0/16 --only to -o yaml --dry-run=client > b.yaml
  %[1]s plan --context b --subnet 10.6.0.0/16 -f b.yaml
  # link, with the service CIDRs reachable both ways; later, unlink
  %[1]s link --context a --to-context b --to-subnet 10.6.0.0/16 --service-cidr 10.96.0.0/12 --to-service-cidr 10.112.0.0/12
  %[1]s link --context a --to-context b --delete`, r.Name),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Name, "name", "link", "name of the link: label value and prefix of the Peers it creates")
	f.StringVar(&o.ToKubeconfig, "to-kubeconfig", "", "kubeconfig of the other cluster (default: the same as --kubeconfig)")
	f.StringVar(&o.ToContext, "to-context", "", "context of the other cluster in --to-kubeconfig")
	f.StringSliceVar(&o.ServiceCIDRs, "service-cidr", nil, "service CIDRs of the --kubeconfig cluster, made reachable from the other")
	f.StringSliceVar(&o.ToServiceCIDRs, "to-service-cidr", nil, "service CIDRs of the other cluster, made reachable from the --kubeconfig one")
	f.StringVar(&o.Subnet, "subnet", d.Subnet.String(), "WireGuard subnet of the --kubeconfig cluster's agents")
	f.StringVar(&o.ToSubnet, "to-subnet", d.Subnet.String(), "WireGuard subnet of the other cluster's agents")
	f.StringVar(&o.TopologyLabel, "topology-label", translate.DefaultTopologyLabel, "node label holding the location (both clusters)")
	f.StringVar(&o.Only, "only", "", `one direction: "to" changes only the other cluster's Peers, "from" only this one's`)
	f.StringVar(&o.DryRun, "dry-run", dryRunNone, `"none" applies; "client" only prints; "server" asks the API servers to validate every change`)
	registerDryRunCompletion(cmd)
	_ = cmd.RegisterFlagCompletionFunc("only", fixed(onlyTo, onlyFrom))
	f.BoolVar(&o.Delete, "delete", false, "remove the Peers this link created, in both clusters")
	o.Printer.AddFlags(cmd, "one line per Peer and what happened to it")
	return cmd
}

// Complete validates the flags, naming the one at fault.
func (o *LinkOptions) Complete() error {
	if err := link.ValidateName(o.Name); err != nil {
		return fmt.Errorf("--name: %w", err)
	}
	if o.ToKubeconfig == "" && o.ToContext == "" {
		return errors.New("--to-kubeconfig or --to-context: required (the cluster to link with)")
	}
	if o.ToKubeconfig == o.kubeconfig() && o.ToContext == o.context() {
		return fmt.Errorf("--to-kubeconfig %q --to-context %q: the same cluster as --kubeconfig and --context", o.ToKubeconfig, o.ToContext)
	}
	switch o.DryRun {
	case dryRunNone, dryRunClient, dryRunServer:
	default:
		return fmt.Errorf("--dry-run: unknown mode %q: want none, client or server", o.DryRun)
	}
	switch o.Only {
	case "":
		o.sides = []string{onlyTo, onlyFrom}
	case onlyTo, onlyFrom:
		o.sides = []string{o.Only}
	default:
		return fmt.Errorf("--only: %q: want %q or %q", o.Only, onlyTo, onlyFrom)
	}
	var err error
	if o.svc, err = parseCIDRs("--service-cidr", o.ServiceCIDRs); err != nil {
		return err
	}
	if o.toSvc, err = parseCIDRs("--to-service-cidr", o.ToServiceCIDRs); err != nil {
		return err
	}
	if o.subnet, err = netip.ParsePrefix(o.Subnet); err != nil {
		return fmt.Errorf("--subnet: %q is not a CIDR", o.Subnet)
	}
	if o.toSubn, err = netip.ParsePrefix(o.ToSubnet); err != nil {
		return fmt.Errorf("--to-subnet: %q is not a CIDR", o.ToSubnet)
	}
	if o.subnet.Overlaps(o.toSubn) && !o.Delete {
		return fmt.Errorf("--subnet %s and --to-subnet %s overlap: linked clusters need distinct WireGuard subnets (the agents' --subnet)", o.subnet, o.toSubn)
	}
	return o.Printer.Validate()
}

func (o *LinkOptions) kubeconfig() string {
	if k := o.root.Kube; k != nil && k.KubeConfig != nil {
		return *k.KubeConfig
	}
	return ""
}

func (o *LinkOptions) context() string {
	if k := o.root.Kube; k != nil && k.Context != nil {
		return *k.Context
	}
	return ""
}

func parseCIDRs(flag string, in []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range in {
		p, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a CIDR", flag, c)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// side is one cluster of the link.
type side struct {
	label   string
	clients source.Clients
	objs    source.Objects
	opts    source.Options
	mesh    *topology.Mesh
}

func (o *LinkOptions) load(ctx context.Context, label string, clients source.Clients, subnet netip.Prefix, svc []netip.Prefix) (*side, error) {
	objs, err := source.Kube(ctx, clients)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", label, err)
	}
	mf := MeshFlags{Granularity: GranularityAuto, Subnet: subnet.String(), Port: topology.DefaultSettings().Port,
		TopologyLabel: o.TopologyLabel, Now: "live"}
	for _, c := range svc {
		mf.ServiceCIDRs = append(mf.ServiceCIDRs, c.String())
	}
	mf = mf.For(objs.Nodes)
	opts, err := mf.Options()
	if err != nil {
		return nil, err
	}
	m, problems, err := source.Build(objs, opts)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", label, err)
	}
	for _, p := range problems {
		fmt.Fprintf(o.root.Streams.ErrOut, "cluster %s: %s\n", label, p)
	}
	return &side{label: label, clients: clients, objs: objs, opts: opts, mesh: m}, nil
}

// Run reads both clusters, computes each one's Peers for the other,
// checks them against the other's mesh, and applies (or prints) the
// difference with what the link already created.
func (o *LinkOptions) Run(ctx context.Context) error {
	fromC, err := o.root.Clients()
	if err != nil {
		return noCluster(err)
	}
	toPath := o.ToKubeconfig
	if toPath == "" {
		toPath = o.kubeconfig()
	}
	toC, err := o.dialTo(toPath, o.ToContext)
	if err != nil {
		return fmt.Errorf("--to-kubeconfig %q --to-context %q: %w", o.ToKubeconfig, o.ToContext, err)
	}
	from, err := o.load(ctx, "from", fromC, o.subnet, o.svc)
	if err != nil {
		return err
	}
	to, err := o.load(ctx, "to", toC, o.toSubn, o.toSvc)
	if err != nil {
		return err
	}
	// Each direction: the Peers target gets, describing source.
	type direction struct {
		target, source *side
		extra          []netip.Prefix
	}
	dirs := map[string]direction{onlyTo: {to, from, o.svc}, onlyFrom: {from, to, o.toSvc}}
	plans := make([][]link.Change, len(o.sides))
	for i, name := range o.sides {
		d := dirs[name]
		var want []*v1alpha1.Peer
		if !o.Delete {
			want = link.Peers(o.Name, d.source.mesh, d.extra)
			if err := link.Check(d.target.objs, d.target.opts, want); err != nil {
				return fmt.Errorf("cluster %s: %w", d.target.label, err)
			}
		}
		if plans[i], err = link.Diff(o.Name, want, d.target.objs.Peers); err != nil {
			return fmt.Errorf("cluster %s: %w", d.target.label, err)
		}
	}
	for i, name := range o.sides {
		d := dirs[name]
		if o.DryRun != dryRunClient {
			if err := link.Apply(ctx, d.target.clients.Dynamic.Resource(v1alpha1.PeerGVR), plans[i], o.DryRun == dryRunServer); err != nil {
				return fmt.Errorf("cluster %s: %w", d.target.label, err)
			}
		}
		if err := o.print(d.target.label, plans[i]); err != nil {
			return err
		}
	}
	return nil
}

var pastTense = map[link.Action]string{link.Create: "created", link.Update: "updated", link.Delete: "deleted", link.Unchanged: "unchanged"}

// print writes the Peers a cluster gets (with -o) or one line per change.
func (o *LinkOptions) print(cluster string, cs []link.Change) error {
	w := o.root.Streams.Out
	if !o.Printer.Own() {
		yaml := o.Printer.Format() == "yaml"
		for _, c := range cs {
			if c.Action == link.Delete {
				continue
			}
			p := c.Peer.DeepCopy()
			p.ResourceVersion = ""
			// One stream that kubectl apply -f and plan -f read, each
			// Peer saying which cluster it is for.
			if yaml {
				fmt.Fprintf(w, "---\n# for cluster %s (%s)\n", cluster, o.clusterFlags(cluster))
			}
			if err := o.Printer.Print(w, p); err != nil {
				return err
			}
		}
		return nil
	}
	suffix := ""
	if o.DryRun != dryRunNone {
		suffix = fmt.Sprintf(" (dry run: %s)", o.DryRun)
	}
	for _, c := range cs {
		fmt.Fprintf(w, "cluster %s: peer.%s/%s %s%s\n", cluster, v1alpha1.GroupName, c.Peer.Name, pastTense[c.Action], suffix)
	}
	return nil
}

// clusterFlags names the flags that chose a side of the link.
func (o *LinkOptions) clusterFlags(cluster string) string {
	if cluster == "to" {
		return fmt.Sprintf("--to-kubeconfig %q --to-context %q", o.ToKubeconfig, o.ToContext)
	}
	return fmt.Sprintf("--kubeconfig %q --context %q", o.kubeconfig(), o.context())
}

// dialKubeconfig connects to a cluster named by a kubeconfig path (empty:
// the usual $KUBECONFIG and ~/.kube/config) and context.
func dialKubeconfig(path, context string) (source.Clients, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
	if err != nil {
		return source.Clients{}, err
	}
	return source.NewClients(cfg)
}
