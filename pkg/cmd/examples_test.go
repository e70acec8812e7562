package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kgctl/kgctl/pkg/source"
	"github.com/kgctl/kgctl/pkg/translate"
)

// An example is one command line of a help text's Example, in the
// subset of shell the examples use: words with '…' and "…" quotes, a
// pipeline (cat <<EOF | kgctl …, kgctl … | dot …), > FILE and a here
// document.
type example struct {
	line string
	// args are kgctl's arguments ("kgctl" dropped); nil for a cat that
	// only writes its here document to a file.
	args []string
	// stdin is the here document piped into kgctl.
	stdin string
	// out is the file kgctl's (or cat's) stdout goes to; "" discards it.
	out string
}

// shellWords splits a line into words and the operators |, > and <<.
func shellWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(line); i++ {
		switch c := line[i]; c {
		case ' ', '\t':
			flush()
		case '\'', '"':
			j := strings.IndexByte(line[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unterminated %c", c)
			}
			cur.WriteString(line[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case '|', '>':
			flush()
			if c == '>' && strings.HasPrefix(line[i:], ">>") {
				return nil, errors.New(">> is not supported")
			}
			words = append(words, string(c))
		case '<':
			flush()
			if !strings.HasPrefix(line[i:], "<<") {
				return nil, errors.New("< is not supported")
			}
			words = append(words, "<<")
			i++
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return words, nil
}

// parseExamples reads an Example text: comment lines (#) are skipped,
// every other line is a command, and a here document's lines follow
// the command that opens it.
func parseExamples(text, name string) ([]example, error) {
	lines := strings.Split(text, "\n")
	var out []example
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		words, err := shellWords(line)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", line, err)
		}
		ex := example{line: line}
		var stages [][]string
		stage := []string{}
		heredoc := ""
		for j := 0; j < len(words); j++ {
			switch words[j] {
			case "|":
				stages, stage = append(stages, stage), []string{}
			case ">":
				if j+1 >= len(words) {
					return nil, fmt.Errorf("%q: > without a file", line)
				}
				j++
				// Only kgctl's output, or a lone cat's, is kept.
				if len(stage) > 0 && (stage[0] == name || stage[0] == "cat" && len(stages) == 0) {
					ex.out = words[j]
				}
			case "<<":
				if j+1 >= len(words) {
					return nil, fmt.Errorf("%q: << without a delimiter", line)
				}
				j++
				heredoc = words[j]
			default:
				stage = append(stage, words[j])
			}
		}
		stages = append(stages, stage)
		if heredoc != "" {
			var body strings.Builder
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != heredoc; i++ {
				body.WriteString(strings.TrimPrefix(lines[i], "  ") + "\n")
			}
			if i == len(lines) {
				return nil, fmt.Errorf("%q: here document not closed by %s", line, heredoc)
			}
			ex.stdin = body.String()
		}
		for _, s := range stages {
			if len(s) > 0 && s[0] == name {
				ex.args = s[1:]
				break
			}
		}
		if ex.args == nil && (len(stages) != 1 || stages[0][0] != "cat" || ex.out == "") {
			return nil, fmt.Errorf("%q: runs no %s command", line, name)
		}
		out = append(out, ex)
	}
	return out, nil
}

func TestParseExamples(t *testing.T) {
	got, err := parseExamples(`  # a comment
  kgctl graph -f testdata/example -o svg > mesh.svg
  kgctl graph | circo -Tsvg > mesh.svg
  kgctl peer list -o jsonpath='{.items[*].metadata.name}'
  cat <<EOF | kgctl plan --current testdata/example -f -
  kind: Node
  EOF
  cat <<EOF > change.yaml
  a: "b"
  EOF`, "kgctl")
	if err != nil {
		t.Fatal(err)
	}
	want := []example{
		{line: "kgctl graph -f testdata/example -o svg > mesh.svg", args: []string{"graph", "-f", "testdata/example", "-o", "svg"}, out: "mesh.svg"},
		{line: "kgctl graph | circo -Tsvg > mesh.svg", args: []string{"graph"}},
		{line: "kgctl peer list -o jsonpath='{.items[*].metadata.name}'", args: []string{"peer", "list", "-o", "jsonpath={.items[*].metadata.name}"}},
		{line: "cat <<EOF | kgctl plan --current testdata/example -f -", args: []string{"plan", "--current", "testdata/example", "-f", "-"}, stdin: "kind: Node\n"},
		{line: "cat <<EOF > change.yaml", stdin: "a: \"b\"\n", out: "change.yaml"},
	}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(example{})); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	for _, bad := range []string{"kgctl graph >> x", "kgctl x 'open", "cat <<EOF | kgctl plan -f -\nno end", "ls -l"} {
		if _, err := parseExamples(bad, "kgctl"); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestHelpExamples runs every example of every command's help, in order,
// in a directory where testdata/ is the repository's: examples that read
// files read testdata (-f testdata/example), the others read a fake
// cluster holding testdata/example (--context b: a second cluster, for
// link). An example that fails fails the test: help must show commands
// that work on the files it names.
func TestHelpExamples(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	root := NewRootCommand("kgctl", genericiooptions.IOStreams{Out: new(bytes.Buffer), ErrOut: new(bytes.Buffer)})
	ran := 0
	for _, c := range commands(root) {
		if c.Example == "" {
			continue
		}
		t.Run(strings.ReplaceAll(c.CommandPath(), " ", "_"), func(t *testing.T) {
			exs, err := parseExamples(c.Example, "kgctl")
			if err != nil {
				t.Fatal(err)
			}
			a := newFakeCluster(t)
			seenNow(t, a)
			b := linkCluster(t, "north", 3)
			dir := t.TempDir()
			if err := os.Symlink(filepath.Join(repo, "testdata"), filepath.Join(dir, "testdata")); err != nil {
				t.Fatal(err)
			}
			t.Chdir(dir)
			for _, ex := range exs {
				if ex.args == nil {
					if err := os.WriteFile(ex.out, []byte(ex.stdin), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if slices.Contains(ex.args, "svg") {
					if _, err := exec.LookPath("dot"); err != nil {
						t.Logf("skipped (no Graphviz): %s", ex.line)
						continue
					}
				}
				out, errOut, err := runExample(a, b, ex)
				var ee *ExitError
				if errors.As(err, &ee) && ee.Code == 2 && slices.Contains(ex.args, "--detailed-exitcode") {
					err = nil // changes found, as documented
				}
				if err != nil {
					t.Errorf("%s\nfails: %v\n%s", ex.line, err, errOut)
					continue
				}
				if ex.out != "" {
					if err := os.WriteFile(ex.out, []byte(out), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				ran++
			}
		})
	}
	if ran < 20 {
		t.Errorf("only %d examples ran", ran)
	}
}

// seenNow makes the fake cluster's agents live: the example's
// last-seen times are long past, and a live cluster is checked against
// the clock.
func seenNow(t *testing.T, f *fakeCluster) {
	t.Helper()
	ctx := context.Background()
	nodes, err := f.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range nodes.Items {
		n := &nodes.Items[i]
		n.Annotations[translate.LastSeenKey] = strconv.FormatInt(time.Now().Unix(), 10)
		if _, err := f.kube.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// runExample runs one example through the real command tree, against
// the fake clusters a (the current context) and b (--context b).
func runExample(a *fakeCluster, b source.Clients, ex example) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	r := &Root{Name: "kgctl", Streams: genericiooptions.IOStreams{In: strings.NewReader(ex.stdin), Out: &out, ErrOut: &errOut}, GenerateKey: a.keys,
		// A phone's code needs a wide terminal (docs/peer.md).
		TerminalWidth: func() (int, bool) { return 160, true }}
	dial := func(_, context string) (source.Clients, error) {
		if context == "b" {
			return b, nil
		}
		return source.Clients{Kube: a.kube, Dynamic: a.dynamic}, nil
	}
	r.NewClients = func() (source.Clients, error) {
		ctx := ""
		if r.Kube.Context != nil {
			ctx = *r.Kube.Context
		}
		return dial("", ctx)
	}
	root := newRootCommand(r)
	for _, c := range root.Commands() {
		if c.Name() == "link" {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(newLinkCommandWith(r, dial))
	root.SetArgs(ex.args)
	// status --watch polls until it is stopped; the others get time
	// enough on a loaded machine (graph -o svg runs Graphviz: a second
	// was not always enough in CI).
	timeout := time.Minute
	if slices.Contains(ex.args, "--watch") {
		timeout = time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err = root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}
