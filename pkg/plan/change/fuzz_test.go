package change

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
)

// FuzzDecode: every edit a change file yields names its source, a kind
// and an object.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Node\nmetadata:\n  name: a\n  annotations:\n    kilo.squat.ai/location: eu\n"))
	f.Add([]byte("apiVersion: kilo.squat.ai/v1alpha1\nkind: Peer\nmetadata:\n  name: laptop\n  annotations:\n    kgctl.kilo.squat.ai/plan: delete\n"))
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Node","metadata":{"name":"b"}}]}`))
	f.Add([]byte("---\nnull\n---\nkind: Node\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		edits, err := Decode("fuzz.yaml", bytes.NewReader(in))
		if err != nil {
			return
		}
		for _, e := range edits {
			if e.Source == "" || e.Name == "" || (e.Kind != Node && e.Kind != Peer) {
				t.Fatalf("edit without source, name or kind: %+v", e)
			}
		}
	})
}

// FuzzMergePatch: RFC 7386 merge patch, checked against an independent
// implementation for object documents, and idempotent.
func FuzzMergePatch(f *testing.F) {
	f.Add([]byte(`{"metadata":{"name":"a","annotations":{"kilo.squat.ai/location":"eu","x":"1"}}}`),
		[]byte(`{"metadata":{"annotations":{"kilo.squat.ai/location":"us","x":null}}}`))
	f.Add([]byte(`{"spec":{"allowedIPs":["10.5.0.1/32"],"persistentKeepalive":10}}`), []byte(`{"spec":{"allowedIPs":["10.5.0.2/32"],"persistentKeepalive":1.0e1}}`))
	f.Add([]byte(`{"a":[1,2]}`), []byte(`[{"a":null}]`))
	f.Add([]byte(``), []byte(`{"a":{"b":null}}`))
	f.Fuzz(func(t *testing.T, target, patch []byte) {
		got, err := MergePatch(target, patch)
		if err != nil {
			return
		}
		again, err := MergePatch(got, patch)
		if err != nil || !equalJSON(t, got, again) {
			t.Fatalf("not idempotent: once %s, twice %s (%v)", got, again, err)
		}
		if !isObject(target) || !isObject(patch) || strings.Contains(string(target)+string(patch), `\u`) {
			return
		}
		want, err := jsonpatch.MergePatch(target, patch)
		if err != nil {
			return
		}
		if !equalJSON(t, want, got) {
			t.Fatalf("MergePatch(%s, %s) = %s, want %s", target, patch, got, want)
		}
	})
}

func isObject(js []byte) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(js, &m) == nil && m != nil
}

func equalJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if decodeNumbers(a, &x) != nil || decodeNumbers(b, &y) != nil {
		return false
	}
	return cmp.Diff(x, y) == ""
}
