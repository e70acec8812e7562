package helm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

const (
	chartDir     = "../../charts/kgctl"
	manifestsDir = "../../manifests"
	// The manifests' release: their objects are named kgctl in kube-system.
	release   = "kgctl"
	namespace = "kube-system"
)

// chartOnly are the chart's ci/ values files with no overlay under
// manifests/: checked by TestChartValues instead.
var chartOnly = map[string]bool{"flannel": true}

type overlay struct {
	name, dir string
	component bool
}

// overlays are the kustomizations under manifests/, base and components
// included.
func overlays(t *testing.T) []overlay {
	t.Helper()
	entries, err := os.ReadDir(manifestsDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []overlay
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(manifestsDir, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		var k struct{ Kind string }
		if err := yaml.Unmarshal(b, &k); err != nil {
			t.Fatalf("%s/kustomization.yaml: %v", dir, err)
		}
		out = append(out, overlay{name: e.Name(), dir: dir, component: k.Kind == "Component"})
	}
	if len(out) < 3 {
		t.Fatalf("found only %d kustomizations under %s", len(out), manifestsDir)
	}
	return out
}

func kustomize(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	b, err := Kustomize(dir)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Decode(b)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return objs
}

func render(t *testing.T, name, ns string, values map[string]any) []*unstructured.Unstructured {
	t.Helper()
	b, _, err := Template(chartDir, name, ns, "", values)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Decode(b)
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, b)
	}
	return objs
}

func ciValues(t *testing.T, name string) map[string]any {
	t.Helper()
	v, err := ReadValues(filepath.Join(chartDir, "ci", name+"-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// decoder decodes strictly into the real Kubernetes types: a field a type
// does not have (a misspelt or misplaced key in a template or a manifest)
// is an error.
var decoder = func() runtime.Decoder {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := apiextv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return serializer.NewCodecFactory(s, serializer.EnableStrict).UniversalDeserializer()
}()

func decodeStrict(t *testing.T, what string, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		b, err := json.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := decoder.Decode(b, nil, nil); err != nil {
			t.Errorf("%s: %s does not decode as its Kubernetes type: %v", what, Key(o), err)
		}
	}
}

// images are the container images of every Pod template in objs.
func images(objs []*unstructured.Unstructured) map[string][]string {
	out := map[string][]string{}
	for _, o := range objs {
		for _, field := range []string{"containers", "initContainers"} {
			cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", field)
			for _, c := range cs {
				img, _ := c.(map[string]any)["image"].(string)
				out[Key(o)] = append(out[Key(o)], img)
			}
		}
	}
	return out
}

// pinned says why an image reference is not pinned to a release, or "".
func pinned(ref string) string {
	if strings.Contains(ref, "@sha256:") {
		return ""
	}
	name := ref[strings.LastIndex(ref, "/")+1:]
	i := strings.LastIndex(name, ":")
	switch {
	case ref == "":
		return "no image"
	case i < 0:
		return "no tag (the runtime pulls latest)"
	case name[i+1:] == "latest":
		return "tag latest"
	}
	return ""
}

// Every kustomization under manifests/ builds, its objects are what the
// Kubernetes types accept, and every image is pinned.
func TestOverlaysBuildAndPin(t *testing.T) {
	for _, o := range overlays(t) {
		if o.component {
			continue // built through the overlays that include it
		}
		t.Run(o.name, func(t *testing.T) {
			objs := kustomize(t, o.dir)
			if len(objs) == 0 {
				t.Fatal("builds no object")
			}
			decodeStrict(t, o.dir, objs)
			for k, imgs := range images(objs) {
				for _, img := range imgs {
					if why := pinned(img); why != "" {
						t.Errorf("%s: image %q: %s", k, img, why)
					}
				}
			}
		})
	}
}

func TestPinned(t *testing.T) {
	for ref, want := range map[string]bool{
		"ghcr.io/kgctl/kgctl:v0.1.0":          true,
		"ghcr.io/kgctl/kgctl@sha256:0123abcd": true,
		"localhost:5000/kgctl:v1":             true,
		"ghcr.io/kgctl/kgctl":                 false,
		"localhost:5000/kgctl":                false,
		"ghcr.io/kgctl/kgctl:latest":          false,
		"":                                    false,
	} {
		if got := pinned(ref) == ""; got != want {
			t.Errorf("pinned(%q) = %q, want pinned %v", ref, pinned(ref), want)
		}
	}
}

// The chart, with the values of charts/kgctl/ci/OVERLAY-values.yaml,
// renders the objects manifests/OVERLAY builds, apart from the chart's own
// labels (ChartLabels). Every overlay that runs the agent has such a file.
func TestChartMatchesOverlays(t *testing.T) {
	seen := map[string]bool{}
	for _, o := range overlays(t) {
		if o.component || o.name == "base" {
			continue
		}
		seen[o.name] = true
		t.Run(o.name, func(t *testing.T) {
			want := kustomize(t, o.dir)
			got := render(t, release, namespace, ciValues(t, o.name))
			decodeStrict(t, "chart", got)
			for k, imgs := range images(got) {
				for _, img := range imgs {
					if why := pinned(img); why != "" {
						t.Errorf("chart's %s: image %q: %s", k, img, why)
					}
				}
			}
			for _, g := range got {
				if g.GetKind() == "CustomResourceDefinition" {
					continue // crds/ is not templated
				}
				for _, l := range ChartLabels {
					if g.GetLabels()[l] == "" {
						t.Errorf("chart's %s has no label %s", Key(g), l)
					}
				}
			}
			if d := Diff(want, Normalize(got)); d != "" {
				t.Errorf("helm template -f charts/kgctl/ci/%s-values.yaml differs from kustomize build manifests/%s:\n%s", o.name, o.name, d)
			}
		})
	}
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), "-values.yaml")
		if !seen[name] && !chartOnly[name] {
			t.Errorf("%s: no overlay manifests/%s to compare it with", f, name)
		}
		delete(seen, name)
	}
	for name := range seen {
		t.Errorf("manifests/%s: no charts/kgctl/ci/%s-values.yaml: the chart cannot be compared with it", name, name)
	}
}

// The comparison sees what differs: the chart with another overlay's
// values, or under another release name, does not pass for kubeadm's.
func TestDiffFindsDifferences(t *testing.T) {
	kubeadm := kustomize(t, filepath.Join(manifestsDir, "kubeadm"))
	for _, tc := range []struct {
		name, release, namespace string
		values                   map[string]any
		want                     []string
	}{
		{"userspace", release, namespace, map[string]any{"userspace": true},
			[]string{"DaemonSet kube-system/kgctl (-want +got)", `+`, `"--wireguard=userspace"`, `"dev-net-tun"`}},
		{"k3s cni dir", release, namespace, map[string]any{"cni": map[string]any{"hostConfDir": "/var/lib/rancher/k3s/agent/etc/cni/net.d"}},
			[]string{`-`, `"/etc/cni/net.d"`, `"/var/lib/rancher/k3s/agent/etc/cni/net.d"`}},
		{"release name", "mesh", namespace, nil,
			[]string{"missing: apps/v1 DaemonSet kube-system/kgctl", "unexpected: apps/v1 DaemonSet kube-system/mesh-kgctl"}},
		{"no policy", release, namespace, map[string]any{"agentPolicy": map[string]any{"enabled": false}},
			[]string{"missing: admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy kgctl-agent"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Diff(kubeadm, Normalize(render(t, tc.release, tc.namespace, tc.values)))
			if d == "" {
				t.Fatal("no difference found")
			}
			for _, w := range tc.want {
				if !strings.Contains(d, w) {
					t.Errorf("diff does not mention %s:\n%s", w, d)
				}
			}
		})
	}
	if d := Diff(append(kubeadm, kubeadm[0]), kubeadm); !strings.Contains(d, "want has "+Key(kubeadm[0])+" twice") {
		t.Errorf("a duplicated object is not reported:\n%s", d)
	}
}

func daemonSet(t *testing.T, objs []*unstructured.Unstructured) *appsv1.DaemonSet {
	t.Helper()
	var ds []*appsv1.DaemonSet
	for _, o := range objs {
		if o.GetKind() != "DaemonSet" {
			continue
		}
		var d appsv1.DaemonSet
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &d); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, &d)
	}
	if len(ds) != 1 {
		t.Fatalf("%d DaemonSets rendered, want 1", len(ds))
	}
	return ds[0]
}

func names[T any](items []T, name func(T) string) []string {
	out := []string{}
	for _, i := range items {
		out = append(out, name(i))
	}
	return out
}

// What each value does to the rendered objects.
func TestChartValues(t *testing.T) {
	base := []string{"agent", "--hostname=$(NODE_NAME)"}
	cniPath := "--cni-path=/etc/cni/net.d/10-kilo.conflist"
	flannelArgs := []string{"--compatibility=flannel", "--cni=false", "--internal-cidr=$(NODE_IP)/32"}
	stdVolumes := []string{"cni-conf-dir", "kilo-dir", "lib-modules", "xtables-lock"}
	for _, tc := range []struct {
		name          string
		release, ns   string
		values        map[string]any
		file          string // a ci/ values file instead of values
		args, volumes []string
		mounts        []string // default: volumes
		env           []string // default: NODE_NAME
		check         func(t *testing.T, objs []*unstructured.Unstructured, ds *appsv1.DaemonSet)
	}{
		{name: "defaults", args: append(base, cniPath), volumes: stdVolumes,
			check: func(t *testing.T, objs []*unstructured.Unstructured, ds *appsv1.DaemonSet) {
				c := ds.Spec.Template.Spec.Containers[0]
				if repo, tag := imageTag(t); c.Image != repo+":"+tag || c.ImagePullPolicy != "" {
					t.Errorf("image %q pull policy %q", c.Image, c.ImagePullPolicy)
				}
				if got := c.Resources.Requests.Memory().String(); got != "32Mi" {
					t.Errorf("memory request %s", got)
				}
				p := ds.Spec.Template.Spec
				if p.PriorityClassName != "system-node-critical" || len(p.Tolerations) != 1 || p.Tolerations[0].Operator != corev1.TolerationOpExists || p.NodeSelector != nil {
					t.Errorf("priority %q tolerations %v node selector %v", p.PriorityClassName, p.Tolerations, p.NodeSelector)
				}
			}},
		{name: "flannel", file: "flannel", args: append(base, flannelArgs...),
			volumes: []string{"kilo-dir", "lib-modules", "xtables-lock"}, env: []string{"NODE_NAME", "NODE_IP"},
			check: func(t *testing.T, _ []*unstructured.Unstructured, ds *appsv1.DaemonSet) {
				ip := ds.Spec.Template.Spec.Containers[0].Env[1]
				if ip.ValueFrom == nil || ip.ValueFrom.FieldRef == nil || ip.ValueFrom.FieldRef.FieldPath != "status.hostIP" {
					t.Errorf("NODE_IP from %+v, want status.hostIP", ip.ValueFrom)
				}
			}},
		{name: "flannel and userspace", values: map[string]any{"compatibility": "flannel", "userspace": true},
			args:    append(append(base, "--wireguard=userspace"), flannelArgs...),
			volumes: []string{"kilo-dir", "lib-modules", "xtables-lock", "dev-net-tun", "wireguard-sock"}, env: []string{"NODE_NAME", "NODE_IP"}},
		{name: "granularity and encapsulation", values: map[string]any{"granularity": "cross", "encapsulate": "crosssubnet"},
			args: append(base, cniPath, "--mesh-granularity=cross", "--encapsulate=crosssubnet"), volumes: stdVolumes},
		{name: "full, never", values: map[string]any{"granularity": "full", "encapsulate": "never"},
			args: append(base, cniPath, "--mesh-granularity=full", "--encapsulate=never"), volumes: stdVolumes},
		{name: "extra args last", values: map[string]any{"granularity": "full", "extraArgs": []any{"--service-cidr=10.43.0.0/16", "--iptables-forward-rules"}},
			args: append(base, cniPath, "--mesh-granularity=full", "--service-cidr=10.43.0.0/16", "--iptables-forward-rules"), volumes: stdVolumes},
		{name: "kubeconfig from the host", values: map[string]any{"kubeconfig": map[string]any{"hostPath": "/etc/rancher/k3s/k3s.yaml"}},
			args: append(base, "--kubeconfig=/etc/kubernetes/kubeconfig", cniPath), volumes: append(stdVolumes, "kubeconfig"),
			check: func(t *testing.T, _ []*unstructured.Unstructured, ds *appsv1.DaemonSet) {
				v := ds.Spec.Template.Spec.Volumes[4]
				m := ds.Spec.Template.Spec.Containers[0].VolumeMounts[4]
				if v.HostPath.Path != "/etc/rancher/k3s/k3s.yaml" || *v.HostPath.Type != corev1.HostPathFile || !m.ReadOnly || m.MountPath != "/etc/kubernetes/kubeconfig" {
					t.Errorf("kubeconfig volume %+v mount %+v", v.HostPath, m)
				}
			}},
		{name: "image and scheduling", values: map[string]any{
			"image":        map[string]any{"repository": "registry.example/mesh/kgctl", "tag": "v0.2.0-rc.1", "pullPolicy": "Always"},
			"nodeSelector": map[string]any{"kubernetes.io/os": "linux"}, "tolerations": []any{},
			"resources":         map[string]any{"limits": map[string]any{"memory": "128Mi"}},
			"priorityClassName": "", "podAnnotations": map[string]any{"example.com/scrape": "true"},
		}, args: append(base, cniPath), volumes: stdVolumes,
			check: func(t *testing.T, _ []*unstructured.Unstructured, ds *appsv1.DaemonSet) {
				p := ds.Spec.Template.Spec
				c := p.Containers[0]
				if c.Image != "registry.example/mesh/kgctl:v0.2.0-rc.1" || c.ImagePullPolicy != corev1.PullAlways {
					t.Errorf("image %q pull policy %q", c.Image, c.ImagePullPolicy)
				}
				// Helm merges maps: the default requests stay.
				if c.Resources.Requests.Cpu().String() != "10m" || c.Resources.Limits.Memory().String() != "128Mi" {
					t.Errorf("resources %+v, want the default requests and the limit", c.Resources)
				}
				if p.PriorityClassName != "" || p.Tolerations != nil || p.NodeSelector["kubernetes.io/os"] != "linux" {
					t.Errorf("priority %q tolerations %v node selector %v", p.PriorityClassName, p.Tolerations, p.NodeSelector)
				}
				if ds.Spec.Template.Annotations["example.com/scrape"] != "true" {
					t.Errorf("pod annotations %v", ds.Spec.Template.Annotations)
				}
			}},
		{name: "another release and namespace", release: "mesh", ns: "net", args: append(base, cniPath), volumes: stdVolumes,
			check: func(t *testing.T, objs []*unstructured.Unstructured, ds *appsv1.DaemonSet) {
				if ds.Name != "mesh-kgctl" || ds.Namespace != "net" || ds.Spec.Template.Spec.ServiceAccountName != "mesh-kgctl" {
					t.Errorf("DaemonSet %s/%s, service account %s", ds.Namespace, ds.Name, ds.Spec.Template.Spec.ServiceAccountName)
				}
				var got []string
				for _, o := range objs {
					got = append(got, Key(o))
					switch o.GetKind() {
					case "ValidatingAdmissionPolicy":
						conds, _, _ := unstructured.NestedSlice(o.Object, "spec", "matchConditions")
						if e := conds[0].(map[string]any)["expression"]; e != "request.userInfo.username == 'system:serviceaccount:net:mesh-kgctl'" {
							t.Errorf("policy matches %v", e)
						}
					case "ValidatingAdmissionPolicyBinding":
						if p, _, _ := unstructured.NestedString(o.Object, "spec", "policyName"); p != "mesh-kgctl-agent" {
							t.Errorf("binding of policy %q", p)
						}
					case "ClusterRoleBinding", "RoleBinding":
						subj, _, _ := unstructured.NestedSlice(o.Object, "subjects")
						s := subj[0].(map[string]any)
						if s["name"] != "mesh-kgctl" || s["namespace"] != "net" {
							t.Errorf("%s subject %v", Key(o), s)
						}
						if r, _, _ := unstructured.NestedString(o.Object, "roleRef", "name"); r != "mesh-kgctl" {
							t.Errorf("%s role %q", Key(o), r)
						}
					}
				}
				sort.Strings(got)
				want := []string{
					"admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy mesh-kgctl-agent",
					"admissionregistration.k8s.io/v1 ValidatingAdmissionPolicyBinding mesh-kgctl-agent",
					"apiextensions.k8s.io/v1 CustomResourceDefinition peers.kilo.squat.ai",
					"apps/v1 DaemonSet net/mesh-kgctl",
					"rbac.authorization.k8s.io/v1 ClusterRole mesh-kgctl",
					"rbac.authorization.k8s.io/v1 ClusterRoleBinding mesh-kgctl",
					"rbac.authorization.k8s.io/v1 Role net/mesh-kgctl",
					"rbac.authorization.k8s.io/v1 RoleBinding net/mesh-kgctl",
					"v1 ServiceAccount net/mesh-kgctl",
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("objects (-want +got):\n%s", d)
				}
			}},
		{name: "no admission policy", values: map[string]any{"agentPolicy": map[string]any{"enabled": false}}, args: append(base, cniPath), volumes: stdVolumes,
			check: func(t *testing.T, objs []*unstructured.Unstructured, _ *appsv1.DaemonSet) {
				for _, o := range objs {
					if strings.HasPrefix(o.GetKind(), "ValidatingAdmissionPolicy") {
						t.Errorf("%s rendered", Key(o))
					}
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := tc.values
			if tc.file != "" {
				values = ciValues(t, tc.file)
			}
			rel, ns := tc.release, tc.ns
			if rel == "" {
				rel, ns = release, namespace
			}
			objs := render(t, rel, ns, values)
			decodeStrict(t, "chart", objs)
			ds := daemonSet(t, objs)
			spec := ds.Spec.Template.Spec
			c := spec.Containers[0]
			if d := cmp.Diff(tc.args, c.Args); d != "" {
				t.Errorf("args (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.volumes, names(spec.Volumes, func(v corev1.Volume) string { return v.Name })); d != "" {
				t.Errorf("volumes (-want +got):\n%s", d)
			}
			mounts := tc.mounts
			if mounts == nil {
				mounts = tc.volumes
			}
			if d := cmp.Diff(mounts, names(c.VolumeMounts, func(m corev1.VolumeMount) string { return m.Name })); d != "" {
				t.Errorf("volume mounts (-want +got):\n%s", d)
			}
			env := tc.env
			if env == nil {
				env = []string{"NODE_NAME"}
			}
			if d := cmp.Diff(env, names(c.Env, func(e corev1.EnvVar) string { return e.Name })); d != "" {
				t.Errorf("env (-want +got):\n%s", d)
			}
			if tc.check != nil {
				tc.check(t, objs, ds)
			}
		})
	}
}

// Bad values are refused before anything renders, naming the value.
func TestChartRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values map[string]any
		want   []string
		kube   string
	}{
		{"granularity", map[string]any{"granularity": "region"}, []string{"/granularity", "'region'", "location|full|cross"}, ""},
		{"encapsulate", map[string]any{"encapsulate": "sometimes"}, []string{"/encapsulate", "'sometimes'", "always|crosssubnet|never"}, ""},
		{"compatibility", map[string]any{"compatibility": "cilium"}, []string{"/compatibility", "'cilium'", "flannel"}, ""},
		{"pull policy", map[string]any{"image": map[string]any{"pullPolicy": "always"}}, []string{"/image/pullPolicy", "'always'"}, ""},
		{"granularity not a string", map[string]any{"granularity": 3}, []string{"/granularity", "want string"}, ""},
		{"userspace not a bool", map[string]any{"userspace": "yes"}, []string{"/userspace", "boolean"}, ""},
		{"misspelt key", map[string]any{"granularty": "full"}, []string{"granularty"}, ""},
		{"misspelt nested key", map[string]any{"cni": map[string]any{"confDir": "/etc/cni"}}, []string{"/cni", "confDir"}, ""},
		{"relative host path", map[string]any{"cni": map[string]any{"hostConfDir": "etc/cni/net.d"}}, []string{"/cni/hostConfDir"}, ""},
		{"extra arg without dashes", map[string]any{"extraArgs": []any{"service-cidr=10.43.0.0/16"}}, []string{"/extraArgs/0"}, ""},
		{"latest", map[string]any{"image": map[string]any{"tag": "latest"}}, []string{`image.tag: "latest" is refused`}, ""},
		{"policy before 1.32", nil, []string{"agentPolicy.enabled", "1.32", "v1.31.4", "agentPolicy.enabled=false"}, "v1.31.4"},
		{"before 1.30", map[string]any{"agentPolicy": map[string]any{"enabled": false}}, []string{"kubeVersion", "v1.29.0"}, "v1.29.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Template(chartDir, release, namespace, tc.kube, tc.values)
			if err == nil {
				t.Fatalf("values %v accepted", tc.values)
			}
			t.Logf("%v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %s:\n%v", w, err)
				}
			}
		})
	}
}

// helm lint --strict, with the defaults and with every ci/ values file.
func TestLint(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append([]string{""}, files...) {
		name := filepath.Base(f)
		if f == "" {
			name = "defaults"
		}
		t.Run(name, func(t *testing.T) {
			values := map[string]any{}
			if f != "" {
				values = ciValues(t, strings.TrimSuffix(filepath.Base(f), "-values.yaml"))
			}
			kube, err := chartutil.ParseKubeVersion(KubeVersion)
			if err != nil {
				t.Fatal(err)
			}
			l := lint.AllWithKubeVersion(chartDir, values, namespace, kube)
			for _, m := range l.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				} else {
					t.Logf("helm lint: %s", m)
				}
			}
		})
	}
	// The linter is not silent on a broken chart.
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "Chart.yaml"), []byte("apiVersion: v2\nname: Bad_Name\nversion: not-semver\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if l := lint.All(bad, nil, namespace, true); l.HighestSeverity < support.ErrorSev {
		t.Errorf("helm lint of a chart with a bad version passed: %v", l.Messages)
	}
}

// The chart's version and appVersion follow the image tag pinned in
// manifests/image, and so does its image repository.
func TestChartVersion(t *testing.T) {
	image, tag := imageTag(t)
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Metadata.AppVersion != tag {
		t.Errorf("charts/kgctl/Chart.yaml: appVersion %q, want %q (manifests/image newTag)", ch.Metadata.AppVersion, tag)
	}
	if want := strings.TrimPrefix(tag, "v"); ch.Metadata.Version != want {
		t.Errorf("charts/kgctl/Chart.yaml: version %q, want %q (manifests/image newTag without its v)", ch.Metadata.Version, want)
	}
	if repo := ch.Values["image"].(map[string]any)["repository"]; repo != image {
		t.Errorf("charts/kgctl/values.yaml: image.repository %q, want %q (manifests/image)", repo, image)
	}
}

// NOTES.txt renders and tells the release's own names.
func TestNotes(t *testing.T) {
	_, tag := imageTag(t)
	for _, tc := range []struct {
		release, ns string
		values      map[string]any
		want        []string
	}{
		{release, namespace, nil, []string{"kgctl " + tag + ":", "DaemonSet kube-system/kgctl (granularity location)", "kubectl -n kube-system rollout status daemonset/kgctl"}},
		{"mesh", "net", map[string]any{"granularity": "full", "userspace": true, "compatibility": "flannel"},
			[]string{"DaemonSet net/mesh-kgctl (granularity full, userspace WireGuard, add-on mode over flannel)", "daemonset/mesh-kgctl"}},
	} {
		_, notes, err := Template(chartDir, tc.release, tc.ns, "", tc.values)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(notes, w) {
				t.Errorf("release %s: NOTES.txt does not say %q:\n%s", tc.release, w, notes)
			}
		}
	}
}
