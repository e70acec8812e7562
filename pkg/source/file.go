package source

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	sigsjson "sigs.k8s.io/json"
)

// Files reads Nodes and Peers from files, directories (their .yaml, .yml
// and .json files, not recursively) and "-" for stdin. Other kinds are
// skipped, so a directory of manifests can be read as it is. A document
// that cannot be decoded is an error naming the file and document.
func Files(paths []string, stdin io.Reader) (Objects, error) {
	var objs Objects
	var errs []error
	for _, p := range paths {
		files, err := Expand(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range files {
			if err := readFile(&objs, f, stdin); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return objs, errors.Join(errs...)
}

// Expand turns a -f argument into files: "-" (stdin), a file, or a
// directory's .yaml, .yml and .json files in name order.
func Expand(p string) ([]string, error) {
	if p == "-" {
		return []string{p}, nil
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("-f %s: %w", p, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("-f %s: %w", p, err)
	}
	var out []string
	for _, e := range entries {
		switch filepath.Ext(e.Name()) {
		case ".yaml", ".yml", ".json":
			if e.Type()&fs.ModeType == 0 {
				out = append(out, filepath.Join(p, e.Name()))
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

func readFile(objs *Objects, name string, stdin io.Reader) error {
	var r io.Reader
	if name == "-" {
		if stdin == nil {
			return fmt.Errorf("-f -: no standard input")
		}
		r, name = stdin, "<stdin>"
	} else {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		defer f.Close()
		r = f
	}
	return Decode(objs, name, r)
}

// strictJSON decodes as the API server does (case-sensitive field names)
// and names unknown fields, which are usually typos (allowedIps for
// allowedIPs) that would otherwise be silently lost. Unknown fields under
// a tolerated prefix are let through.
func strictJSON(js []byte, into any, tolerated ...string) error {
	all, err := sigsjson.UnmarshalStrict(js, into, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	var strict []error
	for _, e := range all {
		if !slices.ContainsFunc(tolerated, func(p string) bool { return strings.Contains(e.Error(), `"`+p) }) {
			strict = append(strict, e)
		}
	}
	if len(strict) > 0 {
		name := ""
		if m, ok := into.(interface{ GetName() string }); ok {
			name = m.GetName()
		}
		return fmt.Errorf("%q: %w", name, errors.Join(strict...))
	}
	return nil
}
