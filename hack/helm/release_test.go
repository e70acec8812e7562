package helm

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"sigs.k8s.io/yaml"
)

// imageTag is the image tag pinned in manifests/image.
func imageTag(t *testing.T) (name, tag string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(manifestsDir, "image", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Images []struct{ Name, NewTag string }
	}
	if err := yaml.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	if len(k.Images) != 1 || k.Images[0].NewTag == "" {
		t.Fatalf("manifests/image/kustomization.yaml: images %+v, want one with newTag", k.Images)
	}
	return k.Images[0].Name, k.Images[0].NewTag
}

// versionHooks are .goreleaser.yaml's before hooks that guard a release's
// tag (those reading IsSnapshot).
func versionHooks(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../.goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Before struct{ Hooks []string }
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf(".goreleaser.yaml: %v", err)
	}
	var out []string
	for _, h := range c.Before.Hooks {
		if strings.Contains(h, ".IsSnapshot") {
			out = append(out, h)
		}
	}
	return out
}

// runHook renders a hook as goreleaser does (Go templates over the
// release's fields) and runs it in dir. goreleaser splits a hook into
// words with shell quoting and runs them; for these `sh -c '…'` hooks a
// shell running the line does the same.
func runHook(t *testing.T, hook, dir, tag string, snapshot bool) (string, error) {
	t.Helper()
	tmpl, err := template.New("hook").Option("missingkey=error").Parse(hook)
	if err != nil {
		t.Fatalf("hook %q: %v", hook, err)
	}
	var line bytes.Buffer
	fields := struct {
		Tag, Version string
		IsSnapshot   bool
	}{tag, strings.TrimPrefix(tag, "v"), snapshot}
	if err := tmpl.Execute(&line, fields); err != nil {
		t.Fatalf("hook %q: %v", hook, err)
	}
	cmd := exec.Command("sh", "-c", line.String())
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The release refuses a tag that the manifests' and the chart's pinned
// versions do not match, and a snapshot builds whatever the tag.
func TestReleaseVersionHooks(t *testing.T) {
	_, tag := imageTag(t)
	hooks := versionHooks(t)
	byFile := map[string]string{}
	for _, h := range hooks {
		for _, f := range []string{"manifests/image/kustomization.yaml", "charts/kgctl/Chart.yaml"} {
			if strings.Contains(h, f) {
				byFile[f] = h
			}
		}
	}
	if len(byFile) != 2 {
		t.Fatalf(".goreleaser.yaml: want a before hook checking manifests/image and one checking charts/kgctl/Chart.yaml, found %q", hooks)
	}
	chart, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	image, err := os.ReadFile(filepath.Join(manifestsDir, "image", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	replace := func(b []byte, old, new string) []byte {
		t.Helper()
		if !bytes.Contains(b, []byte(old)) {
			t.Fatalf("no %q to replace", old)
		}
		return bytes.Replace(b, []byte(old), []byte(new), 1)
	}
	const other = "v9.8.7"
	for _, tc := range []struct {
		name         string
		tag          string
		snapshot     bool
		chart, image []byte
		// want: the files whose hook refuses the release
		want []string
	}{
		{name: "pinned tag", tag: tag},
		{name: "another tag", tag: other, want: []string{"manifests/image/kustomization.yaml", "charts/kgctl/Chart.yaml"}},
		{name: "snapshot", tag: other, snapshot: true},
		{name: "chart appVersion behind", tag: tag, chart: replace(chart, "appVersion: "+tag, "appVersion: v0.0.1"), want: []string{"charts/kgctl/Chart.yaml"}},
		{name: "chart version behind", tag: tag, chart: replace(chart, "\nversion: "+strings.TrimPrefix(tag, "v"), "\nversion: 0.0.1"), want: []string{"charts/kgctl/Chart.yaml"}},
		{name: "image behind", tag: tag, image: replace(image, "newTag: "+tag, "newTag: v0.0.1"), want: []string{"manifests/image/kustomization.yaml"}},
		{name: "everything bumped", tag: other,
			chart: replace(replace(chart, "appVersion: "+tag, "appVersion: "+other), "\nversion: "+strings.TrimPrefix(tag, "v"), "\nversion: "+strings.TrimPrefix(other, "v")),
			image: replace(image, "newTag: "+tag, "newTag: "+other)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for path, b := range map[string][]byte{"charts/kgctl/Chart.yaml": chart, "manifests/image/kustomization.yaml": image} {
				switch {
				case path == "charts/kgctl/Chart.yaml" && tc.chart != nil:
					b = tc.chart
				case path == "manifests/image/kustomization.yaml" && tc.image != nil:
					b = tc.image
				}
				if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(path)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, path), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			refused := map[string]bool{}
			for _, f := range tc.want {
				refused[f] = true
			}
			for f, h := range byFile {
				out, err := runHook(t, h, dir, tc.tag, tc.snapshot)
				switch {
				case refused[f] && err == nil:
					t.Errorf("hook on %s passed tag %s", f, tc.tag)
				case refused[f] && !strings.Contains(out, f+":") || refused[f] && !strings.Contains(out, tc.tag):
					t.Errorf("hook on %s: message %q names neither the file nor the tag %s", f, out, tc.tag)
				case !refused[f] && err != nil:
					t.Errorf("hook on %s refused tag %s: %v\n%s", f, tc.tag, err, out)
				}
			}
		})
	}
}
