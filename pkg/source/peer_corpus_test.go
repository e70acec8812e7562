package source

import (
	"path/filepath"
	"testing"
)

// TestKiloPeerCorpus: every Peer Kilo's docs, e2e tests and kgctl create
// or print (testdata/kilo-peers/accepted) decodes strictly and joins the
// mesh with no error; hack/crd-test.sh applies the same files to a real
// API server under Kilo's CRD and ours.
func TestKiloPeerCorpus(t *testing.T) {
	files, err := filepath.Glob("../../testdata/kilo-peers/accepted/*.yaml")
	if err != nil || len(files) < 6 {
		t.Fatalf("corpus: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			objs, err := Files([]string{f}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(objs.Peers) != 1 {
				t.Fatalf("%d Peers", len(objs.Peers))
			}
			c, problems := Translate(objs, Options{})
			if problems.HasErrors() || len(c.Peers) != 1 {
				t.Errorf("peers %d, problems %v", len(c.Peers), problems)
			}
		})
	}
}
