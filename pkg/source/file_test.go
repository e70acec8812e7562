package source

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const nodeDoc = `apiVersion: v1
kind: Node
metadata:
  name: %s
  annotations:
    kilo.squat.ai/location: east
spec:
  podCIDR: 10.2.0.0/24
`

const peerDoc = `apiVersion: kilo.squat.ai/v1alpha1
kind: Peer
metadata:
  name: %s
spec:
  allowedIPs: [10.5.0.1/32]
  publicKey: 0cB+5fOn1uuZ0/hl87NQd8C5s3cJZUXBB9RzMvt9ljs=
`

func doc(f, name string) string { return strings.ReplaceAll(f, "%s", name) }

func names(o Objects) []string {
	var out []string
	for _, n := range o.Nodes {
		out = append(out, "node/"+n.Name)
	}
	for _, p := range o.Peers {
		out = append(out, "peer/"+p.Name)
	}
	return out
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
		err      string
	}{
		{name: "multi-document YAML", in: doc(nodeDoc, "a") + "---\n" + doc(peerDoc, "p") + "---\n", want: []string{"node/a", "peer/p"}},
		{name: "empty documents skipped", in: "---\n---\n" + doc(nodeDoc, "a"), want: []string{"node/a"}},
		{name: "List", in: `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Node","metadata":{"name":"a"}},{"apiVersion":"kilo.squat.ai/v1alpha1","kind":"Peer","metadata":{"name":"p"},"spec":{"allowedIPs":[],"publicKey":""}}]}`, want: []string{"node/a", "peer/p"}},
		{name: "NodeList", in: "apiVersion: v1\nkind: NodeList\nitems:\n- {apiVersion: v1, kind: Node, metadata: {name: a}}\n", want: []string{"node/a"}},
		{name: "other kinds skipped", in: "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: kilo}\n---\n" + doc(nodeDoc, "a"), want: []string{"node/a"}},
		{name: "a Peer of another group is not ours", in: "apiVersion: example.com/v1\nkind: Peer\nmetadata: {name: x}\n", want: nil},
		{name: "unknown status fields from a newer cluster", in: doc(nodeDoc, "a") + "status: {someNewField: true}\n", want: []string{"node/a"}},
		{name: "malformed YAML names the document", in: doc(nodeDoc, "a") + "---\nkind: Node\n  bad: [indent\n", err: "x.yaml: document 2: "},
		{name: "kind missing", in: "metadata: {name: a}\n", err: "x.yaml: document 1: kind is missing"},
		{name: "typo in a Peer field", in: strings.Replace(doc(peerDoc, "p"), "allowedIPs", "allowedIps", 1), err: `Peer: "p": unknown field "spec.allowedIps"`},
		{name: "typo in a Node spec", in: strings.Replace(doc(nodeDoc, "a"), "podCIDR", "podCidr", 1), err: `Node: "a": unknown field "spec.podCidr"`},
		{name: "duplicate field in JSON", in: `{"apiVersion":"kilo.squat.ai/v1alpha1","kind":"Peer","metadata":{"name":"p"},"spec":{"allowedIPs":[],"publicKey":"a","publicKey":"b"}}`, err: "already set in map"},
		{name: "Node without name", in: "apiVersion: v1\nkind: Node\nmetadata: {}\n", err: "metadata.name is required"},
		{name: "bad item of a List", in: `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Node","metadata":{"name":"a"}},{"metadata":{}}]}`, err: "items[1]: kind is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var objs Objects
			err := Decode(&objs, "x.yaml", strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, names(objs)); d != "" {
				t.Errorf("objects (-want +got):\n%s", d)
			}
		})
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("b.yaml", doc(nodeDoc, "b"))
	write("a.yml", doc(nodeDoc, "a"))
	write("p.json", `{"apiVersion":"kilo.squat.ai/v1alpha1","kind":"Peer","metadata":{"name":"p"},"spec":{"allowedIPs":["10.5.0.1/32"],"publicKey":"x"}}`)
	write("README.md", "not a manifest")
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	write("sub/c.yaml", doc(nodeDoc, "c")) // directories are not recursed into

	objs, err := Files([]string{dir, "-"}, strings.NewReader(doc(peerDoc, "from-stdin")))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"node/a", "node/b", "peer/p", "peer/from-stdin"}, names(objs)); d != "" {
		t.Errorf("objects (-want +got):\n%s", d)
	}

	// Every bad path is reported, and the good ones still read.
	write("bad.yaml", "kind: Node\nmetadata: {name: [}\n")
	objs, err = Files([]string{filepath.Join(dir, "missing.yaml"), filepath.Join(dir, "a.yml"), filepath.Join(dir, "bad.yaml")}, nil)
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") || !strings.Contains(err.Error(), "bad.yaml: document 1") {
		t.Fatalf("errors: %v", err)
	}
	if d := cmp.Diff([]string{"node/a"}, names(objs)); d != "" {
		t.Errorf("objects despite errors (-want +got):\n%s", d)
	}
	if _, err := Files([]string{"-"}, nil); err == nil || !strings.Contains(err.Error(), "no standard input") {
		t.Errorf("stdin without a reader: %v", err)
	}
}

func TestSort(t *testing.T) {
	var objs Objects
	if err := Decode(&objs, "x", strings.NewReader(doc(nodeDoc, "z")+"---\n"+doc(nodeDoc, "a")+"---\n"+doc(peerDoc, "q")+"---\n"+doc(peerDoc, "b"))); err != nil {
		t.Fatal(err)
	}
	objs.Sort()
	if d := cmp.Diff([]string{"node/a", "node/z", "peer/b", "peer/q"}, names(objs)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
