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
	return candidates(out.String())
}

// candidates are __complete's output lines, the directive line and the
// descriptions dropped.
func candidates(out string) []string {
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
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

// Completion of names from the shipped example (-f testdata/example), and
// of every flag with fixed values.
func TestCompletionExample(t *testing.T) {
	ex := "../../testdata/example"
	nodes := []string{"aws-1", "aws-2", "aws-3", "gcp-1", "gcp-2", "lab-1", "lab-2", "metal-1"}
	tests := map[string]struct {
		args []string
		want []string
	}{
		"node names":             {[]string{"showconf", "node", "-f", ex, ""}, nodes},
		"node names by prefix":   {[]string{"showconf", "node", "-f", ex, "gcp"}, []string{"gcp-1", "gcp-2"}},
		"peer names":             {[]string{"showconf", "peer", "-f", ex, ""}, []string{"laptop", "office"}},
		"no third argument":      {[]string{"showconf", "node", "aws-1", "-f", ex, ""}, nil},
		"delete node from files": {[]string{"plan", "--current", ex, "--delete", "node/l"}, []string{"node/lab-1", "node/lab-2"}},
		"delete peer from files": {[]string{"plan", "--current", ex, "--delete", "peer/"}, []string{"peer/laptop", "peer/office"}},
		"delete kinds":           {[]string{"plan", "--delete", "p"}, []string{"peer/"}},
		"granularity of plan":    {[]string{"plan", "--current-mesh-granularity", ""}, []string{"location", "full", "cross", "auto"}},
		"granularity of peer":    {[]string{"peer", "add", "x", "--mesh-granularity", "c"}, []string{"cross"}},
		"granularity of status":  {[]string{"status", "--mesh-granularity", "f"}, []string{"full"}},
		"plan output":            {[]string{"plan", "-o", ""}, []string{"text", "json"}},
		"peer add output":        {[]string{"peer", "add", "x", "-o", "y"}, []string{"yaml"}},
		"version output":         {[]string{"version", "-o", "n"}, nil}, // -o name is for objects
		"dry run":                {[]string{"peer", "add", "x", "--dry-run", ""}, []string{"none", "client", "server"}},
		"remove dry run":         {[]string{"peer", "remove", "--dry-run", "s"}, []string{"server"}},
		"link dry run":           {[]string{"link", "--dry-run", "c"}, []string{"client"}},
		"link direction":         {[]string{"link", "--only", ""}, []string{"to", "from"}},
		"graph layout":           {[]string{"graph", "--layout", "c"}, []string{"circo"}},
		"plan colour":            {[]string{"plan", "--color", "a"}, []string{"auto", "always"}},
		"agent encapsulation":    {[]string{"agent", "--encapsulate", "c"}, []string{"crosssubnet"}},
		"agent wireguard":        {[]string{"agent", "--wireguard", "k"}, []string{"kernel"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, complete(t, tt.args...)); d != "" {
				t.Errorf("kgctl __complete %s (-want +got):\n%s", strings.Join(tt.args, " "), d)
			}
		})
	}
}

// Without -f, names come from the cluster; peer remove offers each Peer
// once, and none when the cluster cannot be read.
func TestCompletionCluster(t *testing.T) {
	f := newFakeCluster(t)
	tests := map[string]struct {
		args []string
		want []string
	}{
		"node names":              {[]string{"showconf", "node", "lab"}, []string{"lab-1", "lab-2"}},
		"peer names":              {[]string{"showconf", "peer", ""}, []string{"laptop", "office"}},
		"remove":                  {[]string{"peer", "remove", ""}, []string{"laptop", "office"}},
		"remove, one given":       {[]string{"peer", "remove", "laptop", ""}, []string{"office"}},
		"delete from the cluster": {[]string{"plan", "--delete", "node/m"}, []string{"node/metal-1"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			out, errOut, err := f.run(t, append([]string{"__complete"}, tt.args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, errOut)
			}
			if d := cmp.Diff(tt.want, candidates(out)); d != "" {
				t.Errorf("kgctl __complete %s (-want +got):\n%s", strings.Join(tt.args, " "), d)
			}
		})
	}
	var none *fakeCluster
	out, _, err := none.run(t, "__complete", "peer", "remove", "")
	if err != nil || candidates(out) != nil || !strings.HasPrefix(strings.TrimSpace(out), ":") {
		t.Errorf("without a cluster: %v %q", err, out)
	}
}
