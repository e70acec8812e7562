package change

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
)

type objects struct {
	Nodes []*corev1.Node
	Peers []*v1alpha1.Peer
}

// TestMergePatch runs the examples of RFC 7386, appendix A.
func TestMergePatch(t *testing.T) {
	for name, tc := range map[string]struct{ target, patch, want string }{
		"replace":        {`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		"add":            {`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		"remove":         {`{"a":"b"}`, `{"a":null}`, `{}`},
		"remove one":     {`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		"array replaces": {`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		"by array":       {`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		"nested":         {`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		"array of maps":  {`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		"not an object":  {`["a","b"]`, `["c","d"]`, `["c","d"]`},
		"onto a scalar":  {`{"a":"b"}`, `["c"]`, `["c"]`},
		"null value":     {`{"a":"foo"}`, `null`, `null`},
		"string":         {`{"a":"foo"}`, `"bar"`, `"bar"`},
		"nulls in new":   {`{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		"into array":     {`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		"deep nulls":     {`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
		"empty target":   {``, `{"a":{"b":null,"c":1}}`, `{"a":{"c":1}}`},
		"big number":     {`{"n":12345678901234567890}`, `{}`, `{"n":12345678901234567890}`},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := MergePatch([]byte(tc.target), []byte(tc.patch))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	for name, tc := range map[string]struct {
		in      string
		want    []string // kind/name and what the edit does
		wantErr string
	}{
		"patch keeps nulls": {
			in:   "apiVersion: v1\nkind: Node\nmetadata:\n  name: a\n  annotations:\n    kilo.squat.ai/leader: null\n",
			want: []string{`Node/a patch {"apiVersion":"v1","kind":"Node","metadata":{"annotations":{"kilo.squat.ai/leader":null},"name":"a"}} from f.yaml: document 1`},
		},
		"peer and list": {
			in: `apiVersion: v1
kind: List
items:
- apiVersion: kilo.squat.ai/v1alpha1
  kind: Peer
  metadata: {name: p}
  spec: {publicKey: x, allowedIPs: [10.5.0.1/32]}
- apiVersion: v1
  kind: Node
  metadata: {name: nd}
`,
			want: []string{
				"Peer/p replace from f.yaml: document 1: items[0]",
				`Node/nd patch {"apiVersion":"v1","kind":"Node","metadata":{"name":"nd"}} from f.yaml: document 1: items[1]`,
			},
		},
		"marker deletes": {
			in:   "---\n---\napiVersion: kilo.squat.ai/v1alpha1\nkind: Peer\nmetadata:\n  name: p\n  annotations:\n    kgctl.kilo.squat.ai/plan: delete\n",
			want: []string{"Peer/p delete from f.yaml: document 1"},
		},
		"marker with another value": {
			in:      "apiVersion: v1\nkind: Node\nmetadata:\n  name: a\n  annotations:\n    kgctl.kilo.squat.ai/plan: remove\n",
			wantErr: `f.yaml: document 1: Node "a": annotation kgctl.kilo.squat.ai/plan: "remove" is not "delete"`,
		},
		"unknown field": {
			in:      "apiVersion: v1\nkind: Node\nmetadata:\n  name: a\n  anotations: {}\n",
			wantErr: `f.yaml: document 1: Node "a": unknown field "metadata.anotations"`,
		},
		// As strict as -f: field names are case-sensitive, and a key
		// given twice is refused, in YAML and in JSON.
		"field in another case": {
			in:      "apiVersion: kilo.squat.ai/v1alpha1\nkind: Peer\nmetadata: {name: p}\nspec:\n  AllowedIPs: [10.5.0.1/32]\n  publicKey: x\n",
			wantErr: `f.yaml: document 1: Peer "p": unknown field "spec.AllowedIPs"`,
		},
		"kind in another case": {
			in:      "apiVersion: v1\nKind: Node\nmetadata: {name: a}\n",
			wantErr: "f.yaml: document 1: kind is missing",
		},
		"duplicate YAML key": {
			in:      "apiVersion: kilo.squat.ai/v1alpha1\nkind: Peer\nmetadata: {name: p}\nspec:\n  allowedIPs: [10.5.0.1/32]\n  allowedIPs: [10.5.0.2/32]\n",
			wantErr: `f.yaml: document 1: malformed YAML: yaml: unmarshal errors:` + "\n" + `  line 6: key "allowedIPs" already set in map`,
		},
		"duplicate JSON key": {
			in:      `{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "a", "annotations": {"kilo.squat.ai/leader": "true", "kilo.squat.ai/leader": "false"}}}`,
			wantErr: `f.yaml: document 1: malformed YAML: yaml: unmarshal errors:` + "\n" + `  line 1: key "kilo.squat.ai/leader" already set in map`,
		},
		"unknown status field tolerated": {
			in:   "apiVersion: v1\nkind: Node\nmetadata: {name: a}\nstatus: {futureField: 1}\n",
			want: []string{`Node/a patch {"apiVersion":"v1","kind":"Node","metadata":{"name":"a"},"status":{"futureField":1}} from f.yaml: document 1`},
		},
		"malformed second document": {
			in:      "apiVersion: v1\nkind: Node\nmetadata: {name: a}\n---\nkind: [\n",
			wantErr: "f.yaml: document 2: malformed YAML",
		},
		"other kind": {
			in:      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n",
			wantErr: `f.yaml: document 1: kind "Deployment": plan changes only Nodes and Peers`,
		},
		"wrong group": {
			in:      "apiVersion: example.com/v1\nkind: Node\nmetadata: {name: a}\n",
			wantErr: `f.yaml: document 1: Node: apiVersion "example.com/v1": want v1`,
		},
		"no name": {
			in:      "apiVersion: v1\nkind: Node\n",
			wantErr: "f.yaml: document 1: Node: metadata.name is required",
		},
		"no kind": {
			in:      "metadata: {name: a}\n",
			wantErr: "f.yaml: document 1: kind is missing",
		},
	} {
		t.Run(name, func(t *testing.T) {
			edits, err := Decode("f.yaml", strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range edits {
				s := e.Kind + "/" + e.Name
				switch {
				case e.Delete:
					s += " delete"
				case e.Peer != nil:
					s += " replace"
				default:
					s += " patch " + string(e.Patch)
				}
				got = append(got, s+" from "+e.Source)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("edits (-want +got):\n%s", diff)
			}
		})
	}
}

func node(name string, annotations map[string]string) *corev1.Node {
	return &corev1.Node{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Node"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations},
		Spec:       corev1.NodeSpec{PodCIDR: "10.2.0.0/24"},
	}
}

func peer(name, key string) *v1alpha1.Peer {
	p := &v1alpha1.Peer{}
	p.Name, p.Spec.PublicKey = name, key
	return p
}

func TestApply(t *testing.T) {
	current := func() objects {
		return objects{
			Nodes: []*corev1.Node{
				node("a", map[string]string{"kilo.squat.ai/leader": "true", "kilo.squat.ai/location": "x"}),
				node("b", nil),
			},
			Peers: []*v1alpha1.Peer{peer("p", "k1")},
		}
	}
	decode := func(s string) []Edit {
		es, err := Decode("f.yaml", strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	for name, tc := range map[string]struct {
		edits    []Edit
		want     []string // name and annotations of each node, then peers
		newNodes []string
		wantErr  string
	}{
		"patch sets and removes annotations": {
			edits: decode("apiVersion: v1\nkind: Node\nmetadata:\n  name: a\n  annotations:\n    kilo.squat.ai/leader: null\n    kilo.squat.ai/endpoint: 1.2.3.4:51820\n"),
			want:  []string{"a map[kilo.squat.ai/endpoint:1.2.3.4:51820 kilo.squat.ai/location:x] 10.2.0.0/24", "b map[] 10.2.0.0/24", "p k1"},
		},
		"new node": {
			edits:    decode("apiVersion: v1\nkind: Node\nmetadata:\n  name: c\n  annotations:\n    gone: null\n    kept: v\nspec:\n  podCIDR: 10.2.9.0/24\n"),
			want:     []string{"a map[kilo.squat.ai/leader:true kilo.squat.ai/location:x] 10.2.0.0/24", "b map[] 10.2.0.0/24", "c map[kept:v] 10.2.9.0/24", "p k1"},
			newNodes: []string{"c"},
		},
		"peer replaced, node deleted": {
			edits: append(decode("apiVersion: kilo.squat.ai/v1alpha1\nkind: Peer\nmetadata: {name: p}\nspec: {publicKey: k2, allowedIPs: []}\n"),
				Edit{Source: "--delete node/a", Kind: Node, Name: "a", Delete: true}),
			want: []string{"b map[] 10.2.0.0/24", "p k2"},
		},
		"delete then create": {
			edits: append([]Edit{{Source: "--delete peer/p", Kind: Peer, Name: "p", Delete: true}},
				decode("apiVersion: kilo.squat.ai/v1alpha1\nkind: Peer\nmetadata: {name: p}\nspec: {publicKey: k3, allowedIPs: []}\n")...),
			want: []string{"a map[kilo.squat.ai/leader:true kilo.squat.ai/location:x] 10.2.0.0/24", "b map[] 10.2.0.0/24", "p k3"},
		},
		"delete missing": {
			edits:   []Edit{{Source: "--delete peer/q", Kind: Peer, Name: "q", Delete: true}},
			wantErr: `--delete peer/q: cannot delete Peer "q": there is no such peer`,
		},
		"null removes a spec field": {
			edits: decode("apiVersion: v1\nkind: Node\nmetadata:\n  name: a\nspec:\n  podCIDR: null\n"),
			want:  []string{"a map[kilo.squat.ai/leader:true kilo.squat.ai/location:x] ", "b map[] 10.2.0.0/24", "p k1"},
		},
		"patch renames": {
			edits:   []Edit{{Source: "x", Kind: Node, Name: "a", Patch: []byte(`{"metadata":{"name":"z"}}`)}},
			wantErr: `x: Node "a": the patch cannot rename the node (to "z")`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			objs := current()
			r, err := Apply(objs.Nodes, objs.Peers, tc.edits)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range r.Nodes {
				got = append(got, n.Name+" "+fmt.Sprint(n.Annotations)+" "+n.Spec.PodCIDR)
			}
			for _, p := range r.Peers {
				got = append(got, p.Name+" "+p.Spec.PublicKey)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.newNodes, r.NewNodes); diff != "" {
				t.Errorf("new nodes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(current(), objs); diff != "" {
				t.Errorf("Apply changed its input (-want +got):\n%s", diff)
			}
		})
	}
}
