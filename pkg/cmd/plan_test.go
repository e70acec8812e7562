package cmd

import (
	"bytes"
	"fmt"
	"github.com/kgctl/kgctl/internal/golden"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// TestPlan runs every testdata/plan/*.txtar file, one case each:
//
//   - "args": the arguments after `kgctl plan`, on one line; $DIR is the
//     directory the case's files are written to, $ROOT the repository;
//   - "stdin" (optional): what the command reads on standard input;
//   - any other file (current/nodes.yaml, changes/x.yaml, …) is written
//     under $DIR;
//   - "text" and "json": the expected output of the command as given and
//     with -o json: stdout, then stderr after "[stderr]", then the exit
//     code, as the scenario tests print them.
//
// go test -update rewrites "text" and "json".
func TestPlan(t *testing.T) {
	files, err := filepath.Glob("testdata/plan/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no plan cases: %v", err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			runPlanCase(t, file, root)
		})
	}
}

func runPlanCase(t *testing.T, file, root string) {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var args, stdin string
	want := map[string]string{}
	var kept []txtar.File
	for _, f := range ar.Files {
		switch f.Name {
		case "args":
			args = strings.TrimSpace(string(f.Data))
		case "stdin":
			stdin = string(f.Data)
		case "text", "json":
			want[f.Name] = string(f.Data)
			continue
		default:
			path := filepath.Join(dir, filepath.FromSlash(f.Name))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		kept = append(kept, f)
	}
	if args == "" && !strings.Contains(string(ar.Comment), "no arguments") {
		t.Fatal(`case has no "args" file`)
	}
	expand := func(s string) string {
		return strings.NewReplacer("$DIR", dir, "$ROOT", root).Replace(s)
	}
	argv := append([]string{"plan"}, strings.Fields(expand(args))...)
	for _, run := range []struct {
		name string
		argv []string
	}{
		{"text", argv},
		{"json", append(append([]string(nil), argv...), "-o", "json")},
	} {
		got := runPlan(run.argv, stdin)
		got = strings.NewReplacer(dir, "$DIR", root, "$ROOT").Replace(got)
		kept = append(kept, txtar.File{Name: run.name, Data: []byte(got)})
		if *update {
			continue
		}
		if w, ok := want[run.name]; !ok {
			t.Errorf("%s: no %q section (run go test -update)", file, run.name)
		} else if w != got {
			t.Errorf("%s: %s output differs:\n%s", file, run.name, golden.Diff(w, got))
		}
	}
	if *update {
		ar.Files = kept
		if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runPlan runs kgctl through the real command tree, with no cluster.
func runPlan(argv []string, stdin string) string {
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}
	cmd := NewRootCommand("kgctl", streams)
	// A kubeconfig that does not exist: a case without --current has no
	// cluster and touches no network.
	cmd.SetArgs(append(argv, "--kubeconfig", "/nonexistent/kubeconfig"))
	code := exitCode(cmd.Execute(), &errOut)
	var b strings.Builder
	b.WriteString(out.String())
	if errOut.Len() > 0 {
		b.WriteString("[stderr]\n" + errOut.String())
	}
	fmt.Fprintf(&b, "[exit %d]\n", code)
	return b.String()
}

// TestPlanFlags checks flag handling that needs no golden output.
func TestPlanFlags(t *testing.T) {
	example, err := filepath.Abs("../../testdata/example")
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		argv []string
		want string
	}{
		"bad output": {
			argv: []string{"plan", "--current", example, "-o", "yaml"},
			want: "error: --output: unknown format \"yaml\": want text or json\n[exit 1]\n",
		},
		"bad color": {
			argv: []string{"plan", "--current", example, "--color", "rainbow"},
			want: "error: --color: unknown value \"rainbow\": want auto, always or never\n[exit 1]\n",
		},
		"bad delete": {
			argv: []string{"plan", "--current", example, "--delete", "pod/x"},
			want: "error: --delete \"pod/x\": want node/NAME or peer/NAME\n[exit 1]\n",
		},
		"bad current subnet": {
			argv: []string{"plan", "--current", example, "--current-subnet", "10.4.0.0"},
			want: "error: current mesh: --subnet: \"10.4.0.0\" is not a CIDR\n[exit 1]\n",
		},
		"stdin twice": {
			argv: []string{"plan", "--current", "-", "-f", "-"},
			want: "error: -f - and --current -: standard input can be read only once\n[exit 1]\n",
		},
		"no cluster": {
			argv: []string{"plan", "--delete", "node/a"},
			want: "error: no cluster to read the current state from (use --current PATH to read manifests)",
		},
	} {
		t.Run(name, func(t *testing.T) {
			got := strings.ReplaceAll(runPlan(tc.argv, ""), "[stderr]\n", "")
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("got:\n%s\nwant (prefix):\n%s", got, tc.want)
			}
		})
	}
}

// TestPlanColor checks --color: never by default into a buffer, always
// when asked, and NO_COLOR wins over auto only.
func TestPlanColor(t *testing.T) {
	example, err := filepath.Abs("../../testdata/example")
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"plan", "--current", example, "--delete", "node/aws-3"}
	if got := runPlan(base, ""); strings.Contains(got, "\x1b[") {
		t.Errorf("auto into a buffer is colored")
	}
	if got := runPlan(append(base, "--color", "always"), ""); !strings.Contains(got, "\x1b[") {
		t.Errorf("--color always is not colored")
	}
	t.Setenv("NO_COLOR", "1")
	if got := runPlan(append(base, "--color", "always"), ""); !strings.Contains(got, "\x1b[") {
		t.Errorf("--color always is not colored under NO_COLOR")
	}
}
