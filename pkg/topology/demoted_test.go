package topology

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Leader election with nodes whose agents gave up leading (Demoted):
// they come after every other node, the leader annotation wins only among
// the others, and when all gave up, the first to give up leads.
func TestLeaderElectionDemoted(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	n := func(i int, name string, public, leader bool, demoted time.Duration) Node {
		x := tnode(i, name, "x", public)
		x.Leader = leader
		if demoted > 0 {
			x.Demoted = t0.Add(demoted)
		}
		return x
	}
	for _, tc := range []struct {
		name  string
		nodes []Node
		want  string
	}{
		{"none demoted: first by name", []Node{n(1, "a", false, false, 0), n(2, "b", false, false, 0)}, "a"},
		{"demoted first node: the next", []Node{n(1, "a", false, false, 1), n(2, "b", false, false, 0)}, "b"},
		{"demoted annotated leader loses to an unannotated node", []Node{n(1, "a", true, true, 1), n(2, "b", false, false, 0)}, "b"},
		{"annotation wins among the others", []Node{n(1, "a", true, false, 1), n(2, "b", true, false, 0), n(3, "c", false, true, 0)}, "c"},
		{"public preferred among the others", []Node{n(1, "a", true, false, 1), n(2, "b", false, false, 0), n(3, "c", true, false, 0)}, "c"},
		{"demoted public node after a private one", []Node{n(1, "a", true, false, 1), n(2, "b", false, false, 0)}, "b"},
		{"all demoted: the first to give up", []Node{n(1, "a", false, false, 20), n(2, "b", false, false, 10), n(3, "c", false, false, 30)}, "b"},
		{"all demoted: annotation does not beat the first to give up", []Node{n(1, "a", true, true, 20), n(2, "b", false, false, 10)}, "b"},
		{"all demoted at once: usual order", []Node{n(1, "a", false, false, 10), n(2, "b", true, true, 10), n(3, "c", true, false, 10)}, "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeader(t, tc.nodes, tc.want)
		})
	}
	// A demotion is reported on the location, naming the nodes.
	m := build(t, Cluster{Nodes: []Node{n(1, "a", false, false, 1), n(2, "b", false, false, 0)}})
	if d := cmp.Diff([]string{"warning Location/x kilo.squat.ai/status"}, problemKeys(m.Problems)); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	if got, want := m.Problems[0].Message, "a gave up leading (demoted: data path failed, see docs/failover.md); b leads"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}
