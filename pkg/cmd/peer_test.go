package cmd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kgctl/kgctl/internal/golden"
	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/source"
	"github.com/kgctl/kgctl/pkg/wireguard"
)

// testKeys makes the keys repeatable: the n-th key is a hash of n.
func testKeys() func() (wireguard.Key, error) {
	n := 0
	return func() (wireguard.Key, error) {
		n++
		return wireguard.Key(sha256.Sum256([]byte{byte(n)})), nil
	}
}

// fakeCluster holds the shipped example cluster in fake clients.
type fakeCluster struct {
	kube    *kubefake.Clientset
	dynamic *dynamicfake.FakeDynamicClient
	// keys is shared by every run against this cluster: the engine
	// refuses a Peer whose key another Peer already has.
	keys func() (wireguard.Key, error)
}

func newFakeCluster(t *testing.T) *fakeCluster {
	t.Helper()
	objs, err := source.Files([]string{"../../testdata/example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var nodes []runtime.Object
	for _, n := range objs.Nodes {
		nodes = append(nodes, n)
	}
	var peers []runtime.Object
	for _, p := range objs.Peers {
		u, err := source.PeerToUnstructured(p)
		if err != nil {
			t.Fatal(err)
		}
		peers = append(peers, u)
	}
	dc := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{v1alpha1.PeerGVR: "PeerList"}, peers...)
	return &fakeCluster{kube: kubefake.NewClientset(nodes...), dynamic: dc, keys: testKeys()}
}

// run executes one kgctl command line against the fake cluster (nil: no
// cluster at all).
func (f *fakeCluster) run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	r := &Root{Name: "kgctl", Streams: genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, GenerateKey: testKeys()}
	if f != nil {
		r.GenerateKey = f.keys
	}
	r.NewClients = func() (source.Clients, error) {
		if f == nil {
			return source.Clients{}, errors.New("no cluster in this test")
		}
		return source.Clients{Kube: f.kube, Dynamic: f.dynamic}, nil
	}
	cmd := newRootCommand(r)
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func (f *fakeCluster) peerNames(t *testing.T) []string {
	t.Helper()
	ps, err := source.KubePeers(context.Background(), f.dynamic)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	return names
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	golden.File(t, path, got, *update)
}

// The wg-quick file and the Peer for the shipped example, from files.
func TestPeerAddGolden(t *testing.T) {
	for _, tc := range []struct{ name, golden string }{
		{"quick", "add-phone.conf"},
		{"yaml", "add-phone.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "phone.conf")
			args := []string{"peer", "add", "phone", "-f", "../../testdata/example", "--preshared-key", "--dns", "10.96.0.10"}
			if tc.name == "yaml" {
				args = append(args, "-o", "yaml", "--wg-quick-file", file)
			}
			var nothing *fakeCluster
			out, errOut, err := nothing.run(t, args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, errOut)
			}
			if !strings.Contains(errOut, "peer.kilo.squat.ai/phone prepared (dry run: not created), allowed IPs 10.5.0.3/32") {
				t.Errorf("status: %q", errOut)
			}
			checkGolden(t, filepath.Join("testdata", "peer", tc.golden), out)
			if tc.name == "yaml" {
				st, err := os.Stat(file)
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != 0o600 {
					t.Errorf("wg-quick file mode %v, want 0600", st.Mode().Perm())
				}
				b, _ := os.ReadFile(file)
				checkGolden(t, filepath.Join("testdata", "peer", "add-phone.conf"), string(b))
				if strings.Contains(out, "PrivateKey") || strings.Contains(out, "privateKey") {
					t.Error("the Peer manifest holds a private key")
				}
			}
		})
	}
}

// wg-quick itself must accept the file (where wireguard-tools exist).
func TestPeerAddWGQuickStrip(t *testing.T) {
	if _, err := exec.LookPath("wg-quick"); err != nil {
		t.Skip("wg-quick not installed")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "wgtest0.conf")
	var nothing *fakeCluster
	if _, errOut, err := nothing.run(t, "peer", "add", "phone", "-f", "../../testdata/example", "--wg-quick-file", file, "--dns", "10.96.0.10", "--mtu", "1380"); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	out, err := exec.Command("wg-quick", "strip", file).CombinedOutput()
	if err != nil {
		t.Fatalf("wg-quick strip: %v\n%s", err, out)
	}
	for _, quickOnly := range []string{"Address", "DNS", "MTU"} {
		if strings.Contains(string(out), quickOnly+" =") {
			t.Errorf("wg-quick strip left %s in:\n%s", quickOnly, out)
		}
	}
	if !strings.Contains(string(out), "PrivateKey = ") || strings.Count(string(out), "[Peer]") != 6 {
		t.Errorf("stripped config lacks the key or peers:\n%s", out)
	}
}

// The whole life of a peer against a cluster's API.
func TestPeerLifecycle(t *testing.T) {
	f := newFakeCluster(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "phone.conf")

	_, errOut, err := f.run(t, "peer", "add", "phone", "--wg-quick-file", file)
	if err != nil {
		t.Fatalf("add: %v\n%s", err, errOut)
	}
	if !strings.Contains(errOut, "peer.kilo.squat.ai/phone created, allowed IPs 10.5.0.3/32") {
		t.Errorf("add status: %q", errOut)
	}
	if got := strings.Join(f.peerNames(t), ","); got != "laptop,office,phone" {
		t.Fatalf("peers after add: %s", got)
	}
	ps, _ := source.KubePeers(context.Background(), f.dynamic)
	for _, p := range ps {
		if p.Name == "phone" && (p.Spec.AllowedIPs[0] != "10.5.0.3/32" || p.Spec.PersistentKeepalive != 25 || p.Spec.PresharedKey != "") {
			t.Errorf("created Peer: %+v", p.Spec)
		}
	}

	// --force replaces a file; a failed add leaves it alone.
	before, _ := os.ReadFile(file)
	if _, _, err := f.run(t, "peer", "add", "phone", "--wg-quick-file", file, "--force"); err == nil || !strings.Contains(err.Error(), `Peer "phone" already exists`) {
		t.Fatalf("second add: %v", err)
	}
	if after, _ := os.ReadFile(file); !bytes.Equal(before, after) {
		t.Error("a failed add rewrote the wg-quick file")
	}

	// The next peer gets the next address; an existing file is refused
	// before the cluster changes.
	if _, _, err := f.run(t, "peer", "add", "tablet", "--wg-quick-file", file); err == nil || !strings.Contains(err.Error(), "already exists (use --force") {
		t.Fatalf("existing file: %v", err)
	}
	if got := strings.Join(f.peerNames(t), ","); got != "laptop,office,phone" {
		t.Fatalf("a refused add changed the cluster: %s", got)
	}
	out, _, err := f.run(t, "peer", "add", "tablet")
	if err != nil || !strings.Contains(out, "Address = 10.5.0.4/32") {
		t.Fatalf("tablet: %v\n%s", err, out)
	}

	// (Server dry runs are checked against a real API server in
	// hack/e2e: the fake client ignores DryRun.)

	out, _, err = f.run(t, "peer", "list")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, filepath.Join("testdata", "peer", "list.txt"), out)
	out, _, err = f.run(t, "peer", "list", "-o", "name")
	if err != nil || out != "peer.kilo.squat.ai/laptop\npeer.kilo.squat.ai/office\npeer.kilo.squat.ai/phone\npeer.kilo.squat.ai/tablet\n" {
		t.Fatalf("list -o name: %v %q", err, out)
	}

	out, _, err = f.run(t, "peer", "remove", "phone", "tablet")
	if err != nil || out != "peer.kilo.squat.ai/phone deleted\npeer.kilo.squat.ai/tablet deleted\n" {
		t.Fatalf("remove: %v %q", err, out)
	}
	if _, _, err := f.run(t, "peer", "remove", "phone", "office"); err == nil || !strings.Contains(err.Error(), `Peer "phone" not found`) {
		t.Fatalf("remove missing: %v", err)
	}
	// The error for one name did not stop the other.
	if got := strings.Join(f.peerNames(t), ","); got != "laptop" {
		t.Fatalf("after removes: %s", got)
	}
	if _, _, err := f.run(t, "peer", "remove", "phone", "--ignore-not-found"); err != nil {
		t.Fatalf("--ignore-not-found: %v", err)
	}
}

// When the API refuses the Peer, the wg-quick file (and its key) goes too.
func TestPeerAddCreateFailureRemovesFile(t *testing.T) {
	f := newFakeCluster(t)
	f.dynamic.PrependReactor("create", "peers", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("admission webhook said no")
	})
	file := filepath.Join(t.TempDir(), "phone.conf")
	_, _, err := f.run(t, "peer", "add", "phone", "--wg-quick-file", file)
	if err == nil || !strings.Contains(err.Error(), "admission webhook said no") {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("wg-quick file left behind: %v", err)
	}
	// With --force, the file being replaced survives a failed add.
	if err := os.WriteFile(file, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.run(t, "peer", "add", "phone", "--wg-quick-file", file, "--force"); err == nil {
		t.Fatal("add succeeded")
	}
	if b, _ := os.ReadFile(file); string(b) != "old\n" {
		t.Fatalf("a failed --force add changed the file: %q", b)
	}
	if entries, _ := os.ReadDir(filepath.Dir(file)); len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
	// A successful --force add replaces it, readable by its owner only.
	var nothing *fakeCluster
	if _, _, err := nothing.run(t, "peer", "add", "phone", "-f", "../../testdata/example", "--wg-quick-file", file, "--force"); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v after --force", st.Mode().Perm())
	}
	if b, _ := os.ReadFile(file); !strings.HasPrefix(string(b), "[Interface]") {
		t.Errorf("not replaced: %q", b)
	}
}

// A cluster without Kilo's CRD gets told what to install.
func TestPeerAddWithoutCRD(t *testing.T) {
	f := newFakeCluster(t)
	f.dynamic.PrependReactor("create", "peers", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewNotFound(schema.GroupResource{Group: "kilo.squat.ai", Resource: "peers"}, "")
	})
	_, _, err := f.run(t, "peer", "add", "phone")
	if err == nil || !strings.Contains(err.Error(), "the Peer CRD (peers.kilo.squat.ai) is not installed") {
		t.Fatalf("got %v", err)
	}
}

func TestPeerErrors(t *testing.T) {
	dir := t.TempDir()
	ex := "../../testdata/example"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad name", []string{"peer", "add", "My_Laptop", "-f", ex}, `peer name "My_Laptop"`},
		{"unknown dry run", []string{"peer", "add", "x", "--dry-run=maybe"}, `--dry-run: unknown mode "maybe"`},
		{"server dry run on files", []string{"peer", "add", "x", "-f", ex, "--dry-run=server"}, "--dry-run=server needs a cluster"},
		{"yaml and quick on stdout", []string{"peer", "add", "x", "-f", ex, "-o", "yaml"}, "give --wg-quick-file PATH"},
		{"qr and yaml", []string{"peer", "add", "x", "-f", ex, "-o", "yaml", "--qr", "--wg-quick-file", filepath.Join(dir, "q")}, "--qr and -o"},
		{"bad output", []string{"peer", "add", "x", "-f", ex, "-o", "toml"}, `--output: unknown format "toml"`},
		{"bad allowed ips", []string{"peer", "add", "x", "-f", ex, "--allowed-ips", "10.5.0.300/32"}, `--allowed-ips: "10.5.0.300/32" is not a CIDR`},
		{"allowed ips overlap a location", []string{"peer", "add", "x", "-f", ex, "--allowed-ips", "10.2.0.7"}, `10.2.0.7/32 overlaps 10.2.0.0/24 of segment "eu-west-1"`},
		{"allowed ips overlap a peer", []string{"peer", "add", "x", "-f", ex, "--allowed-ips", "192.168.100.0/25"}, `overlaps 192.168.100.0/24 of Peer "office"`},
		{"pool in the WireGuard subnet", []string{"peer", "add", "x", "-f", ex, "--peer-cidr", "10.4.200.0/24"}, "overlaps the WireGuard subnet 10.4.0.0/16"},
		{"pool exhausted", []string{"peer", "add", "x", "-f", ex, "--peer-cidr", "10.5.0.0/30"}, "--peer-cidr: no free address left in 10.5.0.0/30"},
		{"bad pool", []string{"peer", "add", "x", "-f", ex, "--peer-cidr", "nope"}, `--peer-cidr: "nope" is not a CIDR`},
		{"bad endpoint", []string{"peer", "add", "x", "-f", ex, "--endpoint", "gw.example.org"}, "--endpoint:"},
		{"bad keepalive", []string{"peer", "add", "x", "-f", ex, "--keepalive", "-1"}, "--keepalive: -1"},
		{"bad granularity", []string{"peer", "add", "x", "-f", ex, "--mesh-granularity", "region"}, "--mesh-granularity"},
		{"missing file", []string{"peer", "add", "x", "-f", filepath.Join(dir, "none.yaml")}, "none.yaml"},
		{"no cluster", []string{"peer", "add", "x"}, "no cluster to read from"},
		{"list bad output", []string{"peer", "list", "-f", ex, "-o", "csv"}, `--output: unknown format "csv"`},
		{"remove without cluster", []string{"peer", "remove", "x"}, "no cluster to remove Peers from"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var nothing *fakeCluster
			_, _, err := nothing.run(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed adds left files: %v", entries)
	}
}

// peer list reads manifests too, and never prints a preshared key.
func TestPeerListFiles(t *testing.T) {
	var nothing *fakeCluster
	out, _, err := nothing.run(t, "peer", "list", "-f", "../../testdata/example", "-o", "wide")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, filepath.Join("testdata", "peer", "list-wide.txt"), out)
	out, _, err = nothing.run(t, "peer", "list", "-f", "../../testdata/example", "-o", "yaml")
	if err != nil || !strings.Contains(out, "kind: List") || !strings.Contains(out, "kind: Peer") {
		t.Fatalf("yaml: %v\n%s", err, out)
	}
}

// The private key on a stdout that is a file others can read gets the
// warning wg genkey gives; a 0600 file, a pipe or a buffer gets none.
func TestPeerAddWarnsReadableStdout(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		mode os.FileMode // 0: a buffer
		qr   bool
		warn bool
	}{
		{"world-readable file", 0o644, false, true},
		{"group-readable file", 0o640, false, true},
		{"owner-only file", 0o600, false, false},
		{"QR code to a readable file", 0o644, true, true},
		{"buffer", 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out io.Writer = new(bytes.Buffer)
			if tc.mode != 0 {
				f, err := os.OpenFile(filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")), os.O_CREATE|os.O_WRONLY, tc.mode)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if err := f.Chmod(tc.mode); err != nil { // past the umask
					t.Fatal(err)
				}
				out = f
			}
			var errOut bytes.Buffer
			r := &Root{Name: "kgctl", Streams: genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: &errOut}, GenerateKey: testKeys(),
				TerminalWidth: func() (int, bool) { return 200, true }}
			cmd := newRootCommand(r)
			args := []string{"peer", "add", "phone", "-f", "../../testdata/example"}
			if tc.qr {
				args = append(args, "--qr")
			}
			cmd.SetArgs(args)
			if err := cmd.Execute(); err != nil {
				t.Fatalf("%v\n%s", err, errOut.String())
			}
			want := fmt.Sprintf("Warning: writing the private key to a file that group or others can read (stdout, mode %04o)", tc.mode)
			if got := strings.Contains(errOut.String(), want); got != tc.warn {
				t.Errorf("warned %v, want %v; stderr:\n%s", got, tc.warn, errOut.String())
			}
		})
	}
}

// A site gateway (--endpoint) listens where its Peer says it does.
func TestPeerAddEndpointListenPort(t *testing.T) {
	var nothing *fakeCluster
	out, errOut, err := nothing.run(t, "peer", "add", "gateway", "-f", "../../testdata/example", "--endpoint", "198.51.100.9:51821", "--allowed-ips", "192.168.60.0/24,10.5.0.9/32")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	iface, _, _ := strings.Cut(out, "\n\n")
	if !strings.HasSuffix(iface, "\nListenPort = 51821") || !strings.Contains(iface, "Address = 10.5.0.9/32\n") {
		t.Errorf("[Interface] of a site gateway:\n%s", iface)
	}
	// A roaming client has no fixed port.
	out, _, _ = nothing.run(t, "peer", "add", "phone", "-f", "../../testdata/example")
	if iface, _, _ := strings.Cut(out, "\n\n"); strings.Contains(iface, "ListenPort") {
		t.Errorf("[Interface] of a roaming client:\n%s", iface)
	}
}

// peer list on a cluster without Kilo's CRD says what is missing.
func TestPeerListWithoutCRD(t *testing.T) {
	f := newFakeCluster(t)
	f.dynamic.PrependReactor("list", "peers", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewNotFound(schema.GroupResource{Group: "kilo.squat.ai", Resource: "peers"}, "")
	})
	out, errOut, err := f.run(t, "peer", "list")
	if err == nil || !strings.Contains(err.Error(), "the Peer CRD (peers.kilo.squat.ai) is not installed in this cluster: install it with kubectl apply -f manifests/base/crds.yaml") {
		t.Fatalf("got %v (stdout %q, stderr %q)", err, out, errOut)
	}
	// A cluster with the CRD and no Peers is not an error.
	empty := &fakeCluster{kube: f.kube, keys: f.keys, dynamic: dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{v1alpha1.PeerGVR: "PeerList"})}
	if _, errOut, err := empty.run(t, "peer", "list"); err != nil || errOut != "No peers found.\n" {
		t.Fatalf("no peers: %v %q", err, errOut)
	}
}

// --qr draws the code when it fits the terminal (80 columns when stdout
// is not one) and says why not otherwise.
func TestPeerAddQR(t *testing.T) {
	small := filepath.Join(t.TempDir(), "small.yaml")
	if err := os.WriteFile(small, []byte(qrCluster), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, cluster string
		width         int // 0: not a terminal
		err           string
	}{
		{"small mesh, not a terminal", small, 0, ""},
		{"small mesh, 80 columns", small, 80, ""},
		{"example mesh, not a terminal", "../../testdata/example", 0, "--qr: the configuration (1192 bytes, 6 [Peer] sections) needs a QR code 119 columns wide, wider than an 80-column terminal; widen the terminal, or use --wg-quick-file FILE"},
		{"example mesh, 100 columns", "../../testdata/example", 100, "wider than this terminal (100 columns)"},
		{"example mesh, 120 columns", "../../testdata/example", 120, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			r := &Root{Name: "kgctl", Streams: genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, GenerateKey: testKeys(),
				TerminalWidth: func() (int, bool) { return tc.width, tc.width > 0 }}
			cmd := newRootCommand(r)
			cmd.SetArgs([]string{"peer", "add", "phone", "--qr", "-f", tc.cluster})
			err := cmd.Execute()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error containing %q", err, tc.err)
				}
				if out.Len() > 0 {
					t.Errorf("printed %d bytes before refusing", out.Len())
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, errOut.String())
			}
			limit := max(tc.width, 80)
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			for _, l := range lines {
				l = strings.TrimSuffix(strings.TrimPrefix(l, "\x1b[97;40m"), "\x1b[0m")
				if n := utf8.RuneCountInString(l); n > limit || n < 21 {
					t.Fatalf("a QR line is %d columns (limit %d)", n, limit)
				}
			}
			if strings.Contains(out.String(), "PrivateKey") {
				t.Error("the configuration was printed as text too")
			}
		})
	}
}

// qrCluster is one location of one node: a phone's config fits in 80 columns.
const qrCluster = `apiVersion: v1
kind: Node
metadata:
  name: aws-1
  labels:
    topology.kubernetes.io/region: eu-west-1
  annotations:
    kilo.squat.ai/key: 0cB+5fOn1uuZ0/hl87NQd8C5s3cJZUXBB9RzMvt9ljs=
    kilo.squat.ai/endpoint: 52.18.0.10:51820
    kilo.squat.ai/internal-ip: 172.31.0.10/20
spec:
  podCIDR: 10.2.0.0/24
`
