package route

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden is a txtar archive of expected outputs, one section per step of
// a test. With -update, sections are rewritten when the test ends.
type golden struct {
	t    *testing.T
	path string
	ar   *txtar.Archive
}

func openGolden(t *testing.T, name string) *golden {
	t.Helper()
	g := &golden{t: t, path: filepath.Join("testdata", name+".txtar"), ar: &txtar.Archive{}}
	data, err := os.ReadFile(g.path)
	switch {
	case err == nil:
		g.ar = txtar.Parse(data)
	case !*update:
		t.Fatalf("read golden file: %v (run with -update to create it)", err)
	}
	if *update {
		g.ar.Files = nil
		t.Cleanup(func() {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(g.path, txtar.Format(g.ar), 0o644); err != nil {
				t.Fatal(err)
			}
		})
	}
	return g
}

// check compares got with the section named step.
func (g *golden) check(step, got string) {
	g.t.Helper()
	if *update {
		g.ar.Files = append(g.ar.Files, txtar.File{Name: step, Data: []byte(got)})
		return
	}
	for _, f := range g.ar.Files {
		if f.Name == step {
			if diff := cmp.Diff(string(f.Data), got); diff != "" {
				g.t.Errorf("%s: step %q differs from the golden file (-want +got):\n%s", g.path, step, diff)
			}
			return
		}
	}
	g.t.Errorf("%s: no step %q (run with -update)", g.path, step)
}
