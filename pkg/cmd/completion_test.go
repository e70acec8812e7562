package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// TestCompletionsCurrent fails when completions/ is stale: regenerate
// with `make completions` after changing commands or flags.
func TestCompletionsCurrent(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		var out bytes.Buffer
		cmd := NewRootCommand("kgctl", genericiooptions.IOStreams{Out: &out, ErrOut: &out})
		cmd.SetArgs([]string{"completion", shell})
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "..", "completions", "kgctl."+shell)
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, out.Bytes()) {
			t.Errorf("%s is stale: run make completions", path)
		}
	}
}

func TestPluginName(t *testing.T) {
	for arg0, want := range map[string]string{"/usr/local/bin/kubectl-kilo": "kubectl kilo", "kgctl": "kgctl", "./bin/kgctl": "kgctl"} {
		if got := CommandName(arg0); got != want {
			t.Errorf("CommandName(%q) = %q, want %q", arg0, got, want)
		}
	}
	var out bytes.Buffer
	cmd := NewRootCommand("kubectl kilo", genericiooptions.IOStreams{Out: &out, ErrOut: &out})
	cmd.SetArgs([]string{"showconf", "--help"})
	cmd.Execute()
	if !bytes.Contains(out.Bytes(), []byte("kubectl kilo showconf (node|peer) NAME")) {
		t.Errorf("plugin usage does not say kubectl kilo:\n%s", out.String())
	}
}
