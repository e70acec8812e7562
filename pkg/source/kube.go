package source

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
)

// Kube lists Nodes and Peers from a live cluster. A cluster without the
// Peer CRD has no peers; that is not an error.
func Kube(ctx context.Context, cfg *rest.Config) (Objects, error) {
	var objs Objects
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return objs, fmt.Errorf("kubernetes client: %w", err)
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return objs, fmt.Errorf("list nodes: %w", err)
	}
	for i := range nodes.Items {
		objs.Nodes = append(objs.Nodes, &nodes.Items[i])
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return objs, fmt.Errorf("dynamic client: %w", err)
	}
	peers, err := dc.Resource(v1alpha1.PeerGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		if meta.IsNoMatchError(err) || isNotFound(err) {
			return objs, nil
		}
		return objs, fmt.Errorf("list peers.%s: %w", v1alpha1.GroupName, err)
	}
	for i := range peers.Items {
		p, err := PeerFromUnstructured(peers.Items[i].Object)
		if err != nil {
			return objs, fmt.Errorf("Peer %q: %w", peers.Items[i].GetName(), err)
		}
		objs.Peers = append(objs.Peers, p)
	}
	return objs, nil
}

// PeerFromUnstructured converts a dynamic client's object into a Peer.
func PeerFromUnstructured(obj map[string]any) (*v1alpha1.Peer, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	p := &v1alpha1.Peer{}
	if err := json.Unmarshal(b, p); err != nil {
		return nil, err
	}
	return p, nil
}

func isNotFound(err error) bool {
	return apierrors.IsNotFound(err)
}
