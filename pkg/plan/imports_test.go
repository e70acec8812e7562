package plan

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports holds the package's line: it reads meshes and writes to an
// io.Writer, so it imports the standard library, the engine and the
// WireGuard model only (no Kubernetes client, no cobra, no agent).
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"github.com/kgctl/kgctl/pkg/topology":  true,
		"github.com/kgctl/kgctl/pkg/wireguard": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if !strings.Contains(first, ".") || allowed[path] {
				continue
			}
			t.Errorf("%s imports %s", f, path)
		}
	}
}
