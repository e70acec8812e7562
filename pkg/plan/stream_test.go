package plan

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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
// changes is kept between the passes (all, some, none): on every mesh
// pair of the reference test, and on clusters of several batches.
func TestStreamedRender(t *testing.T) {
	cases := map[string]func() (before, after *topology.Mesh){}
	for name, pair := range meshPairs() {
		cases[name] = func() (*topology.Mesh, *topology.Mesh) {
			return mustBuild(t, pair[0]), mustBuild(t, pair[1])
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
	cases["flip of 60 dual-stack nodes"] = func() (*topology.Mesh, *topology.Mesh) {
		c := benchCluster(60, 5)
		for i := range c.Nodes {
			if i%2 == 0 {
				c.Nodes[i].PodCIDRs = append(c.Nodes[i].PodCIDRs, netip.PrefixFrom(netip.AddrFrom16([16]byte{0xfd, 0, 0, 0, 0, 0, byte(i >> 8), byte(i)}), 64))
			}
		}
		before := mustBuild(t, c)
		c.Settings.Granularity = topology.FullGranularity
		return before, mustBuild(t, c)
	}
	defer func(r int) { recipeBudget = r }(recipeBudget)
	for name, meshes := range cases {
		b, a := meshes()
		wantText, wantJSON := render(t, Compare(State{Mesh: b}, State{Mesh: a}))
		for _, budget := range []int{256 << 20, 20000, 0} {
			t.Run(fmt.Sprintf("%s/recipes=%d", name, budget), func(t *testing.T) {
				recipeBudget = budget
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

// Packed routes unpack to the routes the differ finds without packing,
// on every node of every reference mesh pair.
func TestPackedRoutes(t *testing.T) {
	packed := 0
	for name, pair := range meshPairs() {
		b, a := mustBuild(t, pair[0]), mustBuild(t, pair[1])
		e := newEntries(b, a)
		plain, withVias := newDiffer(e), newDiffer(e)
		withVias.vias = newViaTable(maphash.MakeSeed())
		for _, n := range unionNames(b.NodeNames(), a.NodeNames()) {
			want, _ := plain.nodeChange(n, b.Problems, a.Problems)
			got, _ := withVias.nodeChange(n, b.Problems, a.Problems)
			if got.packed != nil {
				packed++
				if !got.Routes.Empty() {
					t.Fatalf("%s: node %s: packed and unpacked routes both set", name, n)
				}
				got.Routes = got.packed.routeDiff()
			}
			if diff := cmp.Diff(want.Routes, got.Routes, equateIPs, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("%s: node %s (-unpacked +packed):\n%s", name, n, diff)
			}
			if want.Reason != got.Reason {
				t.Fatalf("%s: node %s: reason %q, unpacked %q", name, n, got.Reason, want.Reason)
			}
		}
	}
	if packed == 0 {
		t.Fatal("no node change had packed routes")
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
