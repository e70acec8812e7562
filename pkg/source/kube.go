package source

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/topology"
)

// Clients reach a cluster: the typed client for Nodes, the dynamic one
// for Peers (no generated clientset for one CRD).
type Clients struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
}

// NewClients connects both clients to cfg.
func NewClients(cfg *rest.Config) (Clients, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return Clients{}, fmt.Errorf("kubernetes client: %w", err)
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return Clients{}, fmt.Errorf("dynamic client: %w", err)
	}
	return Clients{Kube: cs, Dynamic: dc}, nil
}

// Kube lists Nodes and Peers from a live cluster. A cluster without the
// Peer CRD has no peers; that is not an error.
func Kube(ctx context.Context, c Clients) (Objects, error) {
	var objs Objects
	nodes, err := c.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return objs, fmt.Errorf("list nodes: %w", err)
	}
	for i := range nodes.Items {
		objs.Nodes = append(objs.Nodes, &nodes.Items[i])
	}
	objs.Peers, objs.Problems, err = listPeers(ctx, c.Dynamic)
	return objs, err
}

// KubePeers lists the cluster's Peers; none when the CRD is not installed.
// A Peer that does not decode is left out (Kube reports it).
func KubePeers(ctx context.Context, dc dynamic.Interface) ([]*v1alpha1.Peer, error) {
	peers, _, err := listPeers(ctx, dc)
	return peers, err
}

// listPeers lists the cluster's Peers and the problems of those that do
// not decode: one bad Peer never hides the others.
func listPeers(ctx context.Context, dc dynamic.Interface) ([]*v1alpha1.Peer, topology.Problems, error) {
	peers, err := dc.Resource(v1alpha1.PeerGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		if meta.IsNoMatchError(err) || isNotFound(err) {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("list peers.%s: %w", v1alpha1.GroupName, err)
	}
	out, problems := decodePeers(peers.Items)
	return out, problems, nil
}

// PeerToUnstructured converts a Peer for the dynamic client.
func PeerToUnstructured(p *v1alpha1.Peer) (*unstructured.Unstructured, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	return u, nil
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
