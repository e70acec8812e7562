package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"

	"github.com/kgctl/kgctl/pkg/plan"
	"github.com/kgctl/kgctl/pkg/plan/change"
	"github.com/kgctl/kgctl/pkg/source"
	"github.com/kgctl/kgctl/pkg/topology"
)

func init() { subcommands = append(subcommands, newPlanCommand) }

// PlanOptions are the options of `plan`.
type PlanOptions struct {
	// Mesh holds the mesh flags; they describe the mesh after the change.
	Mesh MeshFlags
	// CurrentMesh holds the --current-* flags, for the mesh as it is.
	CurrentMesh      MeshFlags
	Current          []string
	Changes          []string
	Deletes          []string
	Output           string
	Color            string
	DetailedExitCode bool

	edits []change.Edit
	// set reports whether a flag was given on the command line.
	set  func(name string) bool
	root *Root
}

// currentFlags are the mesh flags that have a --current- twin.
var currentFlags = []string{"mesh-granularity", "subnet", "port", "topology-label", "service-cidr"}

func newPlanCommand(r *Root) *cobra.Command {
	o := &PlanOptions{root: r}
	cmd := &cobra.Command{
		Use:   "plan [-f CHANGES]... [--delete KIND/NAME]... [--current PATH]...",
		Short: "Preview how the mesh changes before the agents apply it",
		Long: `Preview what the agents would change in the mesh, node by node, location by
location and peer by peer, before a change reaches the cluster.

The current state is the live cluster, or the manifests given with --current
(files, directories or - for stdin; repeatable).

The changes:
  -f FILE       Each Node document is a JSON merge patch (RFC 7386) onto the
                current Node of that name, or a new Node if there is none: a
                document with only metadata.name and annotations sets those
                annotations, and an annotation set to null removes it. Each
                Peer document replaces the Peer of that name, or adds it. A
                document annotated kgctl.kilo.squat.ai/plan: delete deletes
                that Node or Peer. Files, directories or - (repeatable).
  --delete node/NAME, --delete peer/NAME
                Delete an object (repeatable), after the documents.
A new Node without kilo.squat.ai/last-seen is taken to be seen now: its agent
publishes it when it starts.

The settings: the mesh flags (--mesh-granularity, --subnet, --port,
--topology-label, --service-cidr) are those the agents run with after the
change, and apply to the current mesh as well unless its own value is given
with the matching --current- flag (--current-subnet, …). The granularity is
the exception: the agents publish theirs (kilo.squat.ai/granularity), so the
current mesh uses what they publish when they all agree, and so does the
mesh after the change unless --mesh-granularity is given. Previewing a flag
flip is thus giving the new value:
  ` + r.Name + ` plan --current testdata/example --mesh-granularity full

The plan lists each change as + create, - delete or ~ update with a reason,
then the warnings (the problems of the mesh after the change, "(new)" when
the change introduces them) and a summary. -o json gives the versioned format
described in docs/plan-json.md. Nodes with the same changes share one block
in text; JSON lists each.

Exit status: 0 on success, 1 on error. With --detailed-exitcode: 0 when
nothing changes, 2 when something does, 1 on error.`,
		Example: fmt.Sprintf(`  # What moving the leadership of us-east1 to gcp-1 does to the example
  cat <<EOF | %[1]s plan --current testdata/example -f -
  apiVersion: v1
  kind: Node
  metadata:
    name: gcp-1
    annotations:
      kilo.squat.ai/leader: "true"
  EOF
  # Remove a node from a live cluster's mesh, as JSON
  %[1]s plan --delete node/aws-3 -o json
  # Fail a CI job when a change would alter the mesh (exit 2)
  %[1]s plan --current testdata/example --delete peer/office --detailed-exitcode`, r.Name),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.set = cmd.Flags().Changed
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.AddFlags(cmd.Flags())
	registerMeshCompletions(cmd)
	_ = cmd.RegisterFlagCompletionFunc("current-mesh-granularity", fixed(granularities()...))
	_ = cmd.RegisterFlagCompletionFunc("delete", r.completeDeletes(&o.Current))
	_ = cmd.RegisterFlagCompletionFunc("output", fixed("text", "json"))
	_ = cmd.RegisterFlagCompletionFunc("color", fixed("auto", "always", "never"))
	return cmd
}

// AddFlags registers the flags. The mesh flags come from MeshFlags, but
// -f means changes here, not the current state.
func (o *PlanOptions) AddFlags(fs *pflag.FlagSet) {
	mesh := pflag.NewFlagSet("mesh", pflag.ContinueOnError)
	o.Mesh.AddFlags(mesh)
	mesh.VisitAll(func(f *pflag.Flag) {
		if f.Name != "filename" {
			fs.AddFlag(f)
		}
	})
	g := fs.Lookup("mesh-granularity")
	g.Usage = `how nodes are grouped after the change: location, full, cross, or auto (the one the agents publish, else location)`
	current := pflag.NewFlagSet("current", pflag.ContinueOnError)
	o.CurrentMesh.AddFlags(current)
	for _, name := range currentFlags {
		f := *current.Lookup(name)
		f.Name = "current-" + name
		f.Usage = "the current mesh's --" + name + " (default: the value of --" + name + ")"
		f.DefValue = map[string]string{"int": "0", "stringSlice": "[]"}[f.Value.Type()]
		if name == "mesh-granularity" {
			f.Usage = "the current mesh's --mesh-granularity (default: the one the agents publish, else the value of --mesh-granularity)"
		}
		fs.AddFlag(&f)
	}
	fs.StringArrayVarP(&o.Changes, "filename", "f", nil, "changes: Node merge patches and Peers, from YAML/JSON files or directories (repeatable; - for stdin)")
	fs.StringArrayVar(&o.Current, "current", nil, "read the current state from YAML/JSON files or directories instead of the cluster (repeatable; - for stdin)")
	fs.StringArrayVar(&o.Deletes, "delete", nil, "delete node/NAME or peer/NAME (repeatable)")
	fs.StringVarP(&o.Output, "output", "o", "text", "output format: text or json")
	fs.StringVar(&o.Color, "color", "auto", "color the text: auto (when stdout is a terminal and NO_COLOR is unset), always or never")
	fs.BoolVar(&o.DetailedExitCode, "detailed-exitcode", false, "exit 0 when nothing changes, 2 when something does, 1 on error")
}

// Complete parses the deletions.
func (o *PlanOptions) Complete() error {
	if o.set == nil {
		o.set = func(string) bool { return false }
	}
	for _, d := range o.Deletes {
		e, err := change.ParseDelete(d)
		if err != nil {
			return err
		}
		o.edits = append(o.edits, e)
	}
	return nil
}

// Validate checks the flags without reading anything.
func (o *PlanOptions) Validate() error {
	switch o.Output {
	case "text", "json":
	default:
		return fmt.Errorf("--output: unknown format %q: want text or json", o.Output)
	}
	switch o.Color {
	case "auto", "always", "never":
	default:
		return fmt.Errorf("--color: unknown value %q: want auto, always or never", o.Color)
	}
	if slices.Contains(o.Changes, "-") && slices.Contains(o.Current, "-") {
		return fmt.Errorf("-f - and --current -: standard input can be read only once")
	}
	_, _, err := o.options(nil)
	return err
}

// Run reads both states, computes both meshes and prints the plan.
func (o *PlanOptions) Run(ctx context.Context) error {
	cur, err := o.current(ctx)
	if err != nil {
		return err
	}
	edits, err := o.readChanges()
	if err != nil {
		return err
	}
	next, err := change.Apply(cur.Nodes, cur.Peers, append(edits, o.edits...))
	if err != nil {
		return err
	}
	after := source.Objects{Nodes: next.Nodes, Peers: next.Peers}
	cur.Sort()
	after.Sort()
	bopts, aopts, err := o.options(cur.Nodes)
	if err != nil {
		return err
	}
	before, err := o.state(cur, nil, bopts)
	if err != nil {
		return err
	}
	// Both meshes are judged at the same instant.
	aopts.Settings.Now = bopts.Settings.Now
	afterState, err := o.state(after, next.NewNodes, aopts)
	if err != nil {
		return err
	}
	p := plan.New(before, afterState) // node changes computed as they are written
	w := o.root.Streams.Out
	if o.Output == "json" {
		err = plan.WriteJSON(w, p)
	} else {
		err = plan.WriteText(w, p, plan.Options{Color: o.color(w)})
	}
	if err != nil {
		return err
	}
	if o.DetailedExitCode && !p.Empty() {
		return &ExitError{Code: 2}
	}
	return nil
}

// current reads the current state from --current, or the cluster.
func (o *PlanOptions) current(ctx context.Context) (source.Objects, error) {
	if len(o.Current) > 0 {
		for _, p := range o.Current {
			if _, err := os.Stat(p); p != "-" && err != nil {
				return source.Objects{}, fmt.Errorf("--current %s: %w", p, errors.Unwrap(err))
			}
		}
		objs, err := source.Files(o.Current, o.root.Streams.In)
		if err != nil {
			return objs, fmt.Errorf("--current: %w", err)
		}
		return objs, nil
	}
	c, err := o.root.Clients()
	if err != nil {
		return source.Objects{}, fmt.Errorf("no cluster to read the current state from (use --current PATH to read manifests): %w", err)
	}
	return source.Kube(ctx, c)
}

// readChanges decodes every change document, in the order given.
func (o *PlanOptions) readChanges() ([]change.Edit, error) {
	var edits []change.Edit
	var errs []error
	for _, p := range o.Changes {
		files, err := source.Expand(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range files {
			es, err := o.decodeFile(f)
			if err != nil {
				errs = append(errs, err)
			}
			edits = append(edits, es...)
		}
	}
	return edits, errors.Join(errs...)
}

func (o *PlanOptions) decodeFile(name string) ([]change.Edit, error) {
	if name == "-" {
		if o.root.Streams.In == nil {
			return nil, fmt.Errorf("-f -: no standard input")
		}
		return change.Decode("<stdin>", o.root.Streams.In)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("-f %s: %w", name, errors.Unwrap(err))
	}
	defer f.Close()
	return change.Decode(name, f)
}

// options computes both meshes' settings. nodes are the current Nodes,
// whose published granularity is the default; nil while validating.
func (o *PlanOptions) options(nodes []*corev1.Node) (before, after source.Options, err error) {
	af := o.Mesh
	af.Files = o.Current
	bf := af
	if g := publishedGranularity(nodes); g != "" {
		bf.Granularity = g
		if !o.set("mesh-granularity") || o.Mesh.Granularity == GranularityAuto {
			af.Granularity = g
		}
	}
	if o.set("current-mesh-granularity") && o.CurrentMesh.Granularity != GranularityAuto {
		bf.Granularity = o.CurrentMesh.Granularity
	}
	if o.set("current-subnet") {
		bf.Subnet = o.CurrentMesh.Subnet
	}
	if o.set("current-port") {
		bf.Port = o.CurrentMesh.Port
	}
	if o.set("current-topology-label") {
		bf.TopologyLabel = o.CurrentMesh.TopologyLabel
	}
	if o.set("current-service-cidr") {
		bf.ServiceCIDRs = o.CurrentMesh.ServiceCIDRs
	}
	if after, err = af.Options(); err != nil {
		return before, after, err
	}
	if before, err = bf.Options(); err != nil {
		return before, after, fmt.Errorf("current mesh: %w", err)
	}
	return before, after, nil
}

// state translates objects and builds their mesh. newNodes (created by
// the changes) without a last-seen time are taken to be seen now.
func (o *PlanOptions) state(objs source.Objects, newNodes []string, opts source.Options) (plan.State, error) {
	c, problems := source.Translate(objs, opts)
	if !opts.Settings.Now.IsZero() && len(newNodes) > 0 {
		for i := range c.Nodes {
			n := &c.Nodes[i]
			if n.LastSeen.IsZero() && slices.Contains(newNodes, n.Name) {
				n.LastSeen = opts.Settings.Now
			}
		}
	}
	m, err := topology.Build(c)
	if err != nil {
		return plan.State{}, err
	}
	return plan.State{Mesh: m, Problems: append(problems, m.Problems...)}, nil
}

// color decides whether the text is colored.
func (o *PlanOptions) color(w io.Writer) bool {
	switch o.Color {
	case "always":
		return true
	case "never":
		return false
	}
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
