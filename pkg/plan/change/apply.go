package change

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
)

// Result is the objects after the edits.
type Result struct {
	Nodes []*corev1.Node
	Peers []*v1alpha1.Peer
	// NewNodes names the Nodes the edits create (no current Node had the
	// name), in the order they were created.
	NewNodes []string
}

// Apply applies the edits in order to the current objects, which it does
// not modify: patched and replaced objects are new values. Deleting an
// object that does not exist is an error (a misspelt name would
// otherwise preview nothing); every error names the edit's source.
func Apply(currentNodes []*corev1.Node, currentPeers []*v1alpha1.Peer, edits []Edit) (Result, error) {
	nodes := make(map[string]*corev1.Node, len(currentNodes))
	var nodeOrder []string
	for _, n := range currentNodes {
		if _, dup := nodes[n.Name]; !dup {
			nodeOrder = append(nodeOrder, n.Name)
		}
		nodes[n.Name] = n
	}
	existed := make(map[string]bool, len(nodes))
	for name := range nodes {
		existed[name] = true
	}
	peers := make(map[string]*v1alpha1.Peer, len(currentPeers))
	var peerOrder []string
	for _, p := range currentPeers {
		if _, dup := peers[p.Name]; !dup {
			peerOrder = append(peerOrder, p.Name)
		}
		peers[p.Name] = p
	}
	var errs []error
	for _, e := range edits {
		var err error
		switch e.Kind {
		case Node:
			err = applyNode(nodes, &nodeOrder, e)
		case Peer:
			err = applyPeer(peers, &peerOrder, e)
		default:
			err = fmt.Errorf("unknown kind %q", e.Kind)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.Source, err))
		}
	}
	var r Result
	for _, name := range nodeOrder {
		if n, ok := nodes[name]; ok {
			r.Nodes = append(r.Nodes, n)
			if !existed[name] {
				r.NewNodes = append(r.NewNodes, name)
			}
		}
	}
	for _, name := range peerOrder {
		if p, ok := peers[name]; ok {
			r.Peers = append(r.Peers, p)
		}
	}
	return r, errors.Join(errs...)
}

func applyNode(nodes map[string]*corev1.Node, order *[]string, e Edit) error {
	cur, ok := nodes[e.Name]
	if e.Delete {
		if !ok {
			return fmt.Errorf("cannot delete Node %q: there is no such node", e.Name)
		}
		delete(nodes, e.Name)
		*order = slices.DeleteFunc(*order, func(s string) bool { return s == e.Name })
		return nil
	}
	var target []byte
	if ok {
		var err error
		if target, err = json.Marshal(cur); err != nil {
			return fmt.Errorf("Node %q: %w", e.Name, err)
		}
	}
	merged, err := MergePatch(target, e.Patch)
	if err != nil {
		return fmt.Errorf("Node %q: %w", e.Name, err)
	}
	n := &corev1.Node{}
	if err := strict(merged, n); err != nil {
		return fmt.Errorf("Node %q: the patched node does not decode: %w", e.Name, err)
	}
	if n.Name != e.Name {
		return fmt.Errorf("Node %q: the patch cannot rename the node (to %q)", e.Name, n.Name)
	}
	if !ok {
		*order = append(*order, e.Name)
	}
	nodes[e.Name] = n
	return nil
}

func applyPeer(peers map[string]*v1alpha1.Peer, order *[]string, e Edit) error {
	_, ok := peers[e.Name]
	if e.Delete {
		if !ok {
			return fmt.Errorf("cannot delete Peer %q: there is no such peer", e.Name)
		}
		delete(peers, e.Name)
		*order = slices.DeleteFunc(*order, func(s string) bool { return s == e.Name })
		return nil
	}
	if !ok {
		*order = append(*order, e.Name)
	}
	peers[e.Name] = e.Peer.DeepCopy()
	return nil
}

// MergePatch applies a JSON merge patch (RFC 7386) to a JSON document;
// an empty target is an empty object. Numbers are kept as written.
func MergePatch(target, patch []byte) ([]byte, error) {
	var t, p any
	if len(bytes.TrimSpace(target)) > 0 {
		if err := decodeNumbers(target, &t); err != nil {
			return nil, fmt.Errorf("merge patch: target: %w", err)
		}
	}
	if err := decodeNumbers(patch, &p); err != nil {
		return nil, fmt.Errorf("merge patch: %w", err)
	}
	return json.Marshal(merge(t, p))
}

func decodeNumbers(js []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(js))
	d.UseNumber()
	return d.Decode(v)
}

// merge is RFC 7386's MergePatch: an object patch merges member by
// member, null removes a member, anything else replaces the target.
func merge(target, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	tm, ok := target.(map[string]any)
	if !ok {
		tm = make(map[string]any, len(pm))
	}
	for k, v := range pm {
		if v == nil {
			delete(tm, k)
			continue
		}
		tm[k] = merge(tm[k], v)
	}
	return tm
}
