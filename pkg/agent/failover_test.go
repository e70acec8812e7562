package agent

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kgctl/kgctl/pkg/health"
	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

func TestDecideDemotion(t *testing.T) {
	const self = "a1"
	base := demotion{Self: self, Leader: true, Others: 1, Probed: 2, Silent: 10 * time.Second, Window: 10 * time.Second}
	with := func(f func(*demotion)) demotion { d := base; f(&d); return d }
	w := func(status string) []witness { return []witness{{Name: "b1", Status: status}} }
	tests := map[string]struct {
		in   demotion
		want bool
	}{
		"witness reports self down, one tunnel up": {with(func(d *demotion) { d.Witnesses = w(`{"v":1,"up":1,"down":["a1"]}`) }), true},
		"witness reports self never up":            {with(func(d *demotion) { d.Witnesses = w(`{"v":1,"up":2,"never":["a1"]}`) }), true},
		"witness's down list cut to its bound":     {with(func(d *demotion) { d.Witnesses = w(`{"v":1,"up":1,"down":["x"],"downMore":3}`) }), true},
		"second witness counts": {with(func(d *demotion) {
			d.Witnesses = append(w(`{"v":1,"up":0}`), witness{"c1", `{"v":1,"up":1,"down":["a1"]}`})
		}), true},
		"no witness at all (two segments)": {base, false},
		"witness without status":           {with(func(d *demotion) { d.Witnesses = w("") }), false},
		"witness hears self":               {with(func(d *demotion) { d.Witnesses = w(`{"v":1,"up":2}`) }), false},
		"witness down too (nothing up)":    {with(func(d *demotion) { d.Witnesses = w(`{"v":1,"up":0,"down":["a1","c1"]}`) }), false},
		"witness status does not decode":   {with(func(d *demotion) { d.Witnesses = w(`{"v":1,"up":"x"}`) }), false},
		"self is no witness":               {with(func(d *demotion) { d.Witnesses = []witness{{self, `{"v":1,"up":1,"down":["a1"]}`}} }), false},
		"silent shorter than the window": {with(func(d *demotion) {
			d.Silent = 9 * time.Second
			d.Witnesses = w(`{"v":1,"up":1,"down":["a1"]}`)
		}), false},
		"nobody to take over": {with(func(d *demotion) {
			d.Others = 0
			d.Witnesses = w(`{"v":1,"up":1,"down":["a1"]}`)
		}), false},
		"not a leader": {with(func(d *demotion) {
			d.Leader = false
			d.Witnesses = w(`{"v":1,"up":1,"down":["a1"]}`)
		}), false},
		"already demoted": {with(func(d *demotion) {
			d.Demoted = true
			d.Witnesses = w(`{"v":1,"up":1,"down":["a1"]}`)
		}), false},
		"nothing probed": {with(func(d *demotion) {
			d.Probed = 0
			d.Witnesses = w(`{"v":1,"up":1,"down":["a1"]}`)
		}), false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, why := decideDemotion(tt.in)
			if got != tt.want {
				t.Errorf("decideDemotion = %v (%s), want %v", got, why, tt.want)
			}
		})
	}
}

// recordingProber remembers each round of probes.
type recordingProber struct{ rounds [][]netip.Addr }

func (p *recordingProber) Probe(t []netip.Addr) error {
	p.rounds = append(p.rounds, slices.Clone(t))
	return nil
}

// failoverWorld is one agent (a1) in a cluster of three locations: east
// (a1, a2), north (c1), west (b1); the test drives its probe ticks and
// the other leaders' received bytes and statuses.
type failoverWorld struct {
	t       *testing.T
	now     time.Time
	cluster *fakeCluster
	host    *samplingHost
	prober  *recordingProber
	a       *Agent
	keys    map[string]wireguard.Key
	rx      int64
}

func meshNodeAt(name, location, internal string, pod string, key wireguard.Key, endpoint string) *corev1.Node {
	return node(name, location, "", pod, map[string]string{
		translate.KeyKey: key.PublicKey().String(), translate.EndpointKey: endpoint, translate.InternalIPKey: internal,
	})
}

func newFailoverWorld(t *testing.T) *failoverWorld {
	w := &failoverWorld{t: t, now: time.Unix(1_800_000_000, 0), keys: map[string]wireguard.Key{
		"a1": {0, 1}, "a2": {0, 2}, "b1": {0, 3}, "c1": {0, 4},
	}}
	w.cluster = &fakeCluster{nodes: []*corev1.Node{
		node("a1", "east", "", "10.2.1.0/24", nil),
		meshNodeAt("a2", "east", "10.0.1.12/24", "10.2.2.0/24", w.keys["a2"], "10.0.1.12:51820"),
		meshNodeAt("b1", "west", "10.0.2.11/24", "10.2.3.0/24", w.keys["b1"], "10.0.2.11:51820"),
		meshNodeAt("c1", "north", "10.0.3.11/24", "10.2.4.0/24", w.keys["c1"], "10.0.3.11:51820"),
	}}
	w.start()
	return w
}

// start (re)starts a1's agent, as after a restart: fresh memory.
func (w *failoverWorld) start() {
	w.host = &samplingHost{}
	w.prober = &recordingProber{}
	s := topology.DefaultSettings()
	s.StaleAfter = 0
	a, err := New(Options{
		Self: Self{Name: "a1", PrivateKey: w.keys["a1"], InternalIP: netip.MustParsePrefix("10.0.1.11/24"),
			Endpoint: wireguard.Endpoint{Addr: netip.MustParseAddr("10.0.1.11"), Port: 51820}},
		Settings:     s,
		Host:         HostConfig{Interface: "kilo0", PrivateInterface: "eth0", MeshTable: 1107, EncapTable: 1108},
		Cluster:      w.cluster,
		Publisher:    w.cluster,
		Data:         w.host,
		Now:          func() time.Time { return w.now },
		ResyncPeriod: time.Hour,
		Probe:        ProbeOptions{Interval: 2 * time.Second, Timeout: 10 * time.Second, Prober: w.prober},
	})
	if err != nil {
		w.t.Fatal(err)
	}
	w.a = a
	w.reconcile()
}

func (w *failoverWorld) reconcile() {
	w.t.Helper()
	if err := w.a.Reconcile(context.Background()); err != nil {
		w.t.Fatal(err)
	}
}

// tick advances 2 s and runs a probe tick; the other leaders' bytes grow
// when alive. The device has the peers a1's last view configured.
func (w *failoverWorld) tick(alive bool) {
	w.now = w.now.Add(2 * time.Second)
	if alive {
		w.rx += 100
	}
	w.host.samples = nil
	for _, p := range w.a.view.WireGuard.Peers {
		w.host.samples = append(w.host.samples, health.Sample{PublicKey: p.PublicKey.String(), LastHandshake: w.now.Add(-5 * time.Second), RxBytes: w.rx})
	}
	w.a.probeTick(context.Background())
}

func (w *failoverWorld) setStatus(name, status string) {
	for i, n := range w.cluster.nodes {
		if n.Name == name {
			v := status
			p := map[string]*string{health.Key: &v}
			if status == "" {
				p[health.Key] = nil
			}
			w.cluster.nodes[i] = withAnnotations(n, p)
		}
	}
}

func (w *failoverWorld) status(name string) string {
	for _, n := range w.cluster.nodes {
		if n.Name == name {
			return n.Annotations[health.Key]
		}
	}
	return ""
}

func (w *failoverWorld) leader(location string) string {
	for i := range w.a.mesh.Segments {
		if s := &w.a.mesh.Segments[i]; s.Location == location {
			return s.LeaderNode().Name
		}
	}
	return ""
}

func demotedIn(t *testing.T, status string) int64 {
	t.Helper()
	if status == "" {
		return 0
	}
	s, err := health.Decode(status)
	if err != nil {
		t.Fatal(err)
	}
	return s.Demoted
}

// TestFailover: a1, east's leader, loses its data path; with a witness it
// gives up within the probe timeout and a2 leads; without one it stays;
// when the path comes back nothing moves back; a restart keeps the flag;
// it clears when a1 leads again anyway, or when the status is removed.
func TestFailover(t *testing.T) {
	w := newFailoverWorld(t)
	if got := w.leader("east"); got != "a1" {
		t.Fatalf("east's leader %s, want a1", got)
	}
	for range 5 {
		w.tick(true)
	}
	if n := len(w.prober.rounds); n != 5 || len(w.prober.rounds[0]) != 2 {
		t.Fatalf("probe rounds %v, want 5 of 2 targets", w.prober.rounds)
	}
	want := []netip.Addr{netip.MustParseAddr("10.4.0.2"), netip.MustParseAddr("10.4.0.3")}
	if got := w.prober.rounds[0]; !slices.Equal(got, want) {
		t.Errorf("probe targets %v, want %v (north's and west's WireGuard IPs)", got, want)
	}
	if st := w.status("a1"); st == "" || demotedIn(t, st) != 0 {
		t.Fatalf("healthy a1's status %q: want one, not demoted", st)
	}

	// The path dies; b1 and c1 hear each other but not a1, yet say nothing
	// (no witness): a1 keeps leading.
	w.setStatus("b1", `{"v":1,"up":1}`)
	w.setStatus("c1", `{"v":1,"up":1}`)
	for range 15 {
		w.tick(false)
	}
	if got := w.leader("east"); got != "a1" || demotedIn(t, w.status("a1")) != 0 {
		t.Fatalf("without a witness: leader %s, status %q; want a1, not demoted", got, w.status("a1"))
	}
	if !strings.Contains(w.status("a1"), `"down":["b1","c1"]`) {
		t.Errorf("a1's status %q does not report both probed leaders down", w.status("a1"))
	}

	// b1 reports a1 down while c1 is up: a1 gives up on the next tick
	// (silent for longer than the timeout already).
	w.setStatus("b1", `{"v":1,"up":1,"down":["a1"]}`)
	demotedAt := w.now.Add(2 * time.Second).Unix()
	w.tick(false)
	if got := demotedIn(t, w.status("a1")); got != demotedAt {
		t.Fatalf("a1's status %q: want demoted %d", w.status("a1"), demotedAt)
	}
	if got := w.leader("east"); got != "a2" || w.a.view.Leader {
		t.Fatalf("after the demotion east's leader is %s (a1 leads: %v), want a2", got, w.a.view.Leader)
	}
	probes := len(w.prober.rounds)
	w.tick(false)
	if len(w.prober.rounds) != probes {
		t.Errorf("a follower probes: %v", w.prober.rounds[probes:])
	}

	// The path comes back: a2 keeps leading, a1 keeps its flag.
	for range 10 {
		w.tick(true)
		w.reconcile()
	}
	if got := w.leader("east"); got != "a2" || demotedIn(t, w.status("a1")) != demotedAt {
		t.Fatalf("after the link came back: leader %s, a1's status %q; want a2 and demoted %d", got, w.status("a1"), demotedAt)
	}

	// A restart reads the flag back.
	w.start()
	for range 3 {
		w.tick(true)
	}
	w.reconcile()
	if got := w.leader("east"); got != "a2" || demotedIn(t, w.status("a1")) != demotedAt {
		t.Fatalf("after a restart: leader %s, a1's status %q; want a2 and demoted %d", got, w.status("a1"), demotedAt)
	}

	// a2 gives up too (later): a1, the first to give up, leads again and
	// clears its flag.
	w.setStatus("a2", `{"v":1,"up":0,"demoted":`+itoa(demotedAt+60)+`}`)
	w.reconcile()
	if got := w.leader("east"); got != "a1" || demotedIn(t, w.status("a1")) != 0 {
		t.Fatalf("with a2 demoted too: leader %s, a1's status %q; want a1, not demoted", got, w.status("a1"))
	}
}

// An operator removes the status annotation: the flag is cleared.
func TestFailoverOperatorReset(t *testing.T) {
	w := newFailoverWorld(t)
	w.setStatus("a1", `{"v":1,"up":0,"demoted":1799999000}`)
	w.start()
	if got := w.leader("east"); got != "a2" {
		t.Fatalf("a1 demoted at start: leader %s, want a2", got)
	}
	w.setStatus("a1", "")
	w.reconcile()
	for range 3 {
		w.tick(true)
	}
	w.reconcile()
	if got := w.leader("east"); got != "a1" || demotedIn(t, w.status("a1")) != 0 {
		t.Fatalf("after the reset: leader %s, a1's status %q; want a1, not demoted", got, w.status("a1"))
	}
}

// A node that gives up again without having received as a leader in
// between waits twice as long; silence counts from when it became leader.
func TestFailoverBackoff(t *testing.T) {
	w := newFailoverWorld(t)
	for range 3 {
		w.tick(true)
	}
	w.setStatus("b1", `{"v":1,"up":1,"down":["a1"]}`)
	for range 6 {
		w.tick(false)
	}
	first := demotedIn(t, w.status("a1"))
	if first == 0 || w.leader("east") != "a2" {
		t.Fatalf("a1 did not give up: status %q, leader %s", w.status("a1"), w.leader("east"))
	}
	// The path stays dead; a2 gives up too (later): a1 leads again, its
	// flag cleared, and must now wait 2 × the timeout from then.
	for range 10 {
		w.tick(false)
	}
	w.setStatus("a2", `{"v":1,"up":0,"demoted":`+itoa(first+5)+`}`)
	w.reconcile()
	if w.leader("east") != "a1" || demotedIn(t, w.status("a1")) != 0 {
		t.Fatalf("a2 demoted too: leader %s, a1's status %q; want a1, cleared", w.leader("east"), w.status("a1"))
	}
	ticks := 0
	for demotedIn(t, w.status("a1")) == 0 {
		if ticks++; ticks > 30 {
			t.Fatal("a1 never gave up again")
		}
		w.tick(false)
	}
	// Became leader at the first tick; 20 s of silence from then.
	if got := time.Duration(ticks) * 2 * time.Second; got < 20*time.Second || got > 24*time.Second {
		t.Errorf("a1 gave up again after %s as leader, want 20-24 s (twice the 10 s timeout)", got)
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
