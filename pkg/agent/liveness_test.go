package agent

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

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
		w.tr.Observe(n.Name, n.Annotations[translate.LastSeenKey])
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
				ResyncPeriod: 10 * time.Second, Now: clock, LastSeen: tr.LastSeen,
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
