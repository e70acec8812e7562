package cmd

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// TestNoKubeconfig: a first run without a cluster says so and points at
// -f, instead of client-go's "dial tcp 127.0.0.1:8080: connection refused".
func TestNoKubeconfig(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", filepath.Join(home, "missing"))
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	for _, args := range [][]string{{"graph"}, {"showconf", "node", "aws-1"}, {"peer", "list"}} {
		var out, errOut bytes.Buffer
		cmd := NewRootCommand("kgctl", genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
		cmd.SetArgs(args)
		exitCode(cmd.Execute(), &errOut)
		want := "error: no cluster to read from (use -f FILE to read manifests): no kubeconfig: none at --kubeconfig, $KUBECONFIG or ~/.kube/config, no --server, and not running in a pod\n"
		if errOut.String() != want {
			t.Errorf("kgctl %s:\n got %q\nwant %q", strings.Join(args, " "), errOut.String(), want)
		}
	}
}
