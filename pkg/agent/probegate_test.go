package agent

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/kgctl/kgctl/pkg/health"
)

// TestProbeGate: the probes a leader sends over 20 minutes of 2-second
// ticks, per other leader, as the other leader answers or not. A leader
// that never answers is probed during its first probe timeout, then once
// every probeRetry (WireGuard keeps each packet sent to a peer without a
// session, up to 128 in 64 KiB buffers, and drops them only 90 s after
// the last one: probed every tick, each silent leader held 8 MiB for
// good). A leader that answers is probed every tick, and one whose path
// dies still is for probeSession, which failover needs.
func TestProbeGate(t *testing.T) {
	const ticks = 600 // 20 minutes
	for _, tc := range []struct {
		name string
		// answers says whether the leader's bytes grow at tick i.
		answers func(i int) bool
		// want: how many probes it gets in the 20 minutes.
		min, max int
	}{
		{"answers every tick", func(int) bool { return true }, ticks, ticks},
		// 5 ticks in its first 10 s, then one per 2 minutes.
		{"never answers", func(int) bool { return false }, 5 + 9, 5 + 10},
		// Every tick for a minute, then every tick for 3 minutes more
		// (silent, not yet known to have lost its session), then rarely.
		{"answers for a minute, then dies", func(i int) bool { return i < 30 }, 30 + 90 + 7, 30 + 90 + 8},
		// Rarely, then every tick once its bytes grow (probes decide on the
		// previous tick's sample).
		{"silent for 10 minutes, then answers", func(i int) bool { return i >= 300 }, 5 + 4 + 298, 5 + 5 + 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newFailoverWorld(t)
			if !w.a.view.Leader {
				t.Fatal("a1 does not lead east")
			}
			// b1 behaves as the case says; c1 answers every tick.
			b1, c1 := w.keys["b1"].PublicKey().String(), w.keys["c1"].PublicKey().String()
			bAddr, cAddr := netip.MustParseAddr("10.4.0.3"), netip.MustParseAddr("10.4.0.2")
			var bRx, cRx int64
			for i := range ticks {
				w.now = w.now.Add(2 * time.Second)
				// What the device shows at this tick: the previous
				// tick's probes answered.
				if i > 0 && tc.answers(i-1) {
					bRx += 100
				}
				cRx += 100
				w.host.samples = []health.Sample{
					{PublicKey: b1, LastHandshake: w.now.Add(-5 * time.Second), RxBytes: bRx},
					{PublicKey: c1, LastHandshake: w.now.Add(-5 * time.Second), RxBytes: cRx},
				}
				w.a.probeTick(context.Background())
			}
			got := map[netip.Addr]int{}
			for _, r := range w.prober.rounds {
				for _, a := range r {
					got[a]++
				}
			}
			if got[cAddr] != ticks {
				t.Errorf("the answering leader c1 probed %d times in %d ticks, want every tick", got[cAddr], ticks)
			}
			if got[bAddr] < tc.min || got[bAddr] > tc.max {
				t.Errorf("b1 probed %d times in %d ticks, want %d-%d", got[bAddr], ticks, tc.min, tc.max)
			}
		})
	}
}

// TestProbeGateForgets: a leader no longer targeted is forgotten, and a
// new one gets its first timeout of probes again.
func TestProbeGateForgets(t *testing.T) {
	var g probeGate
	now := time.Unix(1_800_000_000, 0)
	silent := func(string) (time.Time, bool, bool) { return now, false, true }
	a := probeTarget{Addr: netip.MustParseAddr("10.4.0.2"), Key: "a"}
	b := probeTarget{Addr: netip.MustParseAddr("10.4.0.3"), Key: "b"}
	for i := range 10 {
		got := g.due([]probeTarget{a, b}, now.Add(time.Duration(i)*2*time.Second), 10*time.Second, silent)
		if want := map[bool]int{true: 2, false: 0}[i < 5]; len(got) != want {
			t.Fatalf("tick %d: probed %v, want %d", i, got, want)
		}
	}
	g.due([]probeTarget{a}, now.Add(30*time.Second), 10*time.Second, silent)
	if _, ok := g.first["b"]; ok || len(g.sent) != 1 {
		t.Fatalf("b not forgotten: first %v sent %v", g.first, g.sent)
	}
	if got := g.due([]probeTarget{a, b}, now.Add(32*time.Second), 10*time.Second, silent); len(got) != 1 || got[0] != b.Addr {
		t.Errorf("b back: probed %v, want b only (a is silent and was probed recently)", got)
	}
}
