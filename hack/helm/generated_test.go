package helm

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the chart's files made from manifests/base (crds/peers.yaml, templates/agent-policy.yaml)")

const crdHeader = `# Generated from manifests/base/crds.yaml: edit that file, then run
# go test -update in hack/helm. Helm installs crds/ on the first install
# only and never upgrades or deletes them: after a chart upgrade that
# changes the CRD, kubectl apply -f this file.
`

const policyHeader = `{{- /* Generated from manifests/base/agent-policy.yaml: edit that file, then
run go test -update in hack/helm. */ -}}
{{- if .Values.agentPolicy.enabled }}
{{- if semverCompare "<1.32.0-0" .Capabilities.KubeVersion.Version }}
{{- fail (printf "agentPolicy.enabled: the admission policy needs Kubernetes 1.32+ (it reads the node a token is bound to), this cluster is %s: set agentPolicy.enabled=false (agents may then patch any Node)" .Capabilities.KubeVersion.Version) }}
{{- end }}
`

// policyTemplate turns the manifests' policy into the chart's template:
// the release's names and ServiceAccount, the chart's labels.
func policyTemplate(src string) (string, error) {
	if strings.Contains(src, "{{") {
		return "", fmt.Errorf("manifests/base/agent-policy.yaml holds {{: the chart would read it as a template")
	}
	for _, r := range []struct{ old, new string }{
		{"\n  name: kgctl-agent\n", "\n  name: {{ include \"kgctl.fullname\" . }}-agent\n  labels:\n    {{- include \"kgctl.labels\" . | nindent 4 }}\n"},
		{"'system:serviceaccount:kube-system:kgctl'", "'{{ include \"kgctl.serviceAccountUser\" . }}'"},
		{"policyName: kgctl-agent\n", "policyName: {{ include \"kgctl.fullname\" . }}-agent\n"},
	} {
		if !strings.Contains(src, r.old) {
			return "", fmt.Errorf("manifests/base/agent-policy.yaml: no %q to template", r.old)
		}
		src = strings.ReplaceAll(src, r.old, r.new)
	}
	return policyHeader + src + "{{- end }}\n", nil
}

// The chart's copies of manifests/base are what -update makes of them.
func TestGenerated(t *testing.T) {
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	policy, err := policyTemplate(read(filepath.Join(manifestsDir, "base", "agent-policy.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		filepath.Join(chartDir, "crds", "peers.yaml"):             crdHeader + read(filepath.Join(manifestsDir, "base", "crds.yaml")),
		filepath.Join(chartDir, "templates", "agent-policy.yaml"): policy,
	} {
		if *update {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got := read(path); got != want {
			t.Errorf("%s is not what manifests/base makes of it: run go test -update in hack/helm", path)
		}
	}
}
