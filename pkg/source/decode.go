package source

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
)

// Decode reads a stream of YAML or JSON documents into objs.
//
// Each document is parsed once: YAML is converted to JSON (duplicate keys
// are errors, as kubectl has them), JSON without duplicate or escaped keys
// is taken as it is, and the JSON is walked once, Lists (nested too)
// included, so the cost grows with the bytes read, not with their
// nesting. Each Node and Peer is then decoded once with its typed,
// case-sensitive decoder.
func Decode(objs *Objects, name string, r io.Reader) error {
	reader := utilyaml.NewYAMLReader(bufio.NewReaderSize(r, 64<<10))
	var sc scratch
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
		if err := decodeDoc(objs, raw, &sc); err != nil {
			return fmt.Errorf("%s: document %d: %w", name, doc, err)
		}
	}
}

// typeMeta only words the error of a document that is not an object.
type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// scratch is reused from one document to the next: the JSON a YAML
// document becomes (decoded objects copy what they keep) and its lines.
type scratch struct {
	json  []byte
	lines []yline
}

func decodeDoc(objs *Objects, raw []byte, sc *scratch) error {
	js := bytes.TrimSpace(bytes.TrimPrefix(raw, []byte("\ufeff")))
	if len(js) == 0 || js[0] != '{' || !json.Valid(js) || !plainKeys(js, 0) {
		var ok bool
		if sc.json, sc.lines, ok = blockYAMLToJSON(raw, sc.json[:0], sc.lines); ok {
			js = sc.json
		} else {
			var err error
			if js, err = yaml.YAMLToJSONStrict(raw); err != nil {
				return fmt.Errorf("malformed YAML: %w", err)
			}
			js = bytes.TrimSpace(js)
		}
	}
	if bytes.Equal(js, []byte("null")) {
		return nil
	}
	if js[0] != '{' {
		return notObject(js)
	}
	var found []any
	_, err := decodeObject(js, 0, &found)
	for _, o := range found {
		switch o := o.(type) {
		case *corev1.Node:
			objs.Nodes = append(objs.Nodes, o)
		case *v1alpha1.Peer:
			objs.Peers = append(objs.Peers, o)
		}
	}
	return err
}

func notObject(js []byte) error {
	var tm typeMeta
	err := json.Unmarshal(js, &tm)
	if err == nil {
		err = fmt.Errorf("not an object")
	}
	return fmt.Errorf("not a Kubernetes object: %w", err)
}

// decodeObject decodes the object at b[i] and appends the Nodes and Peers
// it is or holds (a List) to found; it returns the index after it. The
// items of a List are decoded as they are met, before the List's kind is
// known; they are dropped if it turns out not to be a List of ours.
func decodeObject(b []byte, i int, found *[]any) (int, error) {
	var kind, apiVersion string
	var kindErr error
	var items []any
	var itemsErr error
	kept := -1 // items before the first bad one, which are kept
	hasItems := false
	end, err := members(b, i, func(m member) (int, error) {
		switch string(m.key) {
		case `"kind"`, `"apiVersion"`:
			e := valueEnd(b, m.start)
			var s string
			if err := json.Unmarshal(b[m.start:e], &s); err != nil {
				kindErr = err
			}
			if string(m.key) == `"kind"` {
				kind = s
			} else {
				apiVersion = s
			}
			return e, nil
		case `"items"`:
			if b[m.start] != '[' {
				return -1, nil
			}
			hasItems = true
			return elements(b, m.start, func(n, start int) (int, error) {
				if b[start] != '{' {
					if itemsErr == nil {
						itemsErr, kept = fmt.Errorf("items[%d]: %w", n, notObject(b[start:valueEnd(b, start)])), len(items)
					}
					return -1, nil
				}
				end, err := decodeObject(b, start, &items)
				if err != nil && itemsErr == nil {
					itemsErr, kept = fmt.Errorf("items[%d]: %w", n, err), len(items)
				}
				if err != nil {
					return -1, nil
				}
				return end, nil
			})
		}
		return -1, nil
	})
	if err != nil {
		return 0, err
	}
	obj := b[i:end]
	if kindErr != nil {
		return end, notObject(obj)
	}
	group := ""
	if j := strings.Index(apiVersion, "/"); j >= 0 {
		group = apiVersion[:j]
	}
	switch {
	case kind == "List" || kind == "NodeList" || kind == "PeerList":
		if kept >= 0 {
			items = items[:kept]
		}
		*found = append(*found, items...)
		return end, itemsErr
	case (kind == "Node" && group == "" || kind == v1alpha1.PeerKind && group == v1alpha1.GroupName) && hasItems:
		// Refused before decoding: objects nested in its items were
		// decoded already, and decoding them again would make nesting
		// cost its depth times.
		return end, fmt.Errorf("%s: unknown field \"items\"", kind)
	case kind == "Node" && group == "":
		n := &corev1.Node{}
		// status is the kubelet's and grows with every Kubernetes release:
		// a dump from a newer cluster must still read.
		if err := strictJSON(obj, n, "status."); err != nil {
			return end, fmt.Errorf("Node: %w", err)
		}
		if n.Name == "" {
			return end, fmt.Errorf("Node: metadata.name is required")
		}
		*found = append(*found, n)
	case kind == v1alpha1.PeerKind && group == v1alpha1.GroupName:
		p := &v1alpha1.Peer{}
		if err := strictJSON(obj, p); err != nil {
			return end, fmt.Errorf("Peer: %w", err)
		}
		if p.Name == "" {
			return end, fmt.Errorf("Peer: metadata.name is required")
		}
		*found = append(*found, p)
	case kind == "":
		return end, fmt.Errorf("kind is missing")
	}
	return end, nil
}
