package krew

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

const tag = "v0.1.0"

func fakeSum(url string) string {
	s := sha256.Sum256([]byte(url))
	return hex.EncodeToString(s[:])
}

// The shipped manifest renders, names the archives the release builds,
// and passes krew's validator (sigs.k8s.io/krew/cmd/validate-krew-manifest,
// which krew-index's CI runs on every submitted manifest).
func TestManifest(t *testing.T) {
	src, err := os.ReadFile("../../plugins/kilo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(src, tag, fakeSum)
	if err != nil {
		t.Fatalf("render plugins/kilo.yaml as krew-release-bot does: %v", err)
	}
	var m struct {
		Spec struct {
			Version   string
			Platforms []struct {
				URI, Sha256, Bin string
			}
		}
	}
	if err := yaml.UnmarshalStrict(out, &m, yaml.DisallowUnknownFields); err != nil && !strings.Contains(err.Error(), "unknown field") {
		t.Fatalf("rendered manifest is not YAML: %v\n%s", err, out)
	}
	if m.Spec.Version != tag {
		t.Errorf("spec.version = %q, want %q", m.Spec.Version, tag)
	}
	var got []string
	for _, p := range m.Spec.Platforms {
		got = append(got, p.URI)
		if p.Sha256 != fakeSum(p.URI) || p.Bin != "kubectl-kilo" {
			t.Errorf("platform %s: sha256 %q, bin %q", p.URI, p.Sha256, p.Bin)
		}
	}
	sort.Strings(got)
	if diff := cmp.Diff(releaseArchives(t), got); diff != "" {
		t.Errorf("manifest URIs against .goreleaser.yaml's archives (-want +got):\n%s", diff)
	}

	path := filepath.Join(t.TempDir(), "kilo.yaml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	// -skip-install: installing downloads the release archive.
	cmd := exec.Command("go", "tool", "validate-krew-manifest", "-manifest", path, "-skip-install")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("krew's validate-krew-manifest: %v\n%s\nmanifest:\n%s", err, b, out)
	}
}

// releaseArchives are the download URLs of the release's archives, from
// .goreleaser.yaml's name template and its linux/darwin amd64/arm64 builds.
func releaseArchives(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../.goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*name_template: "(kgctl_[^"]*)"`).FindSubmatch(b)
	if m == nil {
		t.Fatal(".goreleaser.yaml: no kgctl archive name_template")
	}
	var urls []string
	for _, os := range []string{"darwin", "linux"} {
		for _, arch := range []string{"amd64", "arm64"} {
			name := strings.NewReplacer("{{ .Tag }}", tag, "{{ .Os }}", os, "{{ .Arch }}", arch).Replace(string(m[1]))
			urls = append(urls, "https://github.com/kgctl/kgctl/releases/download/"+tag+"/"+name+".tar.gz")
		}
	}
	return urls
}

// The two ways the bot broke the old manifest, so the renderer is known
// to fail as the bot does.
func TestRenderFailsLikeTheBot(t *testing.T) {
	tests := map[string]string{
		"action in a comment": "# fills {{ addURIAndSha }} at release\nname: kilo\n",
		"function in the URL": `{{addURIAndSha "https://x/{{ .TagName | trimPrefix \"v\" }}.tar.gz" .TagName }}`,
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Render([]byte(src), tag, fakeSum); err == nil {
				t.Errorf("rendered %q without error", src)
			}
		})
	}
}
