package source

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Publisher writes a node's own state back to its Node object.
type Publisher struct {
	cs       kubernetes.Interface
	recorder record.EventRecorder
}

// NewPublisher prepares a publisher; component names the event source.
func NewPublisher(cs kubernetes.Interface, component string) *Publisher {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events("")})
	return &Publisher{cs: cs, recorder: b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component})}
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
	ref := &corev1.ObjectReference{Kind: "Node", Name: node, UID: types.UID(node)}
	p.recorder.Event(ref, corev1.EventTypeWarning, reason, message)
}
