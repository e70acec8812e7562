package agent

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/kgctl/kgctl/pkg/topology"
	"github.com/kgctl/kgctl/pkg/translate"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

func TestParseCompatibility(t *testing.T) {
	for in, want := range map[string]Compatibility{"": CompatibilityNone, "flannel": CompatibilityFlannel} {
		if got, err := ParseCompatibility(in); err != nil || got != want {
			t.Errorf("ParseCompatibility(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"cilium", "calico", "Flannel"} {
		if _, err := ParseCompatibility(in); err == nil {
			t.Errorf("ParseCompatibility(%q) accepted", in)
		}
	}
}

// addonCluster: location east (a1 leads, a2 follows) and west (b1), with
// pod CIDRs as flannel's kube subnet manager gives them.
func addonCluster(now time.Time) []*corev1.Node {
	ready := func(key byte, internal, endpoint string, extra map[string]string) map[string]string {
		a := map[string]string{
			translate.KeyKey:        wireguard.Key{0, key}.PublicKey().String(),
			translate.InternalIPKey: internal, translate.EndpointKey: endpoint,
			translate.LastSeenKey: "1800000000",
		}
		for k, v := range extra {
			a[k] = v
		}
		return a
	}
	return []*corev1.Node{
		node("a1", "east", "", "10.244.1.0/24", ready(1, "10.80.1.11/24", "10.80.1.11:51820", map[string]string{translate.LeaderKey: "true"})),
		node("a2", "east", "", "10.244.2.0/24", nil),
		node("b1", "west", "", "10.244.3.0/24", ready(3, "10.80.2.11/24", "10.80.2.11:51820", nil)),
	}
}

// The routes each node's agent applies, as `ip route` writes them, with
// and without add-on mode.
func TestAddonRoutes(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tests := map[string]struct {
		compat Compatibility
		self   string
		want   []string
	}{
		"flannel follower goes to its leader through flannel.1": {
			compat: CompatibilityFlannel, self: "a2",
			want: []string{
				"10.4.0.1/32 via 10.244.1.0 dev flannel.1 onlink table 1107",
				"10.4.0.2/32 via 10.244.1.0 dev flannel.1 onlink table 1107",
				"10.244.3.0/24 via 10.244.1.0 dev flannel.1 onlink table 1107",
				"10.80.2.11/32 via 10.244.1.0 dev flannel.1 onlink table 1107",
			},
		},
		"flannel leader routes other locations over WireGuard, none inside its own": {
			compat: CompatibilityFlannel, self: "a1",
			want: []string{
				"10.244.3.0/24 via 10.4.0.2 dev kilo0 onlink table 1107",
			},
		},
		"without add-on mode the follower uses the private network and routes its location": {
			compat: CompatibilityNone, self: "a2",
			want: []string{
				"10.4.0.1/32 via 10.80.1.11 dev eth0 onlink table 1107",
				"10.4.0.2/32 via 10.80.1.11 dev eth0 onlink table 1107",
				"10.244.1.0/24 via 10.80.1.11 dev eth0 onlink table 1107",
				"10.244.3.0/24 via 10.80.1.11 dev eth0 onlink table 1107",
				"10.80.2.11/32 via 10.80.1.11 dev eth0 onlink table 1107",
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			c := &fakeCluster{nodes: addonCluster(now)}
			h := &fakeHost{}
			internal := map[string]string{"a1": "10.80.1.11/24", "a2": "10.80.1.12/24"}[tt.self]
			settings := topology.DefaultSettings()
			settings.Encapsulate = topology.EncapsulateNever
			a, err := New(Options{
				Self: Self{Name: tt.self, PrivateKey: wireguard.Key{0, 9}, InternalIP: netip.MustParsePrefix(internal),
					Endpoint: wireguard.Endpoint{Addr: netip.MustParsePrefix(internal).Addr(), Port: 51820}},
				Settings: tt.compat.Settings(settings),
				Host: HostConfig{Interface: "kilo0", PrivateInterface: "eth0", Tunnel: "tunl0", MeshTable: 1107, EncapTable: 1108,
					Compatibility: tt.compat},
				Cluster: c, Publisher: c, Data: h,
				Now: func() time.Time { return now },
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Reconcile(context.Background()); err != nil {
				t.Fatal(err)
			}
			var got []string
			s := h.applied[len(h.applied)-1]
			for _, r := range s.Routes.Routes {
				got = append(got, r.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("routes (-want +got):\n%s", diff)
			}
			if tt.compat == CompatibilityFlannel && (s.Tunnel != "" || len(s.Routes.Rules) != 0) {
				t.Errorf("add-on mode made tunnel %q and rules %v; flannel encapsulates", s.Tunnel, s.Routes.Rules)
			}
		})
	}
}

func TestFlannelSettings(t *testing.T) {
	s := topology.DefaultSettings()
	s.Encapsulate, s.Local = topology.EncapsulateAlways, true
	got := CompatibilityFlannel.Settings(s)
	if got.Local || got.Encapsulate != topology.EncapsulateNever {
		t.Errorf("flannel settings: local %v, encapsulate %q; want false, never", got.Local, got.Encapsulate)
	}
	if n := CompatibilityNone.Settings(s); n.Local != s.Local || n.Encapsulate != s.Encapsulate {
		t.Error("no compatibility changed the settings")
	}
}
