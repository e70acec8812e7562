package cmd

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"

	"github.com/kgctl/kgctl/pkg/source"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
)

// MeshFlags are the flags every command that computes a mesh shares;
// they match the agent's, so a flag change can be previewed.
type MeshFlags struct {
	Files         []string
	Granularity   string
	Subnet        string
	Port          int
	TopologyLabel string
	ServiceCIDRs  []string
	Now           string

	fs *pflag.FlagSet
}

// AddFlags registers the flags.
func (f *MeshFlags) AddFlags(fs *pflag.FlagSet) {
	d := topology.DefaultSettings()
	f.fs = fs
	fs.StringArrayVarP(&f.Files, "filename", "f", nil, "read Nodes and Peers from YAML/JSON files or directories instead of a cluster (repeatable; - for stdin)")
	fs.StringVar(&f.Granularity, "mesh-granularity", GranularityAuto, "how nodes are grouped: location, full, cross, or auto (what the agents publish in kilo.squat.ai/granularity, else location)")
	fs.StringVar(&f.Subnet, "subnet", d.Subnet.String(), "CIDR from which WireGuard IPs are allocated")
	fs.IntVar(&f.Port, "port", d.Port, "WireGuard listen port of the nodes")
	fs.StringVar(&f.TopologyLabel, "topology-label", translate.DefaultTopologyLabel, "node label holding the location")
	fs.StringSliceVar(&f.ServiceCIDRs, "service-cidr", nil, "the cluster's service CIDRs (repeatable or comma-separated)")
	fs.StringVar(&f.Now, "now", "", `time against which kilo.squat.ai/last-seen is checked (RFC 3339 or "live"); default: "live" for a cluster, no check for files`)
}

// Settings validates the flags into engine settings, naming the flag at fault.
func (f MeshFlags) Settings() (topology.Settings, error) {
	s := topology.DefaultSettings()
	if f.Granularity != GranularityAuto {
		g, err := topology.ParseGranularity(f.Granularity)
		if err != nil {
			return s, fmt.Errorf("--mesh-granularity: %w (or %q)", err, GranularityAuto)
		}
		s.Granularity = g
	}
	var err error
	if s.Subnet, err = netip.ParsePrefix(f.Subnet); err != nil {
		return s, fmt.Errorf("--subnet: %q is not a CIDR", f.Subnet)
	}
	s.Port = f.Port
	for _, c := range f.ServiceCIDRs {
		p, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			return s, fmt.Errorf("--service-cidr: %q is not a CIDR", c)
		}
		s.ServiceCIDRs = append(s.ServiceCIDRs, p.Masked())
	}
	switch f.Now {
	case "":
		if len(f.Files) == 0 {
			s.Now = time.Now()
		}
	case "live":
		s.Now = time.Now()
	default:
		t, err := time.Parse(time.RFC3339, f.Now)
		if err != nil {
			return s, fmt.Errorf("--now: %q is not an RFC 3339 time or \"live\"", f.Now)
		}
		s.Now = t
	}
	return s, s.Validate()
}

// Options is what Load needs besides the flags.
func (f MeshFlags) Options() (source.Options, error) {
	s, err := f.Settings()
	if err != nil {
		return source.Options{}, err
	}
	return source.Options{Settings: s, Node: translate.NodeOptions{TopologyLabel: f.TopologyLabel}}, nil
}

// Objects reads the objects from the files, or from the cluster.
func (r *Root) Objects(ctx context.Context, files []string) (source.Objects, error) {
	if len(files) > 0 {
		return source.Files(files, r.Streams.In)
	}
	c, err := r.Clients()
	if err != nil {
		return source.Objects{}, noCluster(err)
	}
	return source.Kube(ctx, c)
}

// LoadMesh reads the objects and computes the mesh.
func (r *Root) LoadMesh(ctx context.Context, f *MeshFlags) (*topology.Mesh, topology.Problems, error) {
	if _, err := f.Options(); err != nil {
		return nil, nil, err // bad flags fail before anything is read
	}
	objs, err := r.Objects(ctx, f.Files)
	if err != nil {
		return nil, nil, err
	}
	adapted := f.For(objs.Nodes)
	opts, err := adapted.Options()
	if err != nil {
		return nil, nil, err
	}
	return source.Build(objs, opts)
}

// GranularityAuto is Kilo kgctl's --mesh-granularity default: the
// granularity the agents publish, else location.
const GranularityAuto = "auto"

// For adapts the flags to the cluster read: unless --mesh-granularity was
// given (as something other than auto), the mesh is computed with the
// granularity the agents publish (as Kilo's kgctl does), so a cluster run
// with --mesh-granularity=full is shown as its agents see it.
func (f MeshFlags) For(nodes []*corev1.Node) MeshFlags {
	if f.fs != nil && f.fs.Changed("mesh-granularity") && f.Granularity != GranularityAuto {
		return f
	}
	if g := publishedGranularity(nodes); g != "" {
		f.Granularity = g
	}
	return f
}

// publishedGranularity is the granularity every agent that publishes one
// agrees on, or "".
func publishedGranularity(nodes []*corev1.Node) string {
	g := ""
	for _, n := range nodes {
		v := n.Annotations[translate.GranularityKey]
		switch {
		case v == "":
		case g == "":
			g = v
		case g != v:
			return ""
		}
	}
	return g
}

// reportProblems prints problems to w and says whether any was an error.
// The same problem on several objects (every node of a rollout without
// a key yet) is one line naming them, as plan prints its warnings:
//
//	warning: Node b1, b2, b3 (3): kilo.squat.ai/key: no WireGuard public key ...
func reportProblems(w io.Writer, ps topology.Problems) bool {
	type group struct {
		p     topology.Problem
		names []string
	}
	var groups []*group
	index := make(map[topology.Problem]*group, len(ps))
	for _, p := range ps {
		k := p
		k.Name = ""
		if g, ok := index[k]; ok {
			if !slices.Contains(g.names, p.Name) {
				g.names = append(g.names, p.Name)
			}
			continue
		}
		g := &group{p: p, names: []string{p.Name}}
		index[k] = g
		groups = append(groups, g)
	}
	for _, g := range groups {
		if len(g.names) == 1 {
			fmt.Fprintln(w, g.p.String())
			continue
		}
		fmt.Fprintln(w, g.p.Format(fmt.Sprintf("%s (%d)", topology.ElideNames(g.names), len(g.names))))
	}
	return ps.HasErrors()
}
