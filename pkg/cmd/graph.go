package cmd

import (
	"bytes"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kgctl/kgctl/pkg/graph"
)

func init() { subcommands = append(subcommands, newGraphCommand) }

// GraphOptions are the options of `graph`.
type GraphOptions struct {
	Mesh   MeshFlags
	Output string
	Layout string
	root   *Root
}

func newGraphCommand(r *Root) *cobra.Command {
	o := &GraphOptions{root: r}
	cmd := &cobra.Command{
		Use:   "graph",
		Short: "Draw the mesh as Graphviz (DOT or SVG)",
		Long: `Draw the mesh: each location a cluster with its leader marked, WireGuard links
between leaders (bold), private links from other nodes to their leader (dashed),
and peers linked to every leader (dotted).`,
		Example: fmt.Sprintf(`  # The shipped example cluster, as an SVG picture
  %[1]s graph -f testdata/example -o svg > mesh.svg
  # The live cluster, laid out in a circle
  %[1]s graph | circo -Tsvg > mesh.svg`, r.Name),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	o.Mesh.AddFlags(cmd.Flags())
	cmd.Flags().StringVarP(&o.Output, "output", "o", "dot", "output format: dot or svg (svg needs Graphviz)")
	cmd.Flags().StringVar(&o.Layout, "layout", "dot", "Graphviz layout engine for svg: dot, circo, neato, ...")
	registerMeshCompletions(cmd)
	_ = cmd.RegisterFlagCompletionFunc("output", fixed("dot", "svg"))
	_ = cmd.RegisterFlagCompletionFunc("layout", fixed("dot", "circo", "neato", "twopi", "fdp", "sfdp"))
	return cmd
}

// Validate checks the flags.
func (o *GraphOptions) Validate() error {
	switch o.Output {
	case "dot", "svg":
		return nil
	}
	return fmt.Errorf("--output: unknown format %q: want dot or svg", o.Output)
}

// Run computes the mesh and draws it.
func (o *GraphOptions) Run(cmd *cobra.Command) error {
	m, problems, err := o.root.LoadMesh(cmd.Context(), &o.Mesh)
	if err != nil {
		return err
	}
	failed := reportProblems(o.root.Streams.ErrOut, problems)
	var dot bytes.Buffer
	if err := graph.Write(&dot, m); err != nil {
		return err
	}
	out := dot.Bytes()
	if o.Output == "svg" {
		if out, err = graph.SVG(cmd.Context(), out, o.Layout); err != nil {
			return err
		}
	}
	if _, err := o.root.Streams.Out.Write(out); err != nil {
		return err
	}
	if failed {
		return errSilent
	}
	return nil
}
