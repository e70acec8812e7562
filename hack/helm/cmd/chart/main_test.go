package main

import (
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/registry"
)

const chartDir = "../../../../charts/kgctl"

// files are the chart's files but Chart.yaml, which packaging writes
// anew from the chart's metadata (compared on its own).
func files(c *chart.Chart) map[string]string {
	m := map[string]string{}
	for _, f := range c.Raw {
		if f.Name != "Chart.yaml" {
			m[f.Name] = string(f.Data)
		}
	}
	return m
}

// The package holds every file of the chart (crds/, templates/, the
// schema), and a registry serves back the same bytes under NAME:VERSION.
func TestPackageAndPush(t *testing.T) {
	tgz, err := Package(chartDir, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src, err := loader.LoadDir(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	if want := src.Metadata.Name + "-" + src.Metadata.Version + ".tgz"; filepath.Base(tgz) != want {
		t.Errorf("package %s, want %s", tgz, want)
	}
	pkg, err := loader.LoadFile(tgz)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(src.Metadata, pkg.Metadata); d != "" {
		t.Errorf("packaged Chart.yaml (-chart +package):\n%s", d)
	}
	if d := cmp.Diff(files(src), files(pkg)); d != "" {
		t.Errorf("packaged files (-chart +package):\n%s", d)
	}
	var names []string
	for n := range files(pkg) {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, want := range []string{"crds/peers.yaml", "templates/daemonset.yaml", "values.schema.json"} {
		if i := sort.SearchStrings(names, want); i == len(names) || names[i] != want {
			t.Errorf("package has no %s: %v", want, names)
		}
	}

	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ref, err := Push(tgz, "oci://"+host+"/charts/", true)
	if err != nil {
		t.Fatal(err)
	}
	if want := host + "/charts/kgctl:" + src.Metadata.Version; ref != want {
		t.Errorf("pushed as %s, want %s", ref, want)
	}
	c, err := registry.NewClient(registry.ClientOptPlainHTTP(), registry.ClientOptWriter(&bytes.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Pull(ref)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	data, err := os.ReadFile(tgz)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Chart.Data, data) {
		t.Errorf("pulled %d bytes, pushed %d: not the same package", len(res.Chart.Data), len(data))
	}
	if res.Chart.Meta.AppVersion != src.Metadata.AppVersion {
		t.Errorf("pulled appVersion %q, want %q", res.Chart.Meta.AppVersion, src.Metadata.AppVersion)
	}
}

func TestPushRefuses(t *testing.T) {
	tgz, err := Package(chartDir, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, repo := range []string{"ghcr.io/kgctl/charts", "oci://", "https://ghcr.io/kgctl"} {
		if _, err := Push(tgz, repo, true); err == nil || !strings.Contains(err.Error(), "oci://HOST/PATH") {
			t.Errorf("Push to %q: %v, want a refusal naming oci://HOST/PATH", repo, err)
		}
	}
	if _, err := Package(t.TempDir(), t.TempDir()); err == nil {
		t.Error("Package of an empty directory succeeded")
	}
}
