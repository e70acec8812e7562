package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
