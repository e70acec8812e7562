package source

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
)

// Objects are the Kubernetes objects the mesh is made of.
type Objects struct {
	Nodes []*corev1.Node
	Peers []*v1alpha1.Peer
	// Problems are objects that could not be read at all (a Peer that
	// does not decode): left out, reported with the others' problems.
	Problems topology.Problems
}

// Options say how objects become a cluster.
type Options struct {
	Settings topology.Settings
	Node     translate.NodeOptions
	// Liveness, when set, replaces each node's annotated liveness inputs
	// (LastSeen, Ready) before the engine's check (an agent's
	// liveness.Tracker.Adjust: liveness from its own observations, on its
	// own clock). Nil keeps the annotation and the condition's times, as
	// read-only commands do.
	Liveness func(n *topology.Node)
}

// Translate reads every object into the engine's input. Objects that
// cannot take part are left out and reported; the rest still are.
func Translate(objs Objects, opts Options) (topology.Cluster, topology.Problems) {
	c := topology.Cluster{Settings: opts.Settings}
	problems := slices.Clone(objs.Problems)
	c.Nodes = make([]topology.Node, 0, len(objs.Nodes))
	for _, n := range objs.Nodes {
		tn, ps, ok := translate.Node(n, opts.Node)
		problems = append(problems, ps...)
		if ok {
			if opts.Liveness != nil {
				opts.Liveness(&tn)
			}
			c.Nodes = append(c.Nodes, tn)
		}
	}
	for _, p := range objs.Peers {
		tp, ps, ok := translate.Peer(p)
		problems = append(problems, ps...)
		if ok {
			c.Peers = append(c.Peers, tp)
		}
	}
	return c, problems
}

// Build translates and builds the mesh, returning every problem found
// on the way (translation first, then the engine's).
func Build(objs Objects, opts Options) (*topology.Mesh, topology.Problems, error) {
	c, problems := Translate(objs, opts)
	m, err := topology.Build(c)
	if err != nil {
		return nil, problems, err
	}
	return m, append(problems, m.Problems...), nil
}

// Sort orders objects by name so outputs do not depend on file order.
func (o *Objects) Sort() {
	slices.SortStableFunc(o.Nodes, func(a, b *corev1.Node) int { return strings.Compare(a.Name, b.Name) })
	slices.SortStableFunc(o.Peers, func(a, b *v1alpha1.Peer) int { return strings.Compare(a.Name, b.Name) })
	slices.SortStableFunc(o.Problems, func(a, b topology.Problem) int { return strings.Compare(a.Name, b.Name) })
}
