package plan

import (
	"strings"
	"testing"

	"github.com/kgctl/kgctl/internal/imports"
)

// TestImports holds the package's line: it reads meshes and writes to an
// io.Writer, so it imports the standard library, the engine and the
// WireGuard model only (no Kubernetes client, no cobra, no agent).
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"github.com/kgctl/kgctl/pkg/topology":  true,
		"github.com/kgctl/kgctl/pkg/wireguard": true,
	}
	for _, imp := range imports.OfDir(t, ".") {
		first, _, _ := strings.Cut(imp.Path, "/")
		if !strings.Contains(first, ".") || allowed[imp.Path] {
			continue
		}
		t.Errorf("%s imports %s", imp.File, imp.Path)
	}
}
