package cmd

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

func init() { subcommands = append(subcommands, newShowconfCommand) }

// ShowconfOptions are the options of `showconf node|peer NAME`.
type ShowconfOptions struct {
	Mesh       MeshFlags
	Printer    *objectPrinter
	AsPeer     bool
	AllowedIPs []string

	kind, name string
	allowed    []netip.Prefix
	root       *Root
}

func newShowconfCommand(r *Root) *cobra.Command {
	o := &ShowconfOptions{root: r, Printer: newObjectPrinter("ini", true, "ini")}
	cmd := &cobra.Command{
		Use:   "showconf (node|peer) NAME",
		Short: "Show the WireGuard configuration a node or peer gets",
		Long: `Show the WireGuard configuration a node or a peer gets from the mesh, in the
format of "wg setconf" (default), JSON or YAML. The private key is never shown.`,
		Example: fmt.Sprintf(`  # The config aws-2 applies, from the shipped example
  %[1]s showconf node aws-2 -f testdata/example
  # The config for a VPN client
  %[1]s showconf peer laptop -f testdata/example
  # Another cluster's view of aws-1's location (multi-cluster services)
  %[1]s showconf node aws-1 --as-peer -o yaml --allowed-ips 10.96.0.0/12`, r.Name),
		ValidArgsFunction: r.completeKindName(&o.Mesh.Files),
		Args:              cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	o.Mesh.AddFlags(cmd.Flags())
	registerMeshCompletions(cmd)
	o.Printer.AddFlags(cmd, "")
	cmd.Flags().BoolVar(&o.AsPeer, "as-peer", false, "print the node's location as a [Peer] section (a Peer manifest with -o yaml/json)")
	cmd.Flags().StringSliceVar(&o.AllowedIPs, "allowed-ips", nil, "extra CIDRs to add to the allowed IPs with --as-peer (e.g. the service CIDR)")
	return cmd
}

// Complete reads the positional arguments.
func (o *ShowconfOptions) Complete(args []string) error {
	o.kind, o.name = args[0], args[1]
	if o.Printer.Format() == "wireguard" { // Kilo's kgctl name for ini
		*o.Printer.flags.OutputFormat = "ini"
	}
	for _, s := range o.AllowedIPs {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("--allowed-ips: %q is not a CIDR", s)
		}
		o.allowed = append(o.allowed, p.Masked())
	}
	return nil
}

// Validate checks the options without reading anything.
func (o *ShowconfOptions) Validate() error {
	switch o.kind {
	case "node", "peer":
	default:
		return fmt.Errorf("unknown kind %q: want node or peer", o.kind)
	}
	if err := o.Printer.Validate(); err != nil {
		return err
	}
	if o.Printer.Format() == "name" && !o.AsPeer {
		return fmt.Errorf("--output: %q applies to --as-peer (a Peer object) only", "name")
	}
	if o.AsPeer && o.kind != "node" {
		return fmt.Errorf("--as-peer applies to nodes only")
	}
	if len(o.allowed) > 0 && !o.AsPeer {
		return fmt.Errorf("--allowed-ips needs --as-peer")
	}
	return nil
}

// Run computes the mesh and prints the configuration.
func (o *ShowconfOptions) Run(cmd *cobra.Command) error {
	m, problems, err := o.root.LoadMesh(cmd.Context(), &o.Mesh)
	if err != nil {
		return err
	}
	failed := reportProblems(o.root.Streams.ErrOut, problems)
	if err := o.print(m); err != nil {
		return err
	}
	if failed {
		return errSilent
	}
	return nil
}

func (o *ShowconfOptions) print(m *topology.Mesh) error {
	w := o.root.Streams.Out
	if o.kind == "peer" {
		c, ok := m.PeerConfig(o.name)
		if !ok {
			return notInMesh("Peer", o.name, m)
		}
		c.Interface.Address = nil
		return o.writeConfig(w, c)
	}
	if o.AsPeer {
		p, ok := m.AsPeer(o.name)
		if !ok {
			return notInMesh("Node", o.name, m)
		}
		p.AllowedIPs = append(append([]netip.Prefix(nil), p.AllowedIPs...), o.allowed...)
		if o.Printer.Own() {
			b := bufio.NewWriter(w)
			wireguard.WritePeer(b, p)
			return b.Flush()
		}
		return o.Printer.Print(w, translate.PeerResource(p.Name, p))
	}
	c, ok := m.NodeConfig(o.name)
	if !ok {
		return notInMesh("Node", o.name, m)
	}
	o.sayLeader(m)
	return o.writeConfig(w, c)
}

// sayLeader tells on stderr that a follower's configuration is not the
// one its location shows other clusters (Kilo says "is not a leader node").
func (o *ShowconfOptions) sayLeader(m *topology.Mesh) {
	seg, leader, ok := m.SegmentOf(o.name)
	if !ok || leader {
		return
	}
	fmt.Fprintf(o.root.Streams.ErrOut, "note: Node %q is not the leader of location %q; %q leads it\n", o.name, seg.Name, seg.LeaderNode().Name)
}

// notInMesh explains why a name has no configuration: the problem that
// left it out (an error, or the warning of a node whose agent has not
// started), else that there is no such object.
func notInMesh(kind, name string, m *topology.Mesh) error {
	var found *topology.Problem
	for i, p := range m.Problems {
		if p.Kind != kind || p.Name != name {
			continue
		}
		if p.Severity == topology.Error {
			found = &m.Problems[i]
			break
		}
		if found == nil && strings.Contains(p.Message, "left out") {
			found = &m.Problems[i]
		}
	}
	if found != nil {
		return fmt.Errorf("%s %q is not in the mesh: %s", kind, name, found.Message)
	}
	return fmt.Errorf("%s %q not found", kind, name)
}

func (o *ShowconfOptions) writeConfig(w io.Writer, c wireguard.Config) error {
	if o.Printer.Own() {
		return wireguard.WriteSetconf(w, c)
	}
	return o.Printer.Print(w, c)
}
