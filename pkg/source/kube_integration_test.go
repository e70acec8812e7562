package source

import (
	"context"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/translate"
)

// liveCluster returns a client config for the real kube-apiserver the
// end-to-end environment starts (hack/e2e), or skips.
func liveCluster(t *testing.T) *rest.Config {
	t.Helper()
	path := os.Getenv("KGCTL_E2E_KUBECONFIG")
	if path == "" {
		t.Skip("skipping: needs a real kube-apiserver; set KGCTL_E2E_KUBECONFIG (make e2e does)")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestKubeRoundTrip lists, watches and annotates through a real API server.
func TestKubeRoundTrip(t *testing.T) {
	cfg := liveCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs := kubernetes.NewForConfigOrDie(cfg)
	dc := dynamic.NewForConfigOrDie(cfg)
	name := "source-test-" + time.Now().Format("150405")
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{translate.DefaultTopologyLabel: "lab"}}}
	n.Spec.PodCIDR = "10.99.0.0/24"
	if _, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	peer := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": v1alpha1.SchemeGroupVersion.String(), "kind": v1alpha1.PeerKind,
		"metadata": map[string]any{"name": name},
		"spec":     map[string]any{"allowedIPs": []any{"10.98.0.1/32"}, "publicKey": "Jk3BbT2zZHazBnFQ0NkpeKZc5l3qSGwcKL2Cw6dQvmM=", "persistentKeepalive": int64(10)},
	}}
	if _, err := dc.Resource(v1alpha1.PeerGVR).Create(ctx, peer, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Peer (is the CRD installed?): %v", err)
	}
	t.Cleanup(func() { dc.Resource(v1alpha1.PeerGVR).Delete(context.Background(), name, metav1.DeleteOptions{}) })

	clients, err := NewClients(cfg)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Kube(ctx, clients)
	if err != nil {
		t.Fatal(err)
	}
	if !hasNode(objs, name) || !hasPeer(objs, name, 10) {
		t.Fatalf("Kube did not list node and peer %q", name)
	}

	w := NewWatcher(cs, dc, discovery.NewDiscoveryClientForConfigOrDie(cfg), 0)
	if !w.PeersAvailable {
		t.Fatal("the watcher did not find the Peer CRD")
	}
	if err := w.Start(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if !hasNode(w.Objects(), name) || !hasPeer(w.Objects(), name, 10) {
		t.Fatal("watcher cache lacks the node or peer")
	}
	drain(w.Changed())

	pub := NewPublisher(cs, "kgctl-test")
	v := "10.0.0.9/24"
	if err := pub.Annotate(ctx, name, map[string]*string{translate.InternalIPKey: &v, "unrelated.example.com/x": nil}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.Changed():
	case <-ctx.Done():
		t.Fatal("no change notification after the patch")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := nodeNamed(w.Objects(), name)
		if got != nil && got.Annotations[translate.InternalIPKey] == v {
			if len(got.Status.Addresses) != 0 || got.Annotations["unrelated.example.com/x"] != "" {
				t.Error("the cache keeps more than the mesh reads")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the patch never reached the watcher's cache")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The patch touched only our annotation.
	live, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil || live.Spec.PodCIDR != "10.99.0.0/24" || live.Labels[translate.DefaultTopologyLabel] != "lab" {
		t.Errorf("node after patch = %+v, %v", live, err)
	}
	_, err = dc.Resource(v1alpha1.PeerGVR).Get(ctx, "absent", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("get absent peer: %v", err)
	}
}

func drain(c <-chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

func nodeNamed(o Objects, name string) *corev1.Node {
	for _, n := range o.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

func hasNode(o Objects, name string) bool { return nodeNamed(o, name) != nil }

func hasPeer(o Objects, name string, keepalive int) bool {
	for _, p := range o.Peers {
		if p.Name == name && p.Spec.PersistentKeepalive == keepalive {
			return true
		}
	}
	return false
}
