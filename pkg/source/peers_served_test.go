package source

import (
	"errors"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	fakediscovery "k8s.io/client-go/discovery/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
)

// An agent started while its API server is unreachable must still watch
// Peers: only the server's own answer that it serves none leaves them out.
func TestPeersServed(t *testing.T) {
	peers := &metav1.APIResourceList{
		GroupVersion: v1alpha1.SchemeGroupVersion.String(),
		APIResources: []metav1.APIResource{{Name: v1alpha1.PeerPlural, Kind: "Peer"}},
	}
	other := &metav1.APIResourceList{
		GroupVersion: v1alpha1.SchemeGroupVersion.String(),
		APIResources: []metav1.APIResource{{Name: "widgets", Kind: "Widget"}},
	}
	tests := []struct {
		name      string
		resources []*metav1.APIResourceList
		err       error
		want      bool
	}{
		{"CRD installed", []*metav1.APIResourceList{peers}, nil, true},
		{"group not served (no CRD)", nil, nil, false},
		{"group served without peers", []*metav1.APIResourceList{other}, nil, false},
		{"API server unreachable", nil, errors.New("dial tcp 10.96.0.1:443: connect: connection refused"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakediscovery.FakeDiscovery{Fake: &k8stesting.Fake{Resources: tt.resources}}
			if tt.err != nil {
				d.PrependReactor("*", "*", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, tt.err })
			}
			if got := peersServed(d); got != tt.want {
				t.Errorf("peersServed = %v, want %v", got, tt.want)
			}
		})
	}
}
