package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

const completionCluster = `apiVersion: v1
kind: Node
metadata:
  name: aws-1
---
apiVersion: v1
kind: Node
metadata:
  name: aws-2
---
apiVersion: v1
kind: Node
metadata:
  name: lab-1
---
apiVersion: kilo.squat.ai/v1alpha1
kind: Peer
metadata:
  name: laptop
spec:
  allowedIPs: [10.5.0.1/32]
  publicKey: 2/9fU2HLOBXXqM5YEzQ3FcJYXkM6R7cx1EWTT1Fut1M=
---
apiVersion: kilo.squat.ai/v1alpha1
kind: Peer
metadata:
  name: phone
spec:
  allowedIPs: [10.5.0.2/32]
  publicKey: 5oVQs3Hj4L+IZ9hj5P5ztRmoiHVRBmQUHjKlyOlP5Gs=
`

// complete drives cobra's hidden __complete command, as the shells do,
// and returns the candidates (the directive line dropped).
func complete(t *testing.T, args ...string) []string {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := NewRootCommand("kgctl", genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	cmd.SetArgs(append([]string{"__complete"}, args...))
	if err := cmd.Execute(); err != nil {
		t.Fatalf("__complete %v: %v\n%s", args, err, errOut.String())
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if l != "" && !strings.HasPrefix(l, ":") {
			name, _, _ := strings.Cut(l, "\t") // drop descriptions
			got = append(got, name)
		}
	}
	return got
}

func TestCompletion(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "cluster.yaml")
	if err := os.WriteFile(file, []byte(completionCluster), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		args []string
		want []string
	}{
		"showconf kinds":     {[]string{"showconf", ""}, []string{"node", "peer"}},
		"showconf nodes":     {[]string{"showconf", "-f", file, "node", ""}, []string{"aws-1", "aws-2", "lab-1"}},
		"showconf node pre":  {[]string{"showconf", "-f", dir, "node", "aws"}, []string{"aws-1", "aws-2"}},
		"showconf peers":     {[]string{"showconf", "-f", file, "peer", ""}, []string{"laptop", "phone"}},
		"showconf peer":      {[]string{"showconf", "peer", "-f", file, "p"}, []string{"phone"}},
		"plan delete kinds":  {[]string{"plan", "--current", file, "--delete", ""}, []string{"node/", "peer/"}},
		"plan delete nodes":  {[]string{"plan", "--current", file, "--delete", "node/"}, []string{"node/aws-1", "node/aws-2", "node/lab-1"}},
		"plan delete peer":   {[]string{"plan", "--current", file, "--delete", "peer/l"}, []string{"peer/laptop"}},
		"granularity":        {[]string{"graph", "--mesh-granularity", ""}, []string{"location", "full", "cross", "auto"}},
		"agent granularity":  {[]string{"agent", "--mesh-granularity", ""}, []string{"location", "full", "cross"}},
		"showconf output":    {[]string{"showconf", "-o", ""}, []string{"ini", "json", "yaml", "name", "go-template=", "go-template-file=", "template=", "templatefile=", "jsonpath=", "jsonpath-as-json=", "jsonpath-file="}},
		"peer list output j": {[]string{"peer", "list", "-o", "j"}, []string{"json", "jsonpath=", "jsonpath-as-json=", "jsonpath-file="}},
		"graph output":       {[]string{"graph", "-o", ""}, []string{"dot", "svg"}},
		"log level":          {[]string{"agent", "--log-level", "n"}, []string{"none"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, complete(t, tt.args...)); d != "" {
				t.Errorf("kgctl __complete %s (-want +got):\n%s", strings.Join(tt.args, " "), d)
			}
		})
	}
}
