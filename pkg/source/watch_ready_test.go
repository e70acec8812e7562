package source

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/liveness"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

func readyCondition(status corev1.ConditionStatus, since, beat time.Time) corev1.NodeCondition {
	return corev1.NodeCondition{Type: corev1.NodeReady, Status: status,
		LastTransitionTime: metav1.NewTime(since), LastHeartbeatTime: metav1.NewTime(beat), Reason: "KubeletReady"}
}

// countingTracker is a liveness.Tracker on a test clock that counts what
// it observes.
type countingTracker struct {
	*liveness.Tracker
	mu       sync.Mutex
	now      time.Time
	observed int
}

func newCountingTracker(now time.Time) *countingTracker {
	c := &countingTracker{now: now}
	c.Tracker = liveness.New(liveness.Options{Self: "self", StaleAfter: time.Minute, Now: func() time.Time {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.now
	}})
	return c
}

func (c *countingTracker) Observe(node, lastSeen string, interval time.Duration, ready topology.Readiness) bool {
	changed := c.Tracker.Observe(node, lastSeen, interval, ready)
	c.mu.Lock()
	c.observed++
	c.mu.Unlock()
	return changed
}

func (c *countingTracker) count() int { c.mu.Lock(); defer c.mu.Unlock(); return c.observed }
func (c *countingTracker) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// startReadyWatch runs a Watcher with observer o over one Ready node "a".
func startReadyWatch(t *testing.T, t0 time.Time, o NodeObserver) (*Watcher, *fake.Clientset, func(func(*corev1.Node))) {
	t.Helper()
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "a", Annotations: map[string]string{translate.LastSeenKey: "100", translate.KeyKey: "k"}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
			readyCondition(corev1.ConditionTrue, t0, t0),
			{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, LastHeartbeatTime: metav1.NewTime(t0)},
		}},
	}
	cs := fake.NewSimpleClientset(node)
	dc := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{v1alpha1.PeerGVR: "PeerList"})
	w := NewWatcher(cs, dc, nil, 0)
	if o != nil {
		w.ObserveNodes(o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := w.Start(ctx, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the initial adds
	drain(w.Changed())
	update := func(change func(n *corev1.Node)) {
		t.Helper()
		n, err := cs.CoreV1().Nodes().Get(ctx, "a", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		change(n)
		if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return w, cs, update
}

func cachedReady(w *Watcher) topology.Readiness {
	for _, n := range w.Objects().Nodes {
		if n.Name == "a" {
			return translate.Ready(n)
		}
	}
	return topology.Readiness{}
}

// TestWatcherReadyCondition, through client-go's informer and the real
// tracker: kubelet's status reports (lastHeartbeatTime moving, other
// conditions churning) and a Ready reason change do not wake the
// reconciler; nor does Ready turning Unknown (the node stays for the
// staleness limit; the resync after it drops the node); Ready again
// after the node went stale does. The cache keeps only the Ready
// condition's status and transition time.
func TestWatcherReadyCondition(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	tr := newCountingTracker(t0)
	w, _, update := startReadyWatch(t, t0, tr)
	quiet := func(what string, observed int) {
		t.Helper()
		waitFor(t, func() bool { return tr.count() > observed })
		select {
		case <-w.Changed():
			t.Fatalf("%s woke the reconciler", what)
		case <-time.After(300 * time.Millisecond):
		}
	}
	woken := func(what string) {
		t.Helper()
		select {
		case <-w.Changed():
		case <-time.After(5 * time.Second):
			t.Fatalf("%s did not wake the reconciler", what)
		}
	}
	stale := func() bool {
		n := topology.Node{Name: "a", LastSeen: time.Unix(100, 0), Ready: cachedReady(w)}
		tr.Adjust(&n)
		s := topology.DefaultSettings()
		tr.mu.Lock()
		s.Now = tr.now
		tr.mu.Unlock()
		m, err := topology.Build(topology.Cluster{Settings: s, Nodes: []topology.Node{func() topology.Node {
			n.Key, n.PodCIDRs = wireguard.Key{1}, []netip.Prefix{netip.MustParsePrefix("10.2.0.0/24")}
			n.Endpoint = wireguard.Endpoint{Addr: netip.MustParseAddr("198.51.100.1"), Port: 51820}
			return n
		}()}})
		if err != nil {
			t.Fatal(err)
		}
		return len(m.Segments) == 0
	}

	for i := 1; i <= 3; i++ { // kubelet's status report every few minutes
		o := tr.count()
		update(func(n *corev1.Node) {
			beat := t0.Add(time.Duration(i) * 5 * time.Minute)
			n.Status.Conditions[0].LastHeartbeatTime = metav1.NewTime(beat)
			n.Status.Conditions[1].LastHeartbeatTime = metav1.NewTime(beat)
			n.Status.Conditions[1].Status = corev1.ConditionStatus([]string{"False", "True", "False"}[i-1])
		})
		quiet("a condition heartbeat", o)
	}
	o := tr.count()
	update(func(n *corev1.Node) { n.Status.Conditions[0].Reason = "KubeletStillReady" })
	quiet("a Ready reason change", o)

	since := t0.Add(20 * time.Minute)
	o = tr.count()
	update(func(n *corev1.Node) { n.Status.Conditions[0] = readyCondition(corev1.ConditionUnknown, since, since) })
	quiet("Ready turning Unknown", o)
	if got := cachedReady(w); got.Status != "Unknown" || !got.Since.Equal(since) {
		t.Errorf("cached Ready %+v, want Unknown since %v", got, since)
	}
	if stale() {
		t.Fatal("stale as soon as it turned Unknown")
	}
	tr.add(2 * time.Minute)
	if !stale() {
		t.Fatal("not stale two minutes after it turned Unknown")
	}
	objs := w.Objects()
	if got := objs.Nodes[0].Status.Conditions; len(got) != 1 || got[0].Type != corev1.NodeReady || got[0].Status != corev1.ConditionUnknown ||
		!got[0].LastTransitionTime.Time.Equal(since) || !got[0].LastHeartbeatTime.IsZero() || got[0].Reason != "" {
		t.Errorf("cached conditions = %+v, want only Ready's status and transition time", got)
	}

	update(func(n *corev1.Node) { n.Status.Conditions[0] = readyCondition(corev1.ConditionTrue, since, since) })
	woken("Ready again after the node went stale")
	if stale() {
		t.Error("stale after Ready again")
	}
}

// TestWatcherReadyWithoutObserver: with no liveness observer to judge, a
// Ready change wakes the reconciler (the engine then reads the condition).
func TestWatcherReadyWithoutObserver(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	w, _, update := startReadyWatch(t, t0, nil)
	update(func(n *corev1.Node) { n.Status.Conditions[0].LastHeartbeatTime = metav1.NewTime(t0.Add(time.Minute)) })
	select {
	case <-w.Changed():
		t.Fatal("a condition heartbeat woke the reconciler")
	case <-time.After(500 * time.Millisecond):
	}
	update(func(n *corev1.Node) { n.Status.Conditions[0] = readyCondition(corev1.ConditionFalse, t0, t0) })
	select {
	case <-w.Changed():
	case <-time.After(5 * time.Second):
		t.Fatal("Ready turning False did not wake the reconciler")
	}
}

func TestReadyChanged(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	base := func() *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "a", Annotations: map[string]string{translate.KeyKey: "k"}}}
		n.Status.Conditions = []corev1.NodeCondition{readyCondition(corev1.ConditionTrue, t0, t0)}
		t, _ := trimNode(n)
		return t.(*corev1.Node)
	}
	for _, tc := range []struct {
		name   string
		change func(n *corev1.Node)
		want   bool
	}{
		{"nothing", func(n *corev1.Node) {}, false},
		{"heartbeat time", func(n *corev1.Node) { n.Status.Conditions[0].LastHeartbeatTime = metav1.NewTime(t0.Add(time.Minute)) }, false},
		{"Ready to False", func(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionFalse }, true},
		{"transition time", func(n *corev1.Node) { n.Status.Conditions[0].LastTransitionTime = metav1.NewTime(t0.Add(time.Minute)) }, true},
		{"condition gone", func(n *corev1.Node) { n.Status.Conditions = nil }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, n := base(), base()
			tc.change(n)
			if got := readyChanged(o, n); got != tc.want {
				t.Errorf("readyChanged = %v, want %v", got, tc.want)
			}
			// Ready changes are the tracker's to judge, not the filter's.
			if !heartbeatOnly(o, n) {
				t.Error("heartbeatOnly = false for a status-only change")
			}
		})
	}
}
