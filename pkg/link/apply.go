package link

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/kgctl/kgctl/pkg/source"
)

// Apply makes the changes (from Diff against source.KubePeers: all the
// cluster's Peers, so a name held by another is refused); serverDryRun
// asks the API server to validate them without persisting anything. It stops at the first failure, naming
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
			if u, err = source.PeerToUnstructured(c.Peer); err != nil {
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
