package link

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
)

// List returns every Peer of a cluster (all of them, not only the link's:
// Diff needs them to refuse taking over a name).
func List(ctx context.Context, res dynamic.ResourceInterface) ([]*v1alpha1.Peer, error) {
	l, err := res.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list peers.kilo.squat.ai: %w", err)
	}
	out := make([]*v1alpha1.Peer, 0, len(l.Items))
	for i := range l.Items {
		var p v1alpha1.Peer
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(l.Items[i].Object, &p); err != nil {
			return nil, fmt.Errorf("Peer %q: %w", l.Items[i].GetName(), err)
		}
		out = append(out, &p)
	}
	return out, nil
}

// Apply makes the changes; serverDryRun asks the API server to validate
// them without persisting anything. It stops at the first failure, naming
// the Peer: what was applied before it stays, and re-running converges.
func Apply(ctx context.Context, res dynamic.ResourceInterface, cs []Change, serverDryRun bool) error {
	var dry []string
	if serverDryRun {
		dry = []string{metav1.DryRunAll}
	}
	for _, c := range cs {
		var err error
		switch c.Action {
		case Create, Update:
			var u *unstructured.Unstructured
			if u, err = toUnstructured(c.Peer); err != nil {
				break
			}
			if c.Action == Create {
				_, err = res.Create(ctx, u, metav1.CreateOptions{FieldManager: "kgctl-link", DryRun: dry})
			} else {
				_, err = res.Update(ctx, u, metav1.UpdateOptions{FieldManager: "kgctl-link", DryRun: dry})
			}
		case Delete:
			err = res.Delete(ctx, c.Peer.Name, metav1.DeleteOptions{DryRun: dry})
			if apierrors.IsNotFound(err) {
				err = nil
			}
		}
		if err != nil {
			return fmt.Errorf("%s Peer %q: %w", c.Action, c.Peer.Name, err)
		}
	}
	return nil
}

func toUnstructured(p *v1alpha1.Peer) (*unstructured.Unstructured, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	return u, u.UnmarshalJSON(b)
}
