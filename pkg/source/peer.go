package source

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/topology"
)

// undecodedPeer stands in the watch cache for a Peer that does not decode
// (Kilo's CRD admits a port of 2^32, say): the informer keeps syncing, the
// mesh is built without that Peer, and the problem names it.
type undecodedPeer struct {
	metav1.TypeMeta
	metav1.ObjectMeta
	problem topology.Problem
}

func (u *undecodedPeer) DeepCopyObject() runtime.Object {
	out := &undecodedPeer{TypeMeta: u.TypeMeta, problem: u.problem}
	u.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	return out
}

// decodePeer converts a dynamic client's object into a Peer, or into the
// problem that says which field (and value) keeps it from decoding.
func decodePeer(u *unstructured.Unstructured) (*v1alpha1.Peer, *topology.Problem) {
	p, err := PeerFromUnstructured(u.Object)
	if err == nil {
		return p, nil
	}
	pr := topology.Problem{Severity: topology.Error, Kind: v1alpha1.PeerKind, Name: u.GetName(),
		Message: "does not decode as a kilo.squat.ai/v1alpha1 Peer (" + err.Error() + "); peer left out of the mesh"}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		pr.Field = te.Field
		if v, ok := valueAt(u.Object, te.Field); ok {
			pr.Value = v
		}
		pr.Message = fmt.Sprintf("does not fit the Peer type's %s; peer left out of the mesh", te.Type)
	}
	return nil, &pr
}

// valueAt renders the value at a dotted JSON path of obj.
func valueAt(obj map[string]any, path string) (string, bool) {
	var cur any = obj
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = m[k]; !ok {
			return "", false
		}
	}
	b, err := json.Marshal(cur)
	if err != nil {
		return "", false
	}
	return strings.Trim(string(b), `"`), true
}

// decodePeers converts listed Peers; one that does not decode is
// reported and left out, never failing the others.
func decodePeers(items []unstructured.Unstructured) ([]*v1alpha1.Peer, topology.Problems) {
	var out []*v1alpha1.Peer
	var problems topology.Problems
	for i := range items {
		p, pr := decodePeer(&items[i])
		if pr != nil {
			problems = append(problems, *pr)
			continue
		}
		out = append(out, p)
	}
	return out, problems
}
