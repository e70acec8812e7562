// Package helm holds the tests that hold charts/kgctl to the kustomize
// overlays under manifests/: each overlay rendered with kustomize's own
// library (krusty, what kubectl apply -k runs), the chart rendered as
// `helm template --include-crds` renders it (Helm's engine, through the
// steps of its install action in client-only mode; no cluster), both
// decoded and compared object by object. A module of its own, so Helm's
// and kustomize's dependencies stay out of the main go.mod.
package helm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// ChartLabels are the labels the chart puts on its objects beyond the
// manifests' (templates/_helpers.tpl, kgctl.labels): Normalize sets them
// aside, and the tests check the chart does carry them.
var ChartLabels = []string{
	"helm.sh/chart",
	"app.kubernetes.io/managed-by",
	"app.kubernetes.io/instance",
	"app.kubernetes.io/version",
}

// Kustomize builds the kustomization in dir as kubectl apply -k would and
// returns its YAML stream.
func Kustomize(dir string) ([]byte, error) {
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	return m.AsYaml()
}

// KubeVersion is the Kubernetes version the chart is rendered for unless
// told otherwise: the oldest it supports with every feature on (the
// admission policy's node binding). Helm as a library would assume 1.20.
const KubeVersion = "v1.32.0"

// Template renders the chart in dir as `helm template NAME DIR -n NS
// --include-crds --kube-version KUBE -f VALUES` does, with the steps of
// Helm's install action in client-only mode (pkg/action's renderResources):
// the chart's kubeVersion checked, values coalesced with the chart's
// defaults and checked against values.schema.json, templates rendered by
// Helm's engine, NOTES.txt set aside, manifests split and sorted in
// install order, crds/ first. No cluster is asked. An empty kube is
// KubeVersion. Helm's engine rather than its action package: the action
// links every client-go clientset, Helm's registry and storage drivers,
// and doubles the test's compile.
func Template(dir, release, namespace, kube string, values map[string]any) (manifest []byte, notes string, err error) {
	ch, err := loader.Load(dir)
	if err != nil {
		return nil, "", fmt.Errorf("load chart %s: %w", dir, err)
	}
	if kube == "" {
		kube = KubeVersion
	}
	caps := chartutil.DefaultCapabilities.Copy()
	kv, err := chartutil.ParseKubeVersion(kube)
	if err != nil {
		return nil, "", err
	}
	caps.KubeVersion = *kv
	if v := ch.Metadata.KubeVersion; v != "" && !chartutil.IsCompatibleRange(v, caps.KubeVersion.String()) {
		return nil, "", fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", v, caps.KubeVersion.String())
	}
	if values == nil {
		values = map[string]any{}
	}
	if err := chartutil.ProcessDependenciesWithMerge(ch, values); err != nil {
		return nil, "", err
	}
	opts := chartutil.ReleaseOptions{Name: release, Namespace: namespace, Revision: 1, IsInstall: true}
	vals, err := chartutil.ToRenderValues(ch, values, opts, caps)
	if err != nil {
		return nil, "", fmt.Errorf("helm template %s %s: %w", release, dir, err)
	}
	files, err := engine.Render(ch, vals)
	if err != nil {
		return nil, "", fmt.Errorf("helm template %s %s: %w", release, dir, err)
	}
	notes = files[path.Join(ch.Name(), "templates", "NOTES.txt")]
	for k := range files {
		if strings.HasSuffix(k, "NOTES.txt") {
			delete(files, k)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, "", fmt.Errorf("helm template %s %s: %w", release, dir, err)
	}
	if len(hooks) > 0 {
		return nil, "", fmt.Errorf("helm template %s %s: %d hooks: this comparison does not cover hooks", release, dir, len(hooks))
	}
	var b bytes.Buffer
	for _, crd := range ch.CRDObjects() {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", crd.Filename, crd.File.Data)
	}
	for _, m := range manifests {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.Name, m.Content)
	}
	return b.Bytes(), notes, nil
}

// ReadValues reads a values file as helm -f does.
func ReadValues(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v := map[string]any{}
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// Decode splits a YAML stream into objects, skipping empty documents.
func Decode(stream []byte) ([]*unstructured.Unstructured, error) {
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(stream), 4096)
	var out []*unstructured.Unstructured
	for i := 0; ; i++ {
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetKind() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("document %d: no kind or metadata.name", i)
		}
		out = append(out, u)
	}
}

// Key names an object: apiVersion, kind, namespace/name.
func Key(u *unstructured.Unstructured) string {
	ns := u.GetNamespace()
	if ns != "" {
		ns += "/"
	}
	return u.GetAPIVersion() + " " + u.GetKind() + " " + ns + u.GetName()
}

// Normalize sets the chart's own labels aside, on the object and on a
// workload's Pod template, and drops a labels map left empty. Objects are
// deep-copied.
func Normalize(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		o = o.DeepCopy()
		for _, path := range [][]string{{"metadata", "labels"}, {"spec", "template", "metadata", "labels"}} {
			labels, ok, _ := unstructured.NestedStringMap(o.Object, path...)
			if !ok {
				continue
			}
			for _, l := range ChartLabels {
				delete(labels, l)
			}
			if len(labels) == 0 {
				unstructured.RemoveNestedField(o.Object, path...)
				continue
			}
			_ = unstructured.SetNestedStringMap(o.Object, labels, path...)
		}
		out = append(out, o)
	}
	return out
}

// Diff compares two sets of objects regardless of order: objects only in
// one of them, then for each object in both, the fields that differ
// (-want +got). Empty when they are equal.
func Diff(want, got []*unstructured.Unstructured) string {
	index := func(objs []*unstructured.Unstructured) (map[string]map[string]any, []string) {
		m := map[string]map[string]any{}
		var dups []string
		for _, o := range objs {
			k := Key(o)
			if _, ok := m[k]; ok {
				dups = append(dups, k)
			}
			m[k] = o.Object
		}
		return m, dups
	}
	w, wdup := index(want)
	g, gdup := index(got)
	var b strings.Builder
	for _, k := range wdup {
		fmt.Fprintf(&b, "want has %s twice\n", k)
	}
	for _, k := range gdup {
		fmt.Fprintf(&b, "got has %s twice\n", k)
	}
	keys := map[string]bool{}
	for k := range w {
		keys[k] = true
	}
	for k := range g {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		wo, inW := w[k]
		gobj, inG := g[k]
		switch {
		case !inG:
			fmt.Fprintf(&b, "missing: %s\n", k)
		case !inW:
			fmt.Fprintf(&b, "unexpected: %s\n", k)
		default:
			if d := cmp.Diff(wo, gobj); d != "" {
				fmt.Fprintf(&b, "%s (-want +got):\n%s", k, d)
			}
		}
	}
	return b.String()
}
