package health

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTrackerObserve(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	// step is one sample of peer "k" at t0+at.
	type step struct {
		at   time.Duration
		hs   time.Duration // handshake at t0+hs; <0: never
		rx   int64
		want State // reported after this sample; "" none
	}
	tests := map[string][]step{
		"never twice is reported never": {
			{at: 0, hs: -1, want: ""},
			{at: 10 * time.Second, hs: -1, want: Never},
		},
		"fresh handshake is up after two samples": {
			{at: 0, hs: 0, want: ""},
			{at: 10 * time.Second, hs: 0, want: Up},
		},
		"handshake at exactly 180 s is still up": {
			{at: 170 * time.Second, hs: 0},
			{at: 180 * time.Second, hs: 0, want: Up},
		},
		"old handshake and no rx is down": {
			{at: 181 * time.Second, hs: 0, rx: 5},
			{at: 200 * time.Second, hs: 0, rx: 5, want: Down},
		},
		"rx growth keeps an old handshake up": {
			{at: 0, hs: 0, rx: 1},
			{at: 10 * time.Second, hs: 0, rx: 2, want: Up},
			{at: 300 * time.Second, hs: 0, rx: 3, want: Up},
			{at: 310 * time.Second, hs: 0, rx: 4, want: Up},
		},
		"one down sample does not flap": {
			{at: 0, hs: 0},
			{at: 10 * time.Second, hs: 0, want: Up},
			{at: 190 * time.Second, hs: 0, want: Up}, // down once: held 1
			{at: 200 * time.Second, hs: 195 * time.Second, want: Up},
			{at: 210 * time.Second, hs: 195 * time.Second, want: Up},
		},
		"down after holding two samples, back up after two": {
			{at: 0, hs: 0},
			{at: 10 * time.Second, hs: 0, want: Up},
			{at: 190 * time.Second, hs: 0, want: Up},
			{at: 200 * time.Second, hs: 0, want: Down},
			{at: 210 * time.Second, hs: 205 * time.Second, want: Down},
			{at: 220 * time.Second, hs: 205 * time.Second, want: Up},
		},
		"rx growth on the first sample is not counted": {
			{at: 500 * time.Second, hs: 0, rx: 1000},
			{at: 510 * time.Second, hs: 0, rx: 1000, want: Down},
		},
	}
	for name, steps := range tests {
		t.Run(name, func(t *testing.T) {
			var tr Tracker
			for i, s := range steps {
				smp := Sample{PublicKey: "k", RxBytes: s.rx}
				if s.hs >= 0 {
					smp.LastHandshake = t0.Add(s.hs)
				}
				got := tr.Observe(t0.Add(s.at), []Sample{smp})
				want := map[string]State{}
				if s.want != "" {
					want["k"] = s.want
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Fatalf("sample %d (-want +got):\n%s", i, d)
				}
			}
		})
	}
}

func TestTrackerForgetsRemovedPeers(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var tr Tracker
	up := Sample{PublicKey: "a", LastHandshake: t0}
	tr.Observe(t0, []Sample{up})
	tr.Observe(t0.Add(time.Second), []Sample{up})
	tr.Observe(t0.Add(2*time.Second), nil)
	// Back again: it must hold two samples anew.
	if got := tr.Observe(t0.Add(3*time.Second), []Sample{up}); len(got) != 0 {
		t.Errorf("a peer seen again after removal is reported at once: %v", got)
	}
}

func TestTrackerObserveProbed(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	const timeout = 10 * time.Second
	// step is one sample of peer "k" at t0+at, its handshake at t0+hs
	// (<0: never), with rx bytes received so far.
	type step struct {
		at, hs time.Duration
		rx     int64
		want   State // reported after this sample; "" none
	}
	tests := map[string]struct {
		probed bool
		steps  []step
	}{
		"probed, rx every sample: up": {true, []step{
			{at: 0, hs: 0, rx: 1},
			{at: 2 * time.Second, hs: 0, rx: 2, want: Up},
			{at: 4 * time.Second, hs: 0, rx: 3, want: Up},
		}},
		"probed, fresh handshake but no rx for the timeout: down": {true, []step{
			{at: 0, hs: 0, rx: 1},
			{at: 2 * time.Second, hs: 0, rx: 2, want: Up},
			{at: 4 * time.Second, hs: 0, rx: 2, want: Up},
			{at: 10 * time.Second, hs: 0, rx: 2, want: Up}, // 8 s silent
			{at: 12 * time.Second, hs: 0, rx: 2, want: Up}, // 10 s: down once, held 1
			{at: 14 * time.Second, hs: 0, rx: 2, want: Down},
		}},
		"unprobed, same samples: up on the handshake": {false, []step{
			{at: 0, hs: 0, rx: 1},
			{at: 2 * time.Second, hs: 0, rx: 2, want: Up},
			{at: 12 * time.Second, hs: 0, rx: 2, want: Up},
			{at: 14 * time.Second, hs: 0, rx: 2, want: Up},
		}},
		"probed, back up after rx again": {true, []step{
			{at: 0, hs: 0, rx: 1},
			{at: 20 * time.Second, hs: 0, rx: 1},
			{at: 22 * time.Second, hs: 0, rx: 1, want: Down},
			{at: 24 * time.Second, hs: 0, rx: 9, want: Down},
			{at: 26 * time.Second, hs: 0, rx: 9, want: Up},
		}},
		"probed, first sight grants the timeout": {true, []step{
			{at: 0, hs: 0, rx: 100},
			{at: 8 * time.Second, hs: 0, rx: 100, want: Up},
		}},
		"probed, never handshook: never": {true, []step{
			{at: 0, hs: -1},
			{at: 20 * time.Second, hs: -1, want: Never},
		}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var tr Tracker
			probed := map[string]bool{"k": tt.probed}
			for i, s := range tt.steps {
				smp := Sample{PublicKey: "k", RxBytes: s.rx}
				if s.hs >= 0 {
					smp.LastHandshake = t0.Add(s.hs)
				}
				got := tr.ObserveProbed(t0.Add(s.at), []Sample{smp}, probed, timeout)
				want := map[string]State{}
				if s.want != "" {
					want["k"] = s.want
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Fatalf("sample %d (-want +got):\n%s", i, d)
				}
			}
		})
	}
}

func TestTrackerLastReceived(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var tr Tracker
	if _, _, ok := tr.LastReceived("k"); ok {
		t.Fatal("an unknown peer has a last receive time")
	}
	obs := func(at time.Duration, rx int64) {
		tr.Observe(t0.Add(at), []Sample{{PublicKey: "k", LastHandshake: t0, RxBytes: rx}})
	}
	obs(0, 5) // first sight: counts as received
	obs(3*time.Second, 5)
	if got, grew, _ := tr.LastReceived("k"); !got.Equal(t0) || grew {
		t.Errorf("after no growth: %v, %v, want %v, false", got, grew, t0)
	}
	obs(5*time.Second, 6)
	obs(9*time.Second, 6)
	if got, grew, _ := tr.LastReceived("k"); !got.Equal(t0.Add(5*time.Second)) || !grew {
		t.Errorf("after growth at 5 s: %v, %v, want t0+5s, true", got, grew)
	}
}
