package source

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
	"github.com/kgctl/kgctl/pkg/topology"
)

const goodKey = "GY5aT1N9dTR/nJnT1N2f4ClZWVj0jOAld0r8ysWLyjg="

func unstructuredPeer(name string, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": v1alpha1.SchemeGroupVersion.String(), "kind": v1alpha1.PeerKind,
		"metadata": map[string]any{"name": name}, "spec": spec,
	}}
}

// Peers Kilo's CRD admits but our Go type cannot hold: each is reported by
// name, field and value, and the others still come through.
var undecodable = []struct {
	peer *unstructured.Unstructured
	want topology.Problem
}{
	{unstructuredPeer("port-too-big", map[string]any{"allowedIPs": []any{"10.5.0.2/32"}, "publicKey": goodKey,
		"endpoint": map[string]any{"dnsOrIP": map[string]any{"ip": "192.0.2.1"}, "port": int64(4294967296)}}),
		topology.Problem{Severity: topology.Error, Kind: "Peer", Name: "port-too-big", Field: "spec.endpoint.port", Value: "4294967296"}},
	{unstructuredPeer("keepalive-text", map[string]any{"allowedIPs": []any{"10.5.0.3/32"}, "publicKey": goodKey,
		"persistentKeepalive": "25s"}),
		topology.Problem{Severity: topology.Error, Kind: "Peer", Name: "keepalive-text", Field: "spec.persistentKeepalive", Value: "25s"}},
}

func peerObjects(t *testing.T) []runtime.Object {
	t.Helper()
	objs := []runtime.Object{unstructuredPeer("good", map[string]any{"allowedIPs": []any{"10.5.0.1/32"}, "publicKey": goodKey})}
	for _, u := range undecodable {
		objs = append(objs, u.peer)
	}
	return objs
}

func wantProblems() topology.Problems {
	var out topology.Problems
	for _, u := range undecodable {
		out = append(out, u.want)
	}
	return out
}

var ignoreMessage = cmpopts.IgnoreFields(topology.Problem{}, "Message")

// TestWatcherUndecodablePeer: one Peer that does not decode used to fail
// the informer's transform, so the cache never synced and every agent
// stopped at start. Now the watch syncs, the good Peer is there, and the
// bad one is a problem (logged once as it enters the cache).
func TestWatcherUndecodablePeer(t *testing.T) {
	dc := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{v1alpha1.PeerGVR: "PeerList"}, peerObjects(t)...)
	w := NewWatcher(fake.NewSimpleClientset(), dc, nil, 0)
	var log bytes.Buffer
	w.LogPeerProblems(slog.New(slog.NewTextHandler(&log, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := w.Start(ctx, 5*time.Second); err != nil {
		t.Fatalf("Start with an undecodable Peer: %v", err)
	}
	objs := w.Objects()
	if len(objs.Peers) != 1 || objs.Peers[0].Name != "good" {
		t.Errorf("peers %v, want only good", objs.Peers)
	}
	sortByName := cmpopts.SortSlices(func(a, b topology.Problem) bool { return a.Name < b.Name })
	if d := cmp.Diff(wantProblems(), objs.Problems, ignoreMessage, sortByName); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	for _, u := range undecodable {
		if n := strings.Count(log.String(), u.want.Name); n != 1 {
			t.Errorf("Peer %s logged %d times, want once:\n%s", u.want.Name, n, log.String())
		}
	}
	// The problems reach the mesh's problems, as showconf and plan print them.
	_, problems := Translate(objs, Options{})
	if d := cmp.Diff(wantProblems(), problems, ignoreMessage, sortByName); d != "" {
		t.Errorf("Translate problems (-want +got):\n%s", d)
	}

	// The watch goes on: a fix and a new Peer are seen.
	fixed := unstructuredPeer("port-too-big", map[string]any{"allowedIPs": []any{"10.5.0.2/32"}, "publicKey": goodKey,
		"endpoint": map[string]any{"dnsOrIP": map[string]any{"ip": "192.0.2.1"}, "port": int64(51820)}})
	if _, err := dc.Resource(v1alpha1.PeerGVR).Update(ctx, fixed, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(w.Objects().Peers) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("fixed Peer not seen: %+v", w.Objects())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := w.Objects().Problems; len(got) != 1 || got[0].Name != "keepalive-text" {
		t.Errorf("after the fix, problems %v", got)
	}
}

// TestKubeUndecodablePeer: the list behind showconf, graph and plan leaves
// the bad Peer out and reports it, instead of failing.
func TestKubeUndecodablePeer(t *testing.T) {
	dc := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{v1alpha1.PeerGVR: "PeerList"}, peerObjects(t)...)
	objs, err := Kube(context.Background(), Clients{Kube: fake.NewSimpleClientset(), Dynamic: dc})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs.Peers) != 1 || objs.Peers[0].Name != "good" {
		t.Errorf("peers %v, want only good", objs.Peers)
	}
	objs.Sort()
	if d := cmp.Diff(wantProblems(), objs.Problems, ignoreMessage, cmpopts.SortSlices(func(a, b topology.Problem) bool { return a.Name < b.Name })); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	for _, p := range objs.Problems {
		if !strings.HasPrefix(p.String(), `error: Peer "`+p.Name+`": `+p.Field+` "`+p.Value+`": does not fit the Peer type's `) {
			t.Errorf("problem reads %q", p)
		}
	}
}
