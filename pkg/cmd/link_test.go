package cmd

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/source"
	"github.com/kgctl/kgctl/pkg/translate"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// linkCluster is a cluster of one location with nodes numbered from
// first, each with a live agent's annotations, and the given Peers.
func linkCluster(t *testing.T, location string, first byte, peers ...*v1alpha1.Peer) source.Clients {
	t.Helper()
	var nodes []runtime.Object
	for i := first; i < first+2; i++ {
		ip := "10.8" + strconv.Itoa(int(first)) + ".1." + strconv.Itoa(int(i))
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
			Name:   location + "-" + strconv.Itoa(int(i)),
			Labels: map[string]string{translate.DefaultTopologyLabel: location},
			Annotations: map[string]string{
				translate.KeyKey:        wireguard.Key{0, i}.PublicKey().String(),
				translate.InternalIPKey: ip + "/24", translate.EndpointKey: ip + ":51820",
				translate.LastSeenKey: strconv.FormatInt(time.Now().Unix(), 10),
			}}}
		n.Spec.PodCIDR = "10." + strconv.Itoa(int(first)) + "." + strconv.Itoa(int(i)) + ".0/24"
		nodes = append(nodes, n)
	}
	var objs []runtime.Object
	for _, p := range peers {
		u, err := source.PeerToUnstructured(p)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, u)
	}
	dc := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{v1alpha1.PeerGVR: "PeerList"}, objs...)
	return source.Clients{Kube: kubefake.NewClientset(nodes...), Dynamic: dc}
}

func runLink(t *testing.T, from, to source.Clients, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	r := &Root{Name: "kgctl", Streams: genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}}
	r.NewClients = func() (source.Clients, error) { return from, nil }
	root := newRootCommand(r)
	for _, c := range root.Commands() {
		if c.Name() == "link" {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(newLinkCommandWith(r, func(string, string) (source.Clients, error) { return to, nil }))
	root.SetArgs(append([]string{"link"}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func peerNamesOf(t *testing.T, c source.Clients) []string {
	t.Helper()
	ps, err := source.KubePeers(context.Background(), c.Dynamic)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	return names
}

// The link's life: preview, apply, re-run (nothing), unlink (only its own).
func TestLink(t *testing.T) {
	laptop := translate.PeerResource("laptop", wireguard.Peer{PublicKey: wireguard.Key{0, 99}.PublicKey(),
		AllowedIPs: nil})
	laptop.Spec.AllowedIPs = []string{"10.5.0.1/32"}
	a := linkCluster(t, "east", 1)
	b := linkCluster(t, "north", 3, laptop)
	flags := []string{"--to-context", "b", "--to-subnet", "10.6.0.0/16", "--name", "ab",
		"--service-cidr", "10.96.0.0/24", "--to-service-cidr", "10.97.0.0/24"}

	out, errOut, err := runLink(t, a, b, append(flags, "--dry-run=client", "-o", "yaml")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	checkGolden(t, filepath.Join("testdata", "link", "dry-run.yaml"), out)
	if got := peerNamesOf(t, b); !cmp.Equal(got, []string{"laptop"}) {
		t.Errorf("a client dry run changed cluster b: %v", got)
	}

	steps := []struct {
		name string
		args []string
		want string
	}{
		{"link", nil, "cluster to: peer.kilo.squat.ai/ab-east created\ncluster from: peer.kilo.squat.ai/ab-north created\n"},
		{"again", nil, "cluster to: peer.kilo.squat.ai/ab-east unchanged\ncluster from: peer.kilo.squat.ai/ab-north unchanged\n"},
		{"unlink", []string{"--delete"}, "cluster to: peer.kilo.squat.ai/ab-east deleted\ncluster from: peer.kilo.squat.ai/ab-north deleted\n"},
	}
	for _, s := range steps {
		out, errOut, err := runLink(t, a, b, append(flags, s.args...)...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", s.name, err, errOut)
		}
		if diff := cmp.Diff(s.want, out); diff != "" {
			t.Errorf("%s (-want +got):\n%s", s.name, diff)
		}
	}
	if got := peerNamesOf(t, b); !cmp.Equal(got, []string{"laptop"}) {
		t.Errorf("after unlink cluster b has %v, want only its own laptop", got)
	}
}

func TestLinkRefuses(t *testing.T) {
	taken := translate.PeerResource("ab-east", wireguard.Peer{PublicKey: wireguard.Key{0, 98}.PublicKey()})
	taken.Spec.AllowedIPs = []string{"10.5.0.2/32"}
	tests := map[string]struct {
		b    source.Clients
		args []string
		err  string
	}{
		"same WireGuard subnet": {args: []string{"--to-context", "b"}, err: "--subnet 10.4.0.0/16 and --to-subnet 10.4.0.0/16 overlap"},
		"no other cluster":      {args: nil, err: "--to-kubeconfig or --to-context: required"},
		"bad name":              {args: []string{"--to-context", "b", "--to-subnet", "10.6.0.0/16", "--name", "A_B"}, err: `--name: link name "A_B"`},
		"a Peer the link did not create": {
			b:    linkCluster(t, "north", 3, taken),
			args: []string{"--to-context", "b", "--to-subnet", "10.6.0.0/16", "--name", "ab"},
			err:  `cluster to: Peer "ab-east" exists and was not created by link "ab"`,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			b := tt.b
			if b.Kube == nil {
				b = linkCluster(t, "north", 3)
			}
			_, _, err := runLink(t, linkCluster(t, "east", 1), b, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("err = %v, want %q", err, tt.err)
			}
		})
	}
}
