package plan

import (
	"bytes"
	"fmt"
	"testing"

	linediff "github.com/kgctl/kgctl/internal/golden"

	"github.com/kgctl/kgctl/pkg/topology"
)

// render writes a plan as text and JSON.
func render(t *testing.T, p *Plan) (string, string) {
	t.Helper()
	var text, js bytes.Buffer
	if err := WriteText(&text, p, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, p); err != nil {
		t.Fatal(err)
	}
	return text.String(), js.String()
}

// A plan from New, whose node changes are computed while rendering,
// renders the bytes of the same plan from Compare, whatever share of the
// group bodies is kept between the passes (all, some, none).
func TestStreamedRender(t *testing.T) {
	cases := map[string]func() (before, after *topology.Mesh){}
	for name, change := range renderCases {
		cases[name] = func() (*topology.Mesh, *topology.Mesh) {
			c := testCluster()
			change(&c)
			return mustBuild(t, testCluster()), mustBuild(t, c)
		}
	}
	// Enough nodes for several batches, groups of followers and unique
	// full-mesh bodies.
	cases["flip of 120 nodes"] = func() (*topology.Mesh, *topology.Mesh) {
		c := benchCluster(120, 7)
		before := mustBuild(t, c)
		c.Settings.Granularity = topology.FullGranularity
		return before, mustBuild(t, c)
	}
	cases["join in 120 nodes"] = func() (*topology.Mesh, *topology.Mesh) {
		c := benchCluster(120, 7)
		before := mustBuild(t, c)
		c.Nodes = append(c.Nodes, benchNode(125, 7))
		return before, mustBuild(t, c)
	}
	defer func(b, r int) { bodyBudget, recipeBudget = b, r }(bodyBudget, recipeBudget)
	for name, meshes := range cases {
		b, a := meshes()
		bodyBudget, recipeBudget = 32<<20, 256<<20
		wantText, wantJSON := render(t, Compare(State{Mesh: b}, State{Mesh: a}))
		// Bodies kept, some or none; the others kept as recipes (all,
		// some, none) or computed again.
		for _, budget := range [][2]int{{32 << 20, 0}, {3000, 256 << 20}, {0, 256 << 20}, {0, 20000}, {3000, 0}, {0, 0}} {
			t.Run(fmt.Sprintf("%s/budget=%d/recipes=%d", name, budget[0], budget[1]), func(t *testing.T) {
				bodyBudget, recipeBudget = budget[0], budget[1]
				p := New(State{Mesh: b}, State{Mesh: a})
				text, js := render(t, p)
				if d := linediff.Diff(wantText, text); d != "" {
					t.Errorf("text differs from Compare's:\n%s", d)
				}
				if d := linediff.Diff(wantJSON, js); d != "" {
					t.Errorf("JSON differs from Compare's:\n%s", d)
				}
				if got, want := p.Summary(), Compare(State{Mesh: b}, State{Mesh: a}).Summary(); got != want {
					t.Errorf("summary %+v, want %+v", got, want)
				}
			})
		}
	}
}

// A plan from New answers Empty and Summary before any rendering.
func TestStreamedSummaryFirst(t *testing.T) {
	c := benchCluster(50, 5)
	before := mustBuild(t, c)
	c.Nodes = append(c.Nodes, benchNode(55, 5))
	p := New(State{Mesh: before}, State{Mesh: mustBuild(t, c)})
	if p.Empty() {
		t.Fatal("a node joins, yet the plan is empty")
	}
	if got := p.Summary().Nodes; got.Create != 1 || got.Total() < 2 {
		t.Errorf("node counts %+v: want one join and the others updated", got)
	}
}
