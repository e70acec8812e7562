package cmd

import (
	"bytes"
	"flag"
	"fmt"
	"github.com/kgctl/kgctl/internal/golden"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// TestScenarios runs every testdata/scenarios/*.txtar file. Each holds the
// manifests of a cluster (files ending in .yaml or .json), a "commands"
// file with one kgctl command per line, and one "$ COMMAND" section per
// command with its expected stdout, stderr and exit code. The manifests
// are written to a directory passed with -f to every command.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/scenarios/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			runScenario(t, file)
		})
	}
}

func runScenario(t *testing.T, file string) {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var commands []string
	want := map[string]string{}
	var kept []txtar.File
	for _, f := range ar.Files {
		switch {
		case f.Name == "commands":
			for _, l := range strings.Split(string(f.Data), "\n") {
				if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
					commands = append(commands, l)
				}
			}
			kept = append(kept, f)
		case strings.HasPrefix(f.Name, "$ "):
			want[strings.TrimPrefix(f.Name, "$ ")] = string(f.Data)
		default:
			if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			kept = append(kept, f)
		}
	}
	if len(commands) == 0 {
		t.Fatal("scenario has no commands")
	}
	for _, c := range commands {
		got := runCommand(t, c, dir)
		kept = append(kept, txtar.File{Name: "$ " + c, Data: []byte(got)})
		if *update {
			continue
		}
		if w, ok := want[c]; !ok {
			t.Errorf("%s: no golden section for %q (run go test -update)", file, c)
		} else if w != got {
			t.Errorf("%s: %s:\n%s", file, c, golden.Diff(w, got))
		}
	}
	if *update {
		ar.Files = kept
		if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runCommand runs one kgctl command line through the real command tree.
func runCommand(t *testing.T, line, dir string) string {
	t.Helper()
	args := append(strings.Fields(line), "-f", dir)
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	cmd := NewRootCommand("kgctl", streams)
	cmd.SetArgs(args)
	code := exitCode(cmd.Execute(), &errOut)
	var b strings.Builder
	b.WriteString(out.String())
	if errOut.Len() > 0 {
		b.WriteString("[stderr]\n" + errOut.String())
	}
	fmt.Fprintf(&b, "[exit %d]\n", code)
	return strings.ReplaceAll(b.String(), dir, "$DIR")
}

// lineDiff shows the lines that differ, for readable failures.
