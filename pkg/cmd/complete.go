package cmd

import (
	"context"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kgctl/kgctl/pkg/topology"
)

// Shell completion: node and peer names come from the -f files when
// given, else from the cluster (a failure completes nothing rather than
// printing an error into the shell).

// objectNames lists the Nodes and Peers of files, or of the cluster.
func (r *Root) objectNames(ctx context.Context, files []string) (nodes, peers []string) {
	if ctx == nil {
		ctx = context.Background()
	}
	// cobra may parse the flags twice while completing: -f repeats.
	files = slices.Compact(slices.Sorted(slices.Values(files)))
	objs, err := r.Objects(ctx, files)
	if err != nil {
		return nil, nil
	}
	for _, n := range objs.Nodes {
		nodes = append(nodes, n.Name)
	}
	for _, p := range objs.Peers {
		peers = append(peers, p.Name)
	}
	return nodes, peers
}

// withPrefix keeps the names starting with toComplete, each prefixed.
func withPrefix(prefix string, names []string, toComplete string) []string {
	var out []string
	for _, n := range names {
		if s := prefix + n; strings.HasPrefix(s, toComplete) {
			out = append(out, s)
		}
	}
	return out
}

// completeKindName completes "node|peer NAME" (showconf).
func (r *Root) completeKindName(files *[]string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		switch len(args) {
		case 0:
			return withPrefix("", []string{"node", "peer"}, toComplete), cobra.ShellCompDirectiveNoFileComp
		case 1:
			nodes, peers := r.objectNames(cmd.Context(), *files)
			if args[0] == "peer" {
				return withPrefix("", peers, toComplete), cobra.ShellCompDirectiveNoFileComp
			}
			return withPrefix("", nodes, toComplete), cobra.ShellCompDirectiveNoFileComp
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

// completePeers completes Peer names (peer remove), each once.
func (r *Root) completePeers(files *[]string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		_, peers := r.objectNames(cmd.Context(), *files)
		var left []string
		for _, p := range peers {
			if !slices.Contains(args, p) {
				left = append(left, p)
			}
		}
		return withPrefix("", left, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeDeletes completes plan's --delete node/NAME and peer/NAME.
func (r *Root) completeDeletes(files *[]string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if !strings.Contains(toComplete, "/") {
			kinds := withPrefix("", []string{"node/", "peer/"}, toComplete)
			if len(kinds) > 0 {
				return kinds, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
			}
		}
		nodes, peers := r.objectNames(cmd.Context(), *files)
		return append(withPrefix("node/", nodes, toComplete), withPrefix("peer/", peers, toComplete)...), cobra.ShellCompDirectiveNoFileComp
	}
}

// fixed completes one of values.
func fixed(values ...string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return withPrefix("", values, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// granularities are --mesh-granularity's values for the read commands.
func granularities() []string {
	var out []string
	for _, g := range topology.Granularities {
		out = append(out, string(g))
	}
	return append(out, GranularityAuto)
}

// registerMeshCompletions completes the mesh flags every read command has.
func registerMeshCompletions(cmd *cobra.Command) {
	_ = cmd.RegisterFlagCompletionFunc("mesh-granularity", fixed(granularities()...))
}

// registerDryRunCompletion completes kubectl's --dry-run modes.
func registerDryRunCompletion(cmd *cobra.Command) {
	_ = cmd.RegisterFlagCompletionFunc("dry-run", fixed(dryRunNone, dryRunClient, dryRunServer))
}

// registerOutputCompletion completes -o with the printer's formats.
func (p *objectPrinter) registerCompletion(cmd *cobra.Command) {
	var values []string
	templates := p.flags.TemplatePrinterFlags.AllowedFormats()
	for _, f := range p.formats() {
		if slices.Contains(templates, f) { // -o jsonpath=TEMPLATE
			f += "="
		}
		values = append(values, f)
	}
	_ = cmd.RegisterFlagCompletionFunc("output", func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		d := cobra.ShellCompDirectiveNoFileComp
		if strings.HasSuffix(toComplete, "=") {
			d |= cobra.ShellCompDirectiveNoSpace
		}
		return withPrefix("", values, toComplete), d
	})
}
