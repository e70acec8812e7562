package source

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// sameAsGoYAML checks the fast path against sigs.k8s.io/yaml on in: when
// the fast path reads it, go-yaml must read it too, to the same JSON
// value (numbers compared as written). It returns whether the fast path
// read it.
func sameAsGoYAML(t *testing.T, in []byte) bool {
	t.Helper()
	got, _, ok := blockYAMLToJSON(in, nil, nil)
	if !ok {
		return false
	}
	want, err := yaml.YAMLToJSONStrict(in)
	if err != nil {
		t.Fatalf("the fast path read %q as %s, go-yaml refuses it: %v", in, got, err)
	}
	if d := cmp.Diff(jsonValue(t, want), jsonValue(t, got)); d != "" {
		t.Fatalf("%q: fast path and go-yaml differ (-go-yaml +fast):\n%s\nfast: %s", in, d, got)
	}
	return true
}

func jsonValue(t *testing.T, js []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(js))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("not JSON: %s: %v", js, err)
	}
	return v
}

// blockCases are documents with what the fast path does with them: read
// (the same as go-yaml) or left to go-yaml.
var blockCases = []struct {
	name string
	in   string
	fast bool
}{
	// read
	{"empty", "", true},
	{"comments only", "# a\n  # b\n", true},
	{"kubectl Node", "apiVersion: v1\nkind: Node\nmetadata:\n  annotations:\n    kilo.squat.ai/key: AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n    kilo.squat.ai/last-seen: \"1795000000\"\n  creationTimestamp: \"2026-01-01T00:00:00Z\"\n  labels:\n    kubernetes.io/hostname: a\n  name: a\n  resourceVersion: \"42\"\nspec:\n  podCIDR: 10.2.0.0/24\n  podCIDRs:\n  - 10.2.0.0/24\n  - fd00::/64\nstatus:\n  addresses:\n  - address: 172.16.0.1\n    type: InternalIP\n  daemonEndpoints:\n    kubeletEndpoint:\n      Port: 10250\n  nodeInfo:\n    kernelVersion: 6.12.0\n", true},
	{"indented sequence", "a:\n  - x\n  - y\nb: 1\n", true},
	{"sequence of mappings with nested blocks", "items:\n- a: 1\n  b:\n    c: d\n  e:\n  - f\n-   g: h\n    i: j\n- k\n", true},
	{"null values", "a:\nb: ~\nc: null\nd:\n- e:\n- f\n", true},
	{"YAML 1.1 bools", "a: yes\nb: No\nc: on\nd: OFF\ne: y\nf: n\ng: True\nh: false\n", true},
	{"integers", "a: 0\nb: -7\nc: 123456789012345678\n", true},
	{"strings that look almost like numbers", "a: 6.12.0\nb: 172.16.0.1\nc: 10.2.0.0/24\nd: v1.34.4\ne: 1.2.3\nf: -foo\ng: 2026-01-01T00:00:00Z\nh: 2026-01-01\ni: 12:30\nj: 1_000x\nk: .foo\n", true},
	{"quoted scalars", "a: \"x: y # z\"\nb: 'it''s'\nc: \"tab\\there \\\"q\\\" \\\\\"\nd: ''\ne: \"\"\nf: '1'\ng: \"true\"\n", true},
	{"quoted keys", "\"a b\": 1\n'c': d\n", true},
	{"flow collections", "a: [1, b, \"c\", 'd', [e], {f: g}]\nb: {p: 1, q: [], r: {}}\nc: []\nd: { }\n", true},
	{"comments after values", "a: b # c\nd: [e] # f\ng: # h\n  i: j\nk: l#m\n", true},
	{"colons inside plain scalars", "url: http://example.com:8080/x\ntime: 12:30:45\n", true},
	{"indented document", "  a: 1\n  b:\n    c: 2\n", true},
	{"sequence document", "- a\n- b: c\n", true},

	// left to go-yaml
	{"anchor and alias", "a: &x 1\nb: *x\n", false},
	{"merge key", "base: {a: 1}\nderived:\n  <<: {a: 2}\n", false},
	{"tag", "a: !!str 1\n", false},
	{"literal block scalar", "a: |\n  line\n", false},
	{"folded block scalar", "a: >\n  line\n", false},
	{"multi-line plain scalar", "a: b\n  c\n", false},
	{"multi-line quoted scalar", "a: \"b\n  c\"\n", false},
	{"multi-line flow", "a: [b,\n  c]\n", false},
	{"duplicate key", "a: 1\na: 2\n", false},
	{"duplicate key, one quoted", "a: 1\n\"a\": 2\n", false},
	{"duplicate key in a flow mapping", "a: {b: 1, b: 2}\n", false},
	{"duplicate key in a sequence's mapping", "- a: 1\n  a: 2\n", false},
	{"document start inside", "a: 1\n---\nb: 2\n", false},
	{"--- inside a string is a string", "a: \"---\"\nb: '--- x'\nc: x---\n", true},
	{"tab", "a:\tb\n", false},
	{"non-ASCII", "a: é\n", false},
	{"CR", "a: b\r\n", false},
	{"float", "a: 1.5\n", false},
	{"exponent", "a: 1e3\n", false},
	{"octal", "a: 0755\n", false},
	{"hex", "a: 0x1F\n", false},
	{"underscores", "a: 1_000\n", false},
	{"plus sign", "a: +1\n", false},
	{"minus zero", "a: -0\n", false},
	{"huge integer", "a: 12345678901234567890\n", false},
	{"infinity", "a: .inf\n", false},
	{"numeric key", "1: a\n", false},
	{"bool key", "y: a\n", false},
	{"complex key", "? a\n: b\n", false},
	{"scalar document", "just text\n", false},
	{"mapping value where a scalar is", "a: b: c\n", false},
	{"unknown escape", "a: \"\\x41\"\n", false},
	{"bad indentation", "a:\n    b: 1\n  c: 2\n", false},
	{"sequence entry among keys", "a: 1\n- b\n", false},
	{"empty sequence entry", "-\n  a: 1\n", false},
	{"nested compact sequence", "- - a\n", false},
	{"flow trailing comma", "a: [b, ]\n", false},
	{"colon in a flow scalar", "a: [b:c]\n", false},
	{"flow key without value", "a: {b}\n", false},
	{"directive", "%YAML 1.1\n---\na: 1\n", false},
	{"value on the next line", "a:\n  b\n", false},
}

func TestBlockYAML(t *testing.T) {
	for _, tc := range blockCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := sameAsGoYAML(t, []byte(tc.in)); got != tc.fast {
				t.Errorf("fast path read it: %v, want %v", got, tc.fast)
			}
		})
	}
}

// The fast path is what reads the YAML kgctl is given in practice: the
// repository's own example cluster and the benchmark's documents.
func TestBlockYAMLReadsTypicalFiles(t *testing.T) {
	files, err := filepath.Glob("../../testdata/example/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example files: %v", err)
	}
	docs := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range strings.Split(string(b), "\n---\n") {
			docs[filepath.Base(f)+"#"+string(rune('0'+i))] = strings.TrimPrefix(d, "---\n")
		}
	}
	for i, d := range strings.Split(benchNodes(3, false), "---\n")[1:] {
		docs["bench#"+string(rune('0'+i))] = d
	}
	for name, d := range docs {
		if !sameAsGoYAML(t, []byte(d)) {
			t.Errorf("%s: left to go-yaml:\n%s", name, d)
		}
	}
}

// FuzzBlockYAML: whatever the fast path reads, go-yaml reads alike.
func FuzzBlockYAML(f *testing.F) {
	for _, tc := range blockCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		sameAsGoYAML(t, in)
	})
}
