package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kgctl/kgctl/pkg/topology"
)

// Without --mesh-granularity, read commands compute the mesh the way the
// agents run it (their kilo.squat.ai/granularity), as Kilo's kgctl does.
func TestGranularityFromAgents(t *testing.T) {
	b, err := os.ReadFile("../../testdata/example/nodes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	full := filepath.Join(dir, "full.yaml")
	os.WriteFile(full, []byte(strings.ReplaceAll(string(b), "kilo.squat.ai/granularity: location", "kilo.squat.ai/granularity: full")), 0o644)
	mixed := filepath.Join(dir, "mixed.yaml")
	os.WriteFile(mixed, []byte(strings.Replace(string(b), "kilo.squat.ai/granularity: location", "kilo.squat.ai/granularity: full", 1)), 0o644)

	var none *fakeCluster
	show := func(args ...string) string {
		t.Helper()
		out, _, _ := none.run(t, append([]string{"showconf", "node", "aws-2"}, args...)...)
		if out == "" {
			t.Fatalf("no output for %v", args)
		}
		return out
	}
	asFull := show("-f", full, "--mesh-granularity", "full")
	asLocation := show("-f", full, "--mesh-granularity", "location")
	if asFull == asLocation {
		t.Fatal("the example gives the same config in both granularities; the test proves nothing")
	}
	if got := show("-f", full); got != asFull {
		t.Errorf("agents publish full: got\n%s\nwant the full-granularity config", got)
	}
	if got := show("-f", full, "--mesh-granularity", "location"); got != asLocation {
		t.Error("an explicit --mesh-granularity must win")
	}
	// Agents that disagree: no guess, the default.
	if got := show("-f", mixed); got != asLocation {
		t.Errorf("agents disagree: got\n%s\nwant the location-granularity config", got)
	}
}

// The same problem on several objects is one line naming them, as plan
// prints its warnings; different problems stay apart, in input order.
func TestReportProblemsCollapses(t *testing.T) {
	noKey := func(name string) topology.Problem {
		return topology.Problem{Severity: topology.Warning, Kind: "Node", Name: name, Field: "kilo.squat.ai/key", Message: "no WireGuard public key (its agent has not started yet); left out of the mesh"}
	}
	var many topology.Problems
	for i := range 10 {
		many = append(many, noKey(fmt.Sprintf("n%d", i)))
	}
	badPort := topology.Problem{Severity: topology.Error, Kind: "Node", Name: "a1", Field: "kilo.squat.ai/persistent-keepalive", Value: "-5", Message: "want whole seconds in 0-65535; ignored"}
	for name, tc := range map[string]struct {
		in     topology.Problems
		want   string
		errors bool
	}{
		"one": {topology.Problems{noKey("b1")}, `warning: Node "b1": kilo.squat.ai/key: no WireGuard public key (its agent has not started yet); left out of the mesh` + "\n", false},
		"three nodes, one line": {topology.Problems{noKey("b1"), badPort, noKey("b2"), noKey("b3")},
			"warning: Node b1, b2, b3 (3): kilo.squat.ai/key: no WireGuard public key (its agent has not started yet); left out of the mesh\n" +
				`error: Node "a1": kilo.squat.ai/persistent-keepalive "-5": want whole seconds in 0-65535; ignored` + "\n", true},
		"same value on two nodes": {topology.Problems{badPort, func() topology.Problem { p := badPort; p.Name = "a2"; return p }()},
			`error: Node a1, a2 (2): kilo.squat.ai/persistent-keepalive "-5": want whole seconds in 0-65535; ignored` + "\n", true},
		"another kind is another line": {topology.Problems{noKey("x"), func() topology.Problem { p := noKey("x"); p.Kind = "Peer"; return p }()},
			`warning: Node "x": kilo.squat.ai/key: no WireGuard public key (its agent has not started yet); left out of the mesh` + "\n" +
				`warning: Peer "x": kilo.squat.ai/key: no WireGuard public key (its agent has not started yet); left out of the mesh` + "\n", false},
		"a name repeated is named once": {topology.Problems{noKey("b1"), noKey("b1")}, `warning: Node "b1": kilo.squat.ai/key: no WireGuard public key (its agent has not started yet); left out of the mesh` + "\n", false},
		"past a screenful":              {many, "warning: Node n0, n1, n2, n3, n4, n5, n6, n7 and 2 more (10): kilo.squat.ai/key: no WireGuard public key (its agent has not started yet); left out of the mesh\n", false},
	} {
		t.Run(name, func(t *testing.T) {
			var b strings.Builder
			if got := reportProblems(&b, tc.in); got != tc.errors {
				t.Errorf("errors %v, want %v", got, tc.errors)
			}
			if d := cmp.Diff(tc.want, b.String()); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
