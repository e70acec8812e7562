package change

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
)

// MarkerKey is the annotation that turns a document into a deletion.
const MarkerKey = "kgctl.kilo.squat.ai/plan"

// MarkerDelete is the only value MarkerKey takes.
const MarkerDelete = "delete"

// Kinds of objects an edit applies to.
const (
	Node = "Node"
	Peer = "Peer"
)

// Edit is one change to the objects.
type Edit struct {
	// Source says where the edit comes from, for errors:
	// "changes.yaml: document 2" or "--delete node/a".
	Source string
	// Kind is Node or Peer.
	Kind string
	Name string
	// Delete removes the object.
	Delete bool
	// Patch is a Node's JSON merge patch, nulls kept.
	Patch []byte
	// Peer is the Peer that replaces or creates the one of that name.
	Peer *v1alpha1.Peer
}

// Decode reads a stream of YAML or JSON documents (kind List, NodeList
// and PeerList included) into edits. name is the file's name in errors.
// Every document must be a Node or a Peer: a document of another kind is
// an error rather than silently doing nothing.
func Decode(name string, r io.Reader) ([]Edit, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var edits []Edit
	var errs []error
	for doc := 1; ; doc++ {
		raw, err := reader.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: document %d: %w", name, doc, err))
			break
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			doc--
			continue
		}
		// Duplicate keys are errors, as they are for -f and kubectl.
		js, err := yaml.YAMLToJSONStrict(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: document %d: malformed YAML: %w", name, doc, err))
			continue
		}
		if isNull(js) {
			doc--
			continue
		}
		source := fmt.Sprintf("%s: document %d", name, doc)
		es, err := decodeDoc(source, js)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", source, err))
			continue
		}
		edits = append(edits, es...)
	}
	return edits, errors.Join(errs...)
}

func isNull(js []byte) bool {
	s := bytes.TrimSpace(js)
	return len(s) == 0 || bytes.Equal(s, []byte("null"))
}

// header is what every document must say about itself.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name        string             `json:"name"`
		Annotations map[string]*string `json:"annotations"`
	} `json:"metadata"`
	Items []json.RawMessage `json:"items"`
}

func decodeDoc(source string, js []byte) ([]Edit, error) {
	var h header
	// Case-sensitive, as the API server reads it: "Kind" is not "kind".
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &h); err != nil {
		return nil, fmt.Errorf("not a Kubernetes object: %w", err)
	}
	group, _, _ := strings.Cut(h.APIVersion, "/")
	if !strings.Contains(h.APIVersion, "/") {
		group = ""
	}
	switch {
	case h.Kind == "":
		return nil, fmt.Errorf("kind is missing")
	case h.Kind == "List" || h.Kind == "NodeList" || h.Kind == "PeerList":
		var out []Edit
		for i, item := range h.Items {
			es, err := decodeDoc(fmt.Sprintf("%s: items[%d]", source, i), item)
			if err != nil {
				return nil, fmt.Errorf("items[%d]: %w", i, err)
			}
			out = append(out, es...)
		}
		return out, nil
	case h.Kind == Node && group == "":
	case h.Kind == Peer && (group == v1alpha1.GroupName || h.APIVersion == ""):
	case h.Kind == Node || h.Kind == Peer:
		return nil, fmt.Errorf("%s: apiVersion %q: want %s", h.Kind, h.APIVersion, map[string]string{Node: "v1", Peer: v1alpha1.SchemeGroupVersion.String()}[h.Kind])
	default:
		return nil, fmt.Errorf("kind %q: plan changes only Nodes and Peers", h.Kind)
	}
	if h.Metadata.Name == "" {
		return nil, fmt.Errorf("%s: metadata.name is required", h.Kind)
	}
	e := Edit{Source: source, Kind: h.Kind, Name: h.Metadata.Name}
	if v, ok := h.Metadata.Annotations[MarkerKey]; ok && v != nil {
		if *v != MarkerDelete {
			return nil, fmt.Errorf("%s %q: annotation %s: %q is not %q", h.Kind, e.Name, MarkerKey, *v, MarkerDelete)
		}
		e.Delete = true
		return []Edit{e}, nil
	}
	switch h.Kind {
	case Node:
		// The patch must read as a Node (nulls read as empty values), so
		// that a misspelt field is an error rather than nothing.
		if err := strict(js, &corev1.Node{}, "status."); err != nil {
			return nil, fmt.Errorf("Node %q: %w", e.Name, err)
		}
		e.Patch = js
	case Peer:
		p := &v1alpha1.Peer{}
		if err := strict(js, p); err != nil {
			return nil, fmt.Errorf("Peer %q: %w", e.Name, err)
		}
		p.APIVersion, p.Kind = v1alpha1.SchemeGroupVersion.String(), v1alpha1.PeerKind
		e.Peer = p
	}
	return []Edit{e}, nil
}

// strict decodes as -f does: case-sensitive, failing on unknown fields
// (allowedIps for allowedIPs) and on a field given twice, each error
// naming the field's path; unknown fields under the tolerated prefixes
// (a newer Kubernetes's Node status) are let through.
func strict(js []byte, into any, tolerated ...string) error {
	all, err := sigsjson.UnmarshalStrict(js, into, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range all {
		if !slices.ContainsFunc(tolerated, func(p string) bool { return strings.Contains(e.Error(), `"`+p) }) {
			errs = append(errs, e)
		}
	}
	return errors.Join(errs...)
}

// ParseDelete reads a --delete reference: node/NAME or peer/NAME.
func ParseDelete(ref string) (Edit, error) {
	kind, name, ok := strings.Cut(ref, "/")
	e := Edit{Source: "--delete " + ref, Name: name, Delete: true}
	switch strings.ToLower(kind) {
	case "node", "nodes", "no":
		e.Kind = Node
	case "peer", "peers":
		e.Kind = Peer
	default:
		return Edit{}, fmt.Errorf("--delete %q: want node/NAME or peer/NAME", ref)
	}
	if !ok || name == "" || strings.Contains(name, "/") {
		return Edit{}, fmt.Errorf("--delete %q: want node/NAME or peer/NAME", ref)
	}
	return e, nil
}
