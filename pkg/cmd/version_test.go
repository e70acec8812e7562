package cmd

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func TestVersionFrom(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "79c7986"}, {Key: "vcs.time", Value: "2026-12-01T20:00:00Z"}}
	tests := map[string]struct {
		info               *debug.BuildInfo
		version, commit, d string
	}{
		// go install github.com/kgctl/kgctl/cmd/kgctl@v0.3.0
		"go install": {&debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}}, "v0.3.0", "unknown", "unknown"},
		// go build in a checkout
		"go build": {&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs}, "dev", "79c7986", "2026-12-01T20:00:00Z"},
		"no info":  {nil, "dev", "unknown", "unknown"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			v := versionFrom(tt.info)
			if d := cmp.Diff([]string{tt.version, tt.commit, tt.d}, []string{v.Version, v.Commit, v.Date}); d != "" {
				t.Errorf("version, commit, date (-want +got):\n%s", d)
			}
		})
	}
}

// TestVersionFlag: Kilo's kgctl --version, and version's printers.
func TestVersionFlag(t *testing.T) {
	for args, want := range map[string]string{
		"--version":                     "kgctl " + currentVersion().Version + "\n",
		"version -o jsonpath={.commit}": currentVersion().Commit,
	} {
		var out bytes.Buffer
		cmd := NewRootCommand("kgctl", genericiooptions.IOStreams{Out: &out, ErrOut: &out})
		cmd.SetArgs(strings.Fields(args))
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%s: %v", args, err)
		}
		if out.String() != want {
			t.Errorf("kgctl %s = %q, want %q", args, out.String(), want)
		}
	}
}
