package source

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// policyClients returns an admin and an agent client for the cluster
// hack/agent-policy-test.sh prepares (manifests/base applied, Nodes node-a
// and node-b, the agent's token bound to a Pod on node-a), or skips.
func policyClients(t *testing.T) (admin, agent kubernetes.Interface, agentDyn dynamic.Interface) {
	t.Helper()
	adminPath, agentPath := os.Getenv("KGCTL_POLICY_ADMIN_KUBECONFIG"), os.Getenv("KGCTL_POLICY_AGENT_KUBECONFIG")
	if adminPath == "" || agentPath == "" {
		t.Skip("skipping: needs the cluster of hack/agent-policy-test.sh (make policy-test)")
	}
	ac, err := clientcmd.BuildConfigFromFlags("", adminPath)
	if err != nil {
		t.Fatal(err)
	}
	gc, err := clientcmd.BuildConfigFromFlags("", agentPath)
	if err != nil {
		t.Fatal(err)
	}
	return kubernetes.NewForConfigOrDie(ac), kubernetes.NewForConfigOrDie(gc), dynamic.NewForConfigOrDie(gc)
}

func ptr(s string) *string { return &s }

// TestAgentPolicy: with a token bound to a Pod on node-a, the agent's own
// publish path works and every other write is refused with the exact
// message of RBAC or of the kgctl-agent ValidatingAdmissionPolicy.
func TestAgentPolicy(t *testing.T) {
	admin, agent, dyn := policyClients(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The node name the policy trusts comes from the token.
	r, err := agent.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"node-a"}, []string(r.Status.UserInfo.Extra["authentication.kubernetes.io/node-name"])); diff != "" {
		t.Fatalf("SelfSubjectReview node-name extra (-want +got):\n%s", diff)
	}
	if got, want := r.Status.UserInfo.Username, "system:serviceaccount:kube-system:kgctl"; got != want {
		t.Fatalf("username = %q, want %q", got, want)
	}

	// Allowed: what the agent publishes, through its own Publisher.
	p := NewPublisher(agent, "kgctl-agent")
	published := map[string]*string{
		"kilo.squat.ai/key":                  ptr("GDW4RMOcyF1ddSdM5vQt6hG5oCsgR1s2TZZVg4YvhVo="),
		"kilo.squat.ai/wireguard-ip":         ptr("10.4.0.1/16"),
		"kilo.squat.ai/internal-ip":          ptr("10.0.0.1/24"),
		"kilo.squat.ai/endpoint":             ptr("203.0.113.1:51820"),
		"kilo.squat.ai/last-seen":            ptr("1700000000"),
		"kilo.squat.ai/granularity":          ptr("location"),
		"kilo.squat.ai/discovered-endpoints": ptr("{}"),
		"kilo.squat.ai/status":               ptr("ok"),
		"kilo.squat.ai/heartbeat-interval":   ptr("600"),
	}
	if err := p.Annotate(ctx, "node-a", published); err != nil {
		t.Fatalf("publish on own node: %v", err)
	}
	if err := p.Annotate(ctx, "node-a", map[string]*string{"kilo.squat.ai/status": nil}); err != nil {
		t.Fatalf("remove a published annotation on own node: %v", err)
	}
	n, err := admin.CoreV1().Nodes().Get(ctx, "node-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Annotations["kilo.squat.ai/endpoint"]; got != "203.0.113.1:51820" {
		t.Errorf("node-a endpoint annotation = %q after publish", got)
	}
	if got := n.Annotations["kilo.squat.ai/location"]; got != "eu" {
		t.Errorf("node-a location annotation = %q, want the admin's %q untouched", got, "eu")
	}

	// Allowed: an event about its node, in the agent's namespace.
	p.Event("node-a", "PolicyTest", "hello from node-a")
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs, err := admin.EventsV1().Events(EventNamespace).List(ctx, metav1.ListOptions{FieldSelector: "regarding.name=node-a,reason=PolicyTest"})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs.Items) > 0 {
			if got := evs.Items[0].Note; got != "hello from node-a" {
				t.Errorf("event note = %q", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no event about node-a in %s within 30s", EventNamespace)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Allowed: a lease named after its node, in its namespace.
	lease := func(ns, name string) *coordinationv1.Lease {
		return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr("node-a")}}
	}
	if _, err := agent.CoordinationV1().Leases("kube-system").Create(ctx, lease("kube-system", "node-a"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create own lease: %v", err)
	}

	peers := dyn.Resource(schema.GroupVersionResource{Group: "kilo.squat.ai", Version: "v1alpha1", Resource: "peers"})
	peer := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kilo.squat.ai/v1alpha1", "kind": "Peer",
		"metadata": map[string]any{"name": "evil"},
		"spec":     map[string]any{"allowedIPs": []any{"10.0.0.0/8"}, "publicKey": "GDW4RMOcyF1ddSdM5vQt6hG5oCsgR1s2TZZVg4YvhVo="},
	}}
	annotate := func(node, key, value string) error {
		return p.Annotate(ctx, node, map[string]*string{key: ptr(value)})
	}
	mergePatch := func(node, patch string) error {
		_, err := agent.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
		return err
	}
	const (
		vap = `ValidatingAdmissionPolicy 'kgctl-agent' with binding 'kgctl-agent' denied request: `
		sa  = `User "system:serviceaccount:kube-system:kgctl" cannot `
	)
	adminOnly := func(key string) string {
		return `annotate node "node-a": nodes "node-a" is forbidden: ` + vap + `kgctl agent may change only the annotations it publishes; refused on node node-a: ` + key
	}
	for _, c := range []struct {
		name string
		do   func() error
		want string
	}{
		{"publish on another node", func() error { return annotate("node-b", "kilo.squat.ai/endpoint", "198.51.100.9:51820") },
			`annotate node "node-b": nodes "node-b" is forbidden: ` + vap + `kgctl agent of node node-a may not write nodes node-b: only its own`},
		{"location", func() error { return annotate("node-a", "kilo.squat.ai/location", "us") }, adminOnly("kilo.squat.ai/location")},
		{"leader", func() error { return annotate("node-a", "kilo.squat.ai/leader", "false") }, adminOnly("kilo.squat.ai/leader")},
		{"force-endpoint", func() error { return annotate("node-a", "kilo.squat.ai/force-endpoint", "198.51.100.9:51820") }, adminOnly("kilo.squat.ai/force-endpoint")},
		{"force-internal-ip", func() error { return annotate("node-a", "kilo.squat.ai/force-internal-ip", "10.0.0.9/24") }, adminOnly("kilo.squat.ai/force-internal-ip")},
		{"persistent-keepalive", func() error { return annotate("node-a", "kilo.squat.ai/persistent-keepalive", "1") }, adminOnly("kilo.squat.ai/persistent-keepalive")},
		{"allowed-location-ips", func() error { return annotate("node-a", "kilo.squat.ai/allowed-location-ips", "0.0.0.0/0") }, adminOnly("kilo.squat.ai/allowed-location-ips")},
		{"other annotation", func() error { return annotate("node-a", "example.com/x", "y") }, adminOnly("example.com/x")},
		{"remove an admin annotation", func() error {
			return p.Annotate(ctx, "node-a", map[string]*string{"kilo.squat.ai/leader": nil})
		}, adminOnly("kilo.squat.ai/leader")},
		{"label", func() error {
			return mergePatch("node-a", `{"metadata":{"labels":{"topology.kubernetes.io/region":"us"}}}`)
		},
			`nodes "node-a" is forbidden: ` + vap + `kgctl agent may change only annotations of node node-a, not its labels, finalizers, owners or spec`},
		{"spec", func() error { return mergePatch("node-a", `{"spec":{"unschedulable":true}}`) },
			`nodes "node-a" is forbidden: ` + vap + `kgctl agent may change only annotations of node node-a, not its labels, finalizers, owners or spec`},
		{"node status", func() error {
			_, err := agent.CoreV1().Nodes().Patch(ctx, "node-a", types.MergePatchType, []byte(`{"status":{"phase":"x"}}`), metav1.PatchOptions{}, "status")
			return err
		}, `nodes "node-a" is forbidden: ` + sa + `patch resource "nodes/status" in API group "" at the cluster scope`},
		{"node delete", func() error { return agent.CoreV1().Nodes().Delete(ctx, "node-b", metav1.DeleteOptions{}) },
			`nodes "node-b" is forbidden: ` + sa + `delete resource "nodes" in API group "" at the cluster scope`},
		{"peer create", func() error { _, err := peers.Create(ctx, peer, metav1.CreateOptions{}); return err },
			`peers.kilo.squat.ai is forbidden: ` + sa + `create resource "peers" in API group "kilo.squat.ai" at the cluster scope`},
		{"peer update", func() error {
			u, err := peers.Get(ctx, "laptop", metav1.GetOptions{})
			if err != nil {
				return err
			}
			u.Object["spec"].(map[string]any)["allowedIPs"] = []any{"0.0.0.0/0"}
			_, err = peers.Update(ctx, u, metav1.UpdateOptions{})
			return err
		}, `peers.kilo.squat.ai "laptop" is forbidden: ` + sa + `update resource "peers" in API group "kilo.squat.ai" at the cluster scope`},
		{"peer patch", func() error {
			_, err := peers.Patch(ctx, "laptop", types.MergePatchType, []byte(`{"spec":{"allowedIPs":["0.0.0.0/0"]}}`), metav1.PatchOptions{})
			return err
		}, `peers.kilo.squat.ai "laptop" is forbidden: ` + sa + `patch resource "peers" in API group "kilo.squat.ai" at the cluster scope`},
		{"peer delete", func() error { return peers.Delete(ctx, "laptop", metav1.DeleteOptions{}) },
			`peers.kilo.squat.ai "laptop" is forbidden: ` + sa + `delete resource "peers" in API group "kilo.squat.ai" at the cluster scope`},
		{"event in another namespace", func() error {
			_, err := agent.EventsV1().Events("default").Create(ctx, &eventsv1.Event{
				ObjectMeta: metav1.ObjectMeta{Name: "evil", Namespace: "default"}, EventTime: metav1.NowMicro(),
				ReportingController: "kgctl-agent", ReportingInstance: "node-a", Action: "x", Reason: "x", Type: corev1.EventTypeWarning,
				Regarding: corev1.ObjectReference{Kind: "Node", Name: "node-b"},
			}, metav1.CreateOptions{})
			return err
		}, `events.events.k8s.io is forbidden: ` + sa + `create resource "events" in API group "events.k8s.io" in the namespace "default"`},
		{"core event", func() error {
			_, err := agent.CoreV1().Events("kube-system").Create(ctx, &corev1.Event{
				ObjectMeta: metav1.ObjectMeta{Name: "evil"}, InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "node-b"}, Reason: "x",
			}, metav1.CreateOptions{})
			return err
		}, `events is forbidden: ` + sa + `create resource "events" in API group "" in the namespace "kube-system"`},
		{"lease of another node", func() error {
			_, err := agent.CoordinationV1().Leases("kube-system").Create(ctx, lease("kube-system", "node-b"), metav1.CreateOptions{})
			return err
		}, `leases.coordination.k8s.io "node-b" is forbidden: ` + vap + `kgctl agent of node node-a may not write leases node-b: only its own`},
		{"lease in another namespace", func() error {
			_, err := agent.CoordinationV1().Leases("default").Create(ctx, lease("default", "node-a"), metav1.CreateOptions{})
			return err
		}, `leases.coordination.k8s.io is forbidden: ` + sa + `create resource "leases" in API group "coordination.k8s.io" in the namespace "default"`},
		{"secrets", func() error {
			_, err := agent.CoreV1().Secrets("kube-system").List(ctx, metav1.ListOptions{})
			return err
		},
			`secrets is forbidden: ` + sa + `list resource "secrets" in API group "" in the namespace "kube-system"`},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			err := c.do()
			if err == nil {
				t.Fatalf("allowed, want refused with %q", c.want)
			}
			if diff := cmp.Diff(c.want, err.Error()); diff != "" {
				t.Errorf("refusal (-want +got):\n%s", diff)
			}
		})
	}

	// Nothing forbidden got through.
	n, err = admin.CoreV1().Nodes().Get(ctx, "node-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Annotations["kilo.squat.ai/location"]; got != "eu" {
		t.Errorf("node-a location = %q after the refused patches, want %q", got, "eu")
	}
	if n.Spec.Unschedulable || n.Labels["topology.kubernetes.io/region"] != "eu" {
		t.Errorf("node-a spec or labels changed: unschedulable=%v labels=%v", n.Spec.Unschedulable, n.Labels)
	}
}
