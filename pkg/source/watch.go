package source

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
)

// Watcher keeps a live copy of the cluster's Nodes and Peers with
// informers, trimmed to what the mesh reads (an agent on every node of a
// 10,000-node cluster must not hold every node's full status).
type Watcher struct {
	nodes   cache.SharedIndexInformer
	peers   cache.SharedIndexInformer
	changed chan struct{}
	// PeersAvailable is false when the Peer CRD is not installed.
	PeersAvailable bool

	// log, when set, hears of each Peer version that does not decode.
	log *slog.Logger

	mu       sync.Mutex
	lastErrs []string
	observer NodeObserver
}

// NodeObserver sees every Node heartbeat (with the heartbeat interval
// the node publishes, zero for none) and Ready condition the watch
// delivers, including those that do not wake the reconciler
// (pkg/liveness.Tracker is one). Observe reports whether the node's
// liveness changed with it: only then does a heartbeat or a Ready change
// wake the reconciler.
type NodeObserver interface {
	Observe(node, lastSeen string, interval time.Duration, ready topology.Readiness) (changed bool)
	Forget(node string)
}

// LogPeerProblems logs each version of a Peer that does not decode, once,
// as it enters the cache; call it before Start.
func (w *Watcher) LogPeerProblems(l *slog.Logger) { w.log = l }

// ObserveNodes sets the heartbeat observer; call it before Start.
func (w *Watcher) ObserveNodes(o NodeObserver) { w.observer = o }

// NewWatcher prepares informers; nothing is contacted until Start.
func NewWatcher(cs kubernetes.Interface, dc dynamic.Interface, disc discovery.DiscoveryInterface, resync time.Duration) *Watcher {
	w := &Watcher{changed: make(chan struct{}, 1)}
	nf := informers.NewSharedInformerFactoryWithOptions(cs, resync, informers.WithTransform(trimNode))
	w.nodes = nf.Core().V1().Nodes().Informer()
	w.PeersAvailable = peersServed(disc)
	if w.PeersAvailable {
		df := dynamicinformer.NewDynamicSharedInformerFactory(dc, resync)
		w.peers = df.ForResource(v1alpha1.PeerGVR).Informer()
		_ = w.peers.SetTransform(w.toPeer)
	}
	_, _ = w.nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { w.observe(obj); w.notify() },
		UpdateFunc: func(old, obj any) {
			changed := w.observe(obj)
			// A heartbeat alone changes nothing in the mesh: waking every
			// agent on every node's heartbeat would cost N reconciles per
			// heartbeat period on each of N nodes (Kilo ignores them too).
			// Nor does a Ready change, unless it changes the node's
			// liveness now (a node dropped comes back): a node turning
			// Unknown stays for the staleness limit, and the resync after
			// that drops it. Without an observer, a Ready change wakes.
			if changed || !heartbeatOnly(old, obj) || (w.observer == nil && readyChanged(old, obj)) {
				w.notify()
			}
		},
		DeleteFunc: func(obj any) { w.forget(obj); w.notify() },
	})
	if w.peers != nil {
		_, _ = w.peers.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { w.notify() },
			UpdateFunc: func(any, any) { w.notify() },
			DeleteFunc: func(any) { w.notify() },
		})
	}
	for _, inf := range w.informers() {
		_ = inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
			w.mu.Lock()
			w.lastErrs = append(w.lastErrs[max(0, len(w.lastErrs)-9):], err.Error())
			w.mu.Unlock()
		})
	}
	return w
}

// peersServed is false only when the API server says it serves no Peers.
// Any other failure (the API server unreachable while the agent starts,
// as in a control-plane outage or a node booting before it) counts as
// served: the informer lists the Peers once the server answers, and an
// agent must not run without them until someone restarts it.
func peersServed(disc discovery.DiscoveryInterface) bool {
	if disc == nil {
		return true
	}
	rl, err := disc.ServerResourcesForGroupVersion(v1alpha1.SchemeGroupVersion.String())
	if err != nil {
		return !apierrors.IsNotFound(err)
	}
	for _, r := range rl.APIResources {
		if r.Name == v1alpha1.PeerPlural {
			return true
		}
	}
	return false
}

func (w *Watcher) informers() []cache.SharedIndexInformer {
	if w.peers == nil {
		return []cache.SharedIndexInformer{w.nodes}
	}
	return []cache.SharedIndexInformer{w.nodes, w.peers}
}

func (w *Watcher) notify() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

func (w *Watcher) observe(obj any) (changed bool) {
	if n, ok := obj.(*corev1.Node); ok && w.observer != nil {
		interval, _ := translate.HeartbeatInterval(n) // a bad value: none (translate.Node reports it)
		return w.observer.Observe(n.Name, n.Annotations[translate.LastSeenKey], interval, translate.Ready(n))
	}
	return false
}

func (w *Watcher) forget(obj any) {
	if w.observer == nil {
		return
	}
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if n, ok := obj.(*corev1.Node); ok {
		w.observer.Forget(n.Name)
	}
}

// heartbeatOnly reports whether two versions of a trimmed Node differ at
// most in what agents report about themselves and the mesh does not read
// (last-seen, the tunnel status but its "demoted" field) and in their
// resource version.
func heartbeatOnly(oldObj, newObj any) bool {
	o, ok1 := oldObj.(*corev1.Node)
	n, ok2 := newObj.(*corev1.Node)
	if !ok1 || !ok2 || o.Name != n.Name || o.UID != n.UID || o.Spec.PodCIDR != n.Spec.PodCIDR ||
		!slices.Equal(o.Spec.PodCIDRs, n.Spec.PodCIDRs) || !maps.Equal(o.Labels, n.Labels) {
		return false
	}
	if !equalExcept(o.Annotations, n.Annotations, translate.LastSeenKey, translate.StatusKey) {
		return false
	}
	// A node giving up leadership, or taking it back, moves its location's
	// leader: every agent must hear of it (docs/failover.md).
	od, _ := translate.Demoted(o.Annotations[translate.StatusKey])
	nd, _ := translate.Demoted(n.Annotations[translate.StatusKey])
	return od.Equal(nd)
}

// readyChanged reports whether two versions of a Node differ in their
// Ready condition (status or transition time; kubelet's condition
// heartbeats are trimmed away).
func readyChanged(oldObj, newObj any) bool {
	o, ok1 := oldObj.(*corev1.Node)
	n, ok2 := newObj.(*corev1.Node)
	if !ok1 || !ok2 {
		return true
	}
	ro, rn := translate.Ready(o), translate.Ready(n)
	return ro.Status != rn.Status || !ro.Since.Equal(rn.Since)
}

// equalExcept compares two maps ignoring some keys.
func equalExcept(a, b map[string]string, skip ...string) bool {
	na, nb := len(a), len(b)
	for _, k := range skip {
		if _, ok := a[k]; ok {
			na--
		}
		if _, ok := b[k]; ok {
			nb--
		}
	}
	if na != nb {
		return false
	}
	for k, v := range a {
		if slices.Contains(skip, k) {
			continue
		}
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Changed signals (coalesced) that some Node or Peer changed.
func (w *Watcher) Changed() <-chan struct{} { return w.changed }

// Start runs the informers until ctx ends and waits for their first
// list. Until it returns nil, the caller must not act on Objects: an
// empty cache is not an empty cluster.
func (w *Watcher) Start(ctx context.Context, timeout time.Duration) error {
	var synced []cache.InformerSynced
	for _, inf := range w.informers() {
		go inf.Run(ctx.Done())
		synced = append(synced, inf.HasSynced)
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if !cache.WaitForCacheSync(wctx.Done(), synced...) {
		w.mu.Lock()
		defer w.mu.Unlock()
		return fmt.Errorf("watch: nodes and peers not listed within %s: %s", timeout, strings.Join(w.lastErrs, "; "))
	}
	return nil
}

// Objects returns the current cache. The objects are shared: read only.
func (w *Watcher) Objects() Objects {
	var o Objects
	for _, obj := range w.nodes.GetStore().List() {
		if n, ok := obj.(*corev1.Node); ok {
			o.Nodes = append(o.Nodes, n)
		}
	}
	if w.peers != nil {
		for _, obj := range w.peers.GetStore().List() {
			switch p := obj.(type) {
			case *v1alpha1.Peer:
				o.Peers = append(o.Peers, p)
			case *undecodedPeer:
				o.Problems = append(o.Problems, p.problem)
			}
		}
	}
	o.Sort()
	return o
}

// trimNode keeps what the mesh reads: name, labels, Kilo's annotations,
// pod CIDRs. ~1 KiB instead of ~25 KiB per node.
func trimNode(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	out := &corev1.Node{}
	out.Name = n.Name
	out.UID = n.UID
	out.ResourceVersion = n.ResourceVersion
	out.Labels = n.Labels
	if len(n.Annotations) > 0 {
		out.Annotations = make(map[string]string)
		for k, v := range n.Annotations {
			if strings.HasPrefix(k, translate.AnnotationPrefix) {
				out.Annotations[k] = v
			}
		}
	}
	out.Spec.PodCIDR = n.Spec.PodCIDR
	out.Spec.PodCIDRs = n.Spec.PodCIDRs
	// Of the status, only the Ready condition's status and transition
	// time (liveness): not its heartbeat time, which kubelet moves every
	// few minutes, nor the other conditions.
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			out.Status.Conditions = []corev1.NodeCondition{{Type: c.Type, Status: c.Status, LastTransitionTime: c.LastTransitionTime}}
		}
	}
	return out, nil
}

// toPeer turns the dynamic informer's objects into typed Peers once, at
// the cache's door, instead of on every reconcile. It never fails: an
// error here would stop the informer from ever syncing, and so every
// agent at start, for one bad Peer. A Peer that does not decode is kept
// as an undecodedPeer (reported by Objects) and logged once per version.
func (w *Watcher) toPeer(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	p, pr := decodePeer(u)
	if pr == nil {
		return p, nil
	}
	if w.log != nil {
		w.log.Warn("Peer left out of the mesh", "problem", pr.String())
	}
	out := &undecodedPeer{problem: *pr}
	out.Name, out.UID, out.ResourceVersion = u.GetName(), u.GetUID(), u.GetResourceVersion()
	return out, nil
}
