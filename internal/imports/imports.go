// Package imports lets a package's tests hold its dependency line: it
// lists what the package's non-test files import.
package imports

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Import is one import of one file.
type Import struct {
	File, Path string
}

// OfDir lists the imports of the non-test Go files in dir.
func OfDir(t testing.TB, dir string) []Import {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []Import
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
			out = append(out, Import{File: f, Path: path})
		}
	}
	return out
}
