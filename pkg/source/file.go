package source

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
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

// Decode reads a stream of YAML or JSON documents into objs.
func Decode(objs *Objects, name string, r io.Reader) error {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	for doc := 1; ; doc++ {
		raw, err := reader.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: document %d: %w", name, doc, err)
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			doc--
			continue
		}
		if err := decodeDoc(objs, raw); err != nil {
			return fmt.Errorf("%s: document %d: %w", name, doc, err)
		}
	}
}

type typeMeta struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Items      []json.RawMessage `json:"items"`
}

func decodeDoc(objs *Objects, raw []byte) error {
	js, err := yaml.YAMLToJSONStrict(raw) // duplicate keys are errors, as kubectl has them
	if err != nil {
		return fmt.Errorf("malformed YAML: %w", err)
	}
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return nil
	}
	var tm typeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return fmt.Errorf("not a Kubernetes object: %w", err)
	}
	group := tm.APIVersion
	if i := strings.Index(group, "/"); i >= 0 {
		group = group[:i]
	} else {
		group = ""
	}
	switch {
	case tm.Kind == "List" || strings.HasSuffix(tm.Kind, "List") && (tm.Kind == "NodeList" || tm.Kind == "PeerList"):
		for i, item := range tm.Items {
			if err := decodeDoc(objs, item); err != nil {
				return fmt.Errorf("items[%d]: %w", i, err)
			}
		}
	case tm.Kind == "Node" && group == "":
		n := &corev1.Node{}
		// status is the kubelet's and grows with every Kubernetes release:
		// a dump from a newer cluster must still read.
		if err := strictJSON(js, n, "status."); err != nil {
			return fmt.Errorf("Node: %w", err)
		}
		if n.Name == "" {
			return fmt.Errorf("Node: metadata.name is required")
		}
		objs.Nodes = append(objs.Nodes, n)
	case tm.Kind == v1alpha1.PeerKind && group == v1alpha1.GroupName:
		p := &v1alpha1.Peer{}
		if err := strictJSON(js, p); err != nil {
			return fmt.Errorf("Peer: %w", err)
		}
		if p.Name == "" {
			return fmt.Errorf("Peer: metadata.name is required")
		}
		objs.Peers = append(objs.Peers, p)
	case tm.Kind == "":
		return fmt.Errorf("kind is missing")
	}
	return nil
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
