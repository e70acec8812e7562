package peer

import (
	"strings"
	"testing"

	"github.com/kgctl/kgctl/internal/imports"
)

// TestImports holds the package's line: it decides on the engine's input
// and reads no cluster, so it imports no Kubernetes client, no cobra, no
// source and no agent; only the engine, the translation of a Peer, the
// Peer type and the QR encoder (tests may use go-cmp).
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"github.com/kgctl/kgctl/pkg/topology":           true,
		"github.com/kgctl/kgctl/pkg/translate":          true,
		"github.com/kgctl/kgctl/pkg/wireguard":          true,
		"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1": true,
		"github.com/kgctl/kgctl/internal/imports":       true,
		"rsc.io/qr":                    true,
		"github.com/google/go-cmp/cmp": true,
	}
	for _, imp := range imports.OfDir(t, ".") {
		first, _, _ := strings.Cut(imp.Path, "/")
		if !strings.Contains(first, ".") || allowed[imp.Path] {
			continue
		}
		t.Errorf("%s imports %s", imp.File, imp.Path)
	}
}
