package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kgctl/kgctl/pkg/liveness"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// watchedCluster is a cluster behind a watch the test can cut: while
// down, patches fail and nothing the watch holds changes (the informer
// cache freezes); while up, every node's heartbeat reaches the tracker as
// the real watch delivers it.
type watchedCluster struct {
	fakeCluster
	tr   *liveness.Tracker
	down bool
}

func (w *watchedCluster) Annotate(ctx context.Context, node string, a map[string]*string) error {
	if w.down {
		return errors.New("connection refused")
	}
	if err := w.fakeCluster.Annotate(ctx, node, a); err != nil {
		return err
	}
	w.observeAll()
	return nil
}

func (w *watchedCluster) observeAll() {
	for _, n := range w.nodes {
		interval, _ := translate.HeartbeatInterval(n)
		w.tr.Observe(n.Name, n.Annotations[translate.LastSeenKey], interval, translate.Ready(n))
	}
}

// heartbeat is another node's agent checking in with its own clock.
func (w *watchedCluster) heartbeat(name string, at time.Time) {
	if w.down {
		return
	}
	for i, n := range w.nodes {
		if n.Name == name {
			v := strconv.FormatInt(at.Unix(), 10)
			w.nodes[i] = withAnnotations(n, map[string]*string{translate.LastSeenKey: &v})
		}
	}
	w.observeAll()
}

func remoteNode(name, location, pod string, key wireguard.Key, endpoint string, seen time.Time) *corev1.Node {
	return node(name, location, "", pod, map[string]string{
		translate.KeyKey: key.PublicKey().String(), translate.EndpointKey: endpoint,
		translate.LastSeenKey: strconv.FormatInt(seen.Unix(), 10),
	})
}

// TestLivenessOutageAndSkew: a control-plane outage of three minutes and
// clocks minutes apart drop nobody from the data plane; a node that
// really stops checking in is still dropped.
func TestLivenessOutageAndSkew(t *testing.T) {
	for _, tc := range []struct {
		name string
		// skew of b's and c's clocks against the agent's.
		skewB, skewC time.Duration
		steps        func(w *watchedCluster, tick func(time.Duration, ...string))
		wantPeers    int
	}{{
		name: "three-minute outage",
		steps: func(w *watchedCluster, tick func(time.Duration, ...string)) {
			tick(time.Minute, "b", "c")
			w.down = true
			tick(3*time.Minute, "b", "c")
		},
		wantPeers: 2,
	}, {
		name: "after the outage, before the others' first heartbeat",
		steps: func(w *watchedCluster, tick func(time.Duration, ...string)) {
			tick(time.Minute, "b", "c")
			w.down = true
			tick(3*time.Minute, "b", "c")
			w.down = false
			tick(10 * time.Second) // only our own write has come back
		},
		wantPeers: 2,
	}, {
		name:  "clocks five minutes off",
		skewB: -5 * time.Minute, skewC: 5 * time.Minute,
		steps: func(w *watchedCluster, tick func(time.Duration, ...string)) {
			tick(5*time.Minute, "b", "c")
		},
		wantPeers: 2,
	}, {
		name: "c stops checking in",
		steps: func(w *watchedCluster, tick func(time.Duration, ...string)) {
			tick(time.Minute, "b", "c")
			tick(2*time.Minute, "b")
		},
		wantPeers: 1,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Unix(1_800_000_000, 0)
			clock := func() time.Time { return now }
			settings := topology.DefaultSettings()
			tr := liveness.New(liveness.Options{Self: "a", StaleAfter: settings.StaleAfter, EchoGap: 30 * time.Second, Now: clock})
			w := &watchedCluster{tr: tr}
			w.nodes = []*corev1.Node{
				node("a", "east", "", "10.2.0.0/24", nil),
				remoteNode("b", "west", "10.2.1.0/24", wireguard.Key{0, 2}, "198.51.100.2:51820", now.Add(tc.skewB)),
				remoteNode("c", "south", "10.2.2.0/24", wireguard.Key{0, 3}, "198.51.100.3:51820", now.Add(tc.skewC)),
			}
			w.observeAll()
			h := &fakeHost{}
			a, err := New(Options{
				Self: Self{Name: "a", PrivateKey: wireguard.Key{0, 1}, InternalIP: netip.MustParsePrefix("10.0.0.1/24"),
					Endpoint: wireguard.Endpoint{Addr: netip.MustParseAddr("198.51.100.1"), Port: 51820}},
				Settings: settings, Cluster: w, Publisher: w, Data: h,
				ResyncPeriod: 10 * time.Second, Now: clock, Liveness: tr,
			})
			if err != nil {
				t.Fatal(err)
			}
			// tick advances the clock in resync periods: the named nodes
			// heartbeat with their own clocks, and the agent reconciles.
			tick := func(d time.Duration, beating ...string) {
				for end := now.Add(d); now.Before(end); {
					now = now.Add(10 * time.Second)
					for _, n := range beating {
						skew := map[string]time.Duration{"b": tc.skewB, "c": tc.skewC}[n]
						w.heartbeat(n, now.Add(skew))
					}
					_ = a.Reconcile(context.Background()) // fails while down: the patch
					if got := len(h.applied[len(h.applied)-1].WireGuard.Peers); got < tc.wantPeers {
						t.Fatalf("at %s: %d WireGuard peers, want %d", now.Format(time.TimeOnly), got, tc.wantPeers)
					}
				}
			}
			tick(10 * time.Second)
			tc.steps(w, tick)
			if got := len(h.applied[len(h.applied)-1].WireGuard.Peers); got != tc.wantPeers {
				t.Errorf("%d WireGuard peers at the end, want %d", got, tc.wantPeers)
			}
		})
	}
}

// readyNode is a kubelet node running a kgctl agent: Ready since a day,
// with the kgctl marker.
func readyNode(n *corev1.Node, status corev1.ConditionStatus, since time.Time) *corev1.Node {
	n = n.DeepCopy()
	n.Annotations[translate.HeartbeatIntervalKey] = "600"
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status, LastTransitionTime: metav1.NewTime(since)}}
	return n
}

// TestHeartbeatInterval: an agent writes last-seen every resync only
// while a reader needs it, else every --heartbeat-interval.
func TestHeartbeatInterval(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	day := now.Add(-24 * time.Hour)
	self := func(s corev1.ConditionStatus) *corev1.Node {
		return readyNode(node("a", "east", "", "10.2.0.0/24", map[string]string{}), s, day)
	}
	b := remoteNode("b", "west", "10.2.1.0/24", wireguard.Key{0, 2}, "198.51.100.2:51820", now)
	for _, tc := range []struct {
		name  string
		nodes []*corev1.Node
		// writes of last-seen in an hour of 30-second resyncs.
		min, max int
		why      string
	}{
		{"all Ready kgctl nodes", []*corev1.Node{self("True"), readyNode(b, "True", day)}, 6, 7, "no reader"},
		{"a Kilo agent (no marker)", []*corev1.Node{self("True"), func() *corev1.Node {
			n := readyNode(b, "True", day)
			delete(n.Annotations, translate.HeartbeatIntervalKey)
			return n
		}()}, 119, 121, "Kilo"},
		{"a node without a Ready condition", []*corev1.Node{self("True"), func() *corev1.Node {
			n := readyNode(b, "True", day)
			n.Status.Conditions = nil
			return n
		}()}, 119, 121, "no Ready condition"},
		{"this node not Ready (kubelet down)", []*corev1.Node{self("Unknown"), readyNode(b, "True", day)}, 119, 121, "not Ready"},
		{"this node without a Ready condition", []*corev1.Node{func() *corev1.Node {
			n := self("True")
			n.Status.Conditions = nil
			return n
		}(), readyNode(b, "True", day)}, 119, 121, "no Ready condition"},
		{"a node without a key reads nothing", []*corev1.Node{self("True"), readyNode(b, "True", day),
			node("c", "west", "", "10.2.2.0/24", map[string]string{})}, 6, 7, "no reader"},
		{"a Kilo node gone for a day reads nothing", []*corev1.Node{self("True"), readyNode(b, "True", day),
			remoteNode("c", "south", "10.2.2.0/24", wireguard.Key{0, 3}, "198.51.100.3:51820", day)}, 6, 7, "no reader"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := func() time.Time { return now }
			tr := liveness.New(liveness.Options{Self: "a", StaleAfter: time.Minute, EchoGap: 75 * time.Second, Now: clock})
			w := &watchedCluster{tr: tr}
			for _, n := range tc.nodes {
				w.nodes = append(w.nodes, n.DeepCopy())
			}
			w.observeAll()
			h := &fakeHost{}
			a := newLivenessAgent(t, w, h, tr, clock)
			if err := a.Reconcile(context.Background()); err != nil { // start: publishes everything
				t.Fatal(err)
			}
			start := len(w.patches)
			for range 120 {
				now = now.Add(30 * time.Second)
				w.heartbeat("b", now) // as a Kilo agent does; kgctl's would less often
				if err := a.Reconcile(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			writes := 0
			for _, p := range w.patches[start:] {
				if _, ok := p[translate.LastSeenKey]; ok {
					writes++
				}
			}
			if writes < tc.min || writes > tc.max {
				t.Errorf("%d last-seen writes in an hour, want %d-%d", writes, tc.min, tc.max)
			}
			if !strings.Contains(a.heartbeat.reason, tc.why) {
				t.Errorf("heartbeat reason %q, want it to say %q", a.heartbeat.reason, tc.why)
			}
			if got := w.nodes[0].Annotations[translate.HeartbeatIntervalKey]; got != "600" {
				t.Errorf("published %s = %q, want 600", translate.HeartbeatIntervalKey, got)
			}
			if got := len(h.applied[len(h.applied)-1].WireGuard.Peers); got != 1 {
				t.Errorf("%d WireGuard peers at the end, want 1 (b)", got)
			}
			if got := tr.Status().Outages; got != 0 {
				t.Errorf("%d outages counted", got)
			}
		})
	}
}

// newLivenessAgent is node a's agent on w, with the resync and heartbeat
// interval of the liveness tests.
func newLivenessAgent(t *testing.T, w *watchedCluster, h *fakeHost, tr *liveness.Tracker, clock func() time.Time) *Agent {
	t.Helper()
	a, err := New(Options{
		Self: Self{Name: "a", PrivateKey: wireguard.Key{0, 1}, InternalIP: netip.MustParsePrefix("10.0.0.1/24"),
			Endpoint: wireguard.Endpoint{Addr: netip.MustParseAddr("198.51.100.1"), Port: 51820}},
		Settings: topology.DefaultSettings(), Cluster: w, Publisher: w, Data: h,
		ResyncPeriod: 30 * time.Second, HeartbeatInterval: 10 * time.Minute, Now: clock, Liveness: tr,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestLivenessReady: through the agent, nodes with a Ready condition stay
// in the mesh with a last-seen ten minutes old; a node that turns Unknown
// and whose agent is gone leaves after the limit; one whose agent still
// heartbeats (kubelet down) stays.
func TestLivenessReady(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	tr := liveness.New(liveness.Options{Self: "a", StaleAfter: time.Minute, EchoGap: 75 * time.Second, Now: clock})
	w := &watchedCluster{tr: tr}
	w.nodes = threeReadyNodes(now)
	w.observeAll()
	h := &fakeHost{}
	a := newLivenessAgent(t, w, h, tr, clock)
	peers := func() int { return len(h.applied[len(h.applied)-1].WireGuard.Peers) }
	setReady := func(name string, s corev1.ConditionStatus) {
		for i, n := range w.nodes {
			if n.Name == name {
				n = n.DeepCopy()
				n.Status.Conditions[0].Status, n.Status.Conditions[0].LastTransitionTime = s, metav1.NewTime(now)
				w.nodes[i] = n
			}
		}
		w.observeAll()
	}
	// run reconciles every resync for d; beating nodes heartbeat each time.
	run := func(d time.Duration, beating ...string) {
		for end := now.Add(d); now.Before(end); {
			now = now.Add(30 * time.Second)
			for _, n := range beating {
				w.heartbeat(n, now)
			}
			if err := a.Reconcile(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	run(30 * time.Minute) // nobody else heartbeats: Ready decides
	if got := peers(); got != 2 {
		t.Fatalf("%d peers after 30 minutes of Ready nodes without heartbeats, want 2", got)
	}
	setReady("c", "Unknown") // c's kubelet and agent are gone
	run(time.Minute)
	if got := peers(); got != 2 {
		t.Fatalf("%d peers a minute after c turned Unknown, want still 2", got)
	}
	run(time.Minute)
	if got := peers(); got != 1 {
		t.Fatalf("%d peers two minutes after c turned Unknown, want 1", got)
	}
	setReady("b", "False") // b's kubelet is down, its agent heartbeats every resync
	run(5*time.Minute, "b")
	if got := peers(); got != 1 {
		t.Fatalf("%d peers with b not Ready but heartbeating, want 1 (b)", got)
	}
	setReady("c", "True") // c's kubelet and agent are back
	run(30*time.Second, "c")
	if got := peers(); got != 2 {
		t.Fatalf("%d peers after c is Ready again, want 2", got)
	}
}

// TestLivenessReadyAgentGone: through the agent, a Ready kgctl node whose
// agent is gone (kubelet runs) leaves the mesh once its last-seen, as
// this agent observes it, has not changed for 3 × its published interval
// plus the limit (31 minutes, aged up to this agent's echoes every 10
// minutes), and comes back with its next heartbeat; a Ready Kilo node
// (no marker) stays whatever its last-seen; an hour without the API
// server prunes nobody.
func TestLivenessReadyAgentGone(t *testing.T) {
	type world struct {
		w *watchedCluster
		// run reconciles every resync for d; the beating nodes heartbeat
		// every 10 minutes, as kgctl agents do when nobody needs more.
		run func(d time.Duration, beating ...string)
		// beat is a node's heartbeat now.
		beat  func(name string)
		peers func() int
	}
	for _, tc := range []struct {
		name  string
		steps func(w world) error
	}{{
		name: "b's agent gone: in at 30 minutes, out by 41, back with its heartbeat",
		steps: func(w world) error {
			w.run(30*time.Minute, "c")
			if got := w.peers(); got != 2 {
				return fmt.Errorf("%d peers 30 minutes after b's last heartbeat, want 2", got)
			}
			w.run(11*time.Minute, "c")
			if got := w.peers(); got != 1 {
				return fmt.Errorf("%d peers 41 minutes after b's last heartbeat, want 1 (c)", got)
			}
			w.beat("b")
			w.run(30*time.Second, "c")
			if got := w.peers(); got != 2 {
				return fmt.Errorf("%d peers after b heartbeats again, want 2", got)
			}
			return nil
		},
	}, {
		name: "the API server away for an hour: nobody pruned, during or after",
		steps: func(w world) error {
			w.run(5*time.Minute, "b", "c")
			w.w.down = true
			for range 6 {
				w.run(10*time.Minute, "b", "c") // their writes fail too
				if got := w.peers(); got != 2 {
					return fmt.Errorf("%d peers during the outage, want 2", got)
				}
			}
			w.w.down = false
			w.run(30 * time.Second) // only our own write has come back
			if got := w.peers(); got != 2 {
				return fmt.Errorf("%d peers after the outage, before the others' heartbeats, want 2", got)
			}
			w.run(20*time.Minute, "b", "c")
			if got := w.peers(); got != 2 {
				return fmt.Errorf("%d peers 20 minutes after the outage, want 2", got)
			}
			return nil
		},
	}, {
		name: "a Ready Kilo node whose heartbeat stopped stays",
		steps: func(w world) error {
			for i, n := range w.w.nodes {
				if n.Name == "b" {
					w.w.nodes[i] = withAnnotations(n, map[string]*string{translate.HeartbeatIntervalKey: nil})
				}
			}
			w.w.observeAll()
			w.run(2*time.Hour, "c")
			if got := w.peers(); got != 2 {
				return fmt.Errorf("%d peers two hours after the Kilo node's last heartbeat, want 2", got)
			}
			return nil
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Unix(1_800_000_000, 0)
			clock := func() time.Time { return now }
			tr := liveness.New(liveness.Options{Self: "a", StaleAfter: time.Minute, EchoGap: 75 * time.Second, Now: clock})
			wc := &watchedCluster{tr: tr}
			wc.nodes = threeReadyNodes(now)
			wc.observeAll()
			h := &fakeHost{}
			a := newLivenessAgent(t, wc, h, tr, clock)
			last := map[string]time.Time{"b": now, "c": now}
			w := world{w: wc,
				beat: func(n string) {
					wc.heartbeat(n, now)
					if !wc.down {
						last[n] = now
					}
				},
				peers: func() int { return len(h.applied[len(h.applied)-1].WireGuard.Peers) },
			}
			w.run = func(d time.Duration, beating ...string) {
				for end := now.Add(d); now.Before(end); {
					now = now.Add(30 * time.Second)
					for _, n := range beating {
						if now.Sub(last[n]) >= 10*time.Minute {
							w.beat(n)
						}
					}
					_ = a.Reconcile(context.Background()) // fails while down: the patch
				}
			}
			if err := a.Reconcile(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := tc.steps(w); err != nil {
				t.Fatal(err)
			}
			if a.heartbeat.every != 10*time.Minute {
				t.Errorf("the agent writes last-seen every %s (%s), want 10m", a.heartbeat.every, a.heartbeat.reason)
			}
		})
	}
}

// threeReadyNodes is the agent's own node a (east) and two others (west,
// south) with fresh heartbeats at now, all Ready since a day before.
func threeReadyNodes(now time.Time) []*corev1.Node {
	day := now.Add(-24 * time.Hour)
	return []*corev1.Node{
		readyNode(node("a", "east", "", "10.2.0.0/24", map[string]string{}), "True", day),
		readyNode(remoteNode("b", "west", "10.2.1.0/24", wireguard.Key{0, 2}, "198.51.100.2:51820", now), "True", day),
		readyNode(remoteNode("c", "south", "10.2.2.0/24", wireguard.Key{0, 3}, "198.51.100.3:51820", now), "True", day),
	}
}
