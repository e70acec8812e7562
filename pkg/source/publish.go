package source

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Publisher writes a node's own state back to its Node object.
type Publisher struct {
	cs       kubernetes.Interface
	recorder events.EventRecorder
}

// EventNamespace holds the agents' events. The agent's RBAC grants events
// in its own namespace only (manifests/base/rbac.yaml), and the API server
// accepts an events.k8s.io event about a cluster-scoped object (a Node)
// only in default or kube-system: kube-system is both.
const EventNamespace = metav1.NamespaceSystem

// maxEventNote is the API server's limit on an event's note.
const maxEventNote = 1024

// NewPublisher prepares a publisher; component names the event source.
func NewPublisher(cs kubernetes.Interface, component string) *Publisher {
	b := events.NewBroadcaster(namespacedSink{events.EventSinkImpl{Interface: cs.EventsV1()}, EventNamespace})
	b.StartRecordingToSink(make(chan struct{}))
	return &Publisher{cs: cs, recorder: b.NewRecorder(scheme.Scheme, component)}
}

// namespacedSink writes every event into one namespace (the recorder puts
// events about cluster-scoped objects in default).
type namespacedSink struct {
	events.EventSinkImpl
	ns string
}

func (s namespacedSink) Create(ctx context.Context, e *eventsv1.Event) (*eventsv1.Event, error) {
	e.Namespace = s.ns
	return s.EventSinkImpl.Create(ctx, e)
}

func (s namespacedSink) Update(ctx context.Context, e *eventsv1.Event) (*eventsv1.Event, error) {
	e.Namespace = s.ns
	return s.EventSinkImpl.Update(ctx, e)
}

func (s namespacedSink) Patch(ctx context.Context, e *eventsv1.Event, data []byte) (*eventsv1.Event, error) {
	e.Namespace = s.ns
	return s.EventSinkImpl.Patch(ctx, e, data)
}

// Annotate sets (or, for nil values, removes) annotations on a node with
// one merge patch that touches nothing else.
func (p *Publisher) Annotate(ctx context.Context, node string, annotations map[string]*string) error {
	if len(annotations) == 0 {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}})
	if err != nil {
		return err
	}
	if _, err := p.cs.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("annotate node %q: %w", node, err)
	}
	return nil
}

// Event records a warning event on a node, where `kubectl describe node`
// shows it.
func (p *Publisher) Event(node, reason, message string) {
	ref := &corev1.ObjectReference{Kind: "Node", APIVersion: "v1", Name: node, UID: types.UID(node)}
	if len(message) > maxEventNote {
		// The message may quote a hostile annotation; the API server
		// refuses longer notes.
		message = message[:maxEventNote-3] + "..."
	}
	p.recorder.Eventf(ref, nil, corev1.EventTypeWarning, reason, reason, "%s", message)
}
