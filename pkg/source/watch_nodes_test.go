package source

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
)

// recorder is a NodeObserver that remembers what it saw.
type recorder struct {
	mu      sync.Mutex
	seen    map[string]string
	every   map[string]time.Duration // the published heartbeat interval
	forgot  []string
	observe int
}

func (r *recorder) Observe(node, lastSeen string, interval time.Duration, ready topology.Readiness) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[node] = lastSeen
	if r.every != nil {
		r.every[node] = interval
	}
	r.observe++
	return false
}

func (r *recorder) Forget(node string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forgot = append(r.forgot, node)
}

func (r *recorder) get(node string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[node]
}

// TestWatcherHeartbeats: a heartbeat (a last-seen-only change) reaches the
// liveness observer but does not wake the reconciler; any other change
// does; a deletion is forgotten.
func TestWatcherHeartbeats(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "a", Annotations: map[string]string{
		translate.LastSeenKey: "100", translate.KeyKey: "k", translate.HeartbeatIntervalKey: "600",
	}}}
	cs := fake.NewSimpleClientset(node)
	dc := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{v1alpha1.PeerGVR: "PeerList"})
	w := NewWatcher(cs, dc, nil, 0)
	rec := &recorder{seen: map[string]string{}, every: map[string]time.Duration{}}
	w.ObserveNodes(rec)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := w.Start(ctx, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the initial adds
	drain(w.Changed())
	if got := rec.get("a"); got != "100" {
		t.Fatalf("observed last-seen %q at start, want 100", got)
	}
	rec.mu.Lock()
	if got := rec.every["a"]; got != 10*time.Minute {
		t.Errorf("observed heartbeat interval %s, want the published 600 s", got)
	}
	rec.mu.Unlock()

	patch := func(p string) {
		t.Helper()
		if _, err := cs.CoreV1().Nodes().Patch(ctx, "a", types.MergePatchType, []byte(p), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	patch(`{"metadata":{"annotations":{"kilo.squat.ai/last-seen":"130"}}}`)
	waitFor(t, func() bool { return rec.get("a") == "130" })
	select {
	case <-w.Changed():
		t.Fatal("a heartbeat woke the reconciler")
	case <-time.After(300 * time.Millisecond):
	}

	patch(`{"metadata":{"annotations":{"kilo.squat.ai/location":"west"}}}`)
	select {
	case <-w.Changed():
	case <-time.After(5 * time.Second):
		t.Fatal("a location change did not wake the reconciler")
	}

	if err := cs.CoreV1().Nodes().Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return len(rec.forgot) == 1 })
}

func TestHeartbeatOnly(t *testing.T) {
	base := func() *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"l": "1"},
			Annotations: map[string]string{translate.LastSeenKey: "1", translate.KeyKey: "k"}}}
	}
	for _, tc := range []struct {
		name   string
		change func(n *corev1.Node)
		want   bool
	}{
		{"last-seen", func(n *corev1.Node) { n.Annotations[translate.LastSeenKey] = "2" }, true},
		{"last-seen appears", func(n *corev1.Node) {}, true},
		{"status", func(n *corev1.Node) { n.Annotations[translate.StatusKey] = `{"v":1}` }, true},
		{"key", func(n *corev1.Node) { n.Annotations[translate.KeyKey] = "j" }, false},
		{"annotation added", func(n *corev1.Node) { n.Annotations[translate.LocationKey] = "x" }, false},
		{"annotation removed", func(n *corev1.Node) { delete(n.Annotations, translate.KeyKey) }, false},
		{"label", func(n *corev1.Node) { n.Labels["l"] = "2" }, false},
		{"pod CIDR", func(n *corev1.Node) { n.Spec.PodCIDR = "10.0.0.0/24" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, n := base(), base()
			if tc.name == "last-seen appears" {
				delete(o.Annotations, translate.LastSeenKey)
			}
			tc.change(n)
			if got := heartbeatOnly(o, n); got != tc.want {
				t.Errorf("heartbeatOnly = %v, want %v", got, tc.want)
			}
		})
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatal("condition not met within 5s")
}
