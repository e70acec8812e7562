package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/kgctl/kgctl/pkg/health"
	"github.com/kgctl/kgctl/pkg/source"
	"github.com/kgctl/kgctl/pkg/status/report"
	"github.com/kgctl/kgctl/pkg/topology"
)

func init() { subcommands = append(subcommands, newStatusCommand) }

// StatusOptions are the options of `status`.
type StatusOptions struct {
	Mesh    MeshFlags
	Printer *objectPrinter
	Watch   bool
	// Interval is how often --watch reads the cluster again.
	Interval time.Duration
	root     *Root
}

func newStatusCommand(r *Root) *cobra.Command {
	o := &StatusOptions{root: r, Printer: newObjectPrinter("", false), Interval: 2 * time.Second}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each node's tunnels as its agent reports them, and config drift",
		Long: `Show the mesh's locations, leaders, nodes and peers, each node's tunnels as its
agent reports them (up, down, never: the kilo.squat.ai/status annotation), and
whether the WireGuard config each agent last applied is the one the mesh gives
it now (a node that differs is named as drifted).`,
		Example: fmt.Sprintf(`  %[1]s status
  %[1]s status -o json
  %[1]s status --watch`, r.Name),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.Mesh.AddFlags(cmd.Flags())
	registerMeshCompletions(cmd)
	o.Printer.AddFlags(cmd, "a table")
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", false, "print again whenever the status changes (live cluster only)")
	return cmd
}

// Validate checks the flags without reading anything.
func (o *StatusOptions) Validate() error {
	if o.Watch && len(o.Mesh.Files) > 0 {
		return errors.New("--watch: needs a live cluster, not -f files")
	}
	return o.Printer.Validate()
}

// Run prints the status once, or on every change with --watch.
func (o *StatusOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var last []byte
	for {
		out, problems, err := o.render(ctx)
		if err != nil {
			return err
		}
		bad := false
		if !bytes.Equal(out, last) {
			// Problems are shown with the output they explain, not on
			// every poll of --watch.
			bad = reportProblems(o.root.Streams.ErrOut, problems)
			if _, err := o.root.Streams.Out.Write(out); err != nil {
				return err
			}
			last = out
		}
		if !o.Watch {
			if bad {
				return &ExitError{Code: 1}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(o.Interval):
		}
	}
}

// render reads the cluster once.
func (o *StatusOptions) render(ctx context.Context) ([]byte, topology.Problems, error) {
	if _, err := o.Mesh.Options(); err != nil {
		return nil, nil, err
	}
	objs, err := o.root.Objects(ctx, o.Mesh.Files)
	if err != nil {
		return nil, nil, err
	}
	opts, err := o.Mesh.For(objs.Nodes).Options()
	if err != nil {
		return nil, nil, err
	}
	m, problems, err := source.Build(objs, opts)
	if err != nil {
		return nil, nil, err
	}
	status := map[string]string{}
	for _, n := range objs.Nodes {
		if v, ok := n.Annotations[health.Key]; ok {
			status[n.Name] = v
		}
	}
	r := report.Build(m, status)
	var b bytes.Buffer
	if o.Printer.Own() {
		err = report.WriteTable(&b, r)
	} else {
		err = o.Printer.Print(&b, r)
	}
	return b.Bytes(), problems, err
}
