package source

import (
	"context"
	"strconv"
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
	"github.com/kgctl/kgctl/pkg/translate"
)

// A status update that changes only tunnel counts stays a heartbeat; one
// that sets, clears or moves "demoted" wakes the reconciler (it moves a
// location's leader).
func TestHeartbeatOnlyDemoted(t *testing.T) {
	const (
		up       = `{"v":1,"up":2}`
		down     = `{"v":1,"up":1,"down":["b"]}`
		demoted  = `{"v":1,"up":0,"down":["b"],"demoted":1800000000}`
		demoted2 = `{"v":1,"up":0,"down":["b","c"],"demoted":1800000000}`
		later    = `{"v":1,"up":0,"down":["b"],"demoted":1800000100}`
	)
	for _, tc := range []struct {
		name     string
		old, new string // "" : no status annotation
		want     bool
	}{
		{"counts only", up, down, true},
		{"status appears without demoted", "", up, true},
		{"demoted set", down, demoted, false},
		{"demoted appears with the status", "", demoted, false},
		{"demoted cleared", demoted, up, false},
		{"status removed while demoted", demoted, "", false},
		{"demoted kept, counts change", demoted, demoted2, true},
		{"demoted moved", demoted, later, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mk := func(status string) *corev1.Node {
				n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "a", Annotations: map[string]string{translate.KeyKey: "k"}}}
				if status != "" {
					n.Annotations[translate.StatusKey] = status
				}
				return n
			}
			if got := heartbeatOnly(mk(tc.old), mk(tc.new)); got != tc.want {
				t.Errorf("heartbeatOnly = %v, want %v", got, tc.want)
			}
		})
	}
}

// Through client-go's informer: a demotion wakes the reconciler, a
// status change without one does not.
func TestWatcherWakesOnDemoted(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "a", Annotations: map[string]string{
		translate.KeyKey: "k", translate.StatusKey: `{"v":1,"up":2}`,
	}}}
	cs := fake.NewSimpleClientset(node)
	dc := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{v1alpha1.PeerGVR: "PeerList"})
	w := NewWatcher(cs, dc, nil, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := w.Start(ctx, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the initial add
	drain(w.Changed())
	status := func(v string) {
		t.Helper()
		p := `{"metadata":{"annotations":{"kilo.squat.ai/status":` + strconv.Quote(v) + `}}}`
		if _, err := cs.CoreV1().Nodes().Patch(ctx, "a", types.MergePatchType, []byte(p), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	status(`{"v":1,"up":1,"down":["b"]}`)
	select {
	case <-w.Changed():
		t.Fatal("a status change without demoted woke the reconciler")
	case <-time.After(300 * time.Millisecond):
	}
	status(`{"v":1,"up":0,"down":["b"],"demoted":1800000000}`)
	select {
	case <-w.Changed():
	case <-time.After(5 * time.Second):
		t.Fatal("a demotion did not wake the reconciler")
	}
}
