package translate

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kgctl/kgctl/pkg/apis/kilo/v1alpha1"
)

// The engine ranks colliding objects by creation time, so a newcomer
// never takes over a member: the timestamp must reach it.
func TestCreationTimestamp(t *testing.T) {
	at := metav1.NewTime(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC))
	n, _, _ := Node(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "a", CreationTimestamp: at}}, NodeOptions{})
	if !n.CreationTimestamp.Equal(at.Time) {
		t.Errorf("node: %v, want %v", n.CreationTimestamp, at.Time)
	}
	p, _, _ := Peer(&v1alpha1.Peer{ObjectMeta: metav1.ObjectMeta{Name: "p", CreationTimestamp: at}})
	if !p.CreationTimestamp.Equal(at.Time) {
		t.Errorf("peer: %v, want %v", p.CreationTimestamp, at.Time)
	}
	// Files carry none: zero, and the engine falls back to names.
	if n, _, _ := Node(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "b"}}, NodeOptions{}); !n.CreationTimestamp.IsZero() {
		t.Errorf("node without timestamp: %v", n.CreationTimestamp)
	}
}

// Keys spelled differently but decoding to the same 32 bytes are the
// same key to the engine (which compares bytes): a Peer cannot dodge
// the collision check with other padding bits or a line break.
func TestKeySpellings(t *testing.T) {
	const canonical = "avZcITwv/NJ3v5N8CnSdE5EUs+nnmei2qw4DS7eK3Rg="
	for _, spelled := range []string{
		"avZcITwv/NJ3v5N8CnSdE5EUs+nnmei2qw4DS7eK3Rh=",   // non-zero padding bits
		"avZcITwv/NJ3v5N8CnSdE5EUs+nnmei2\nqw4DS7eK3Rg=", // a line break
	} {
		a := peerWithKey(t, canonical)
		b := peerWithKey(t, spelled)
		if a != b {
			t.Errorf("%q decodes to %s, want the same key as %q", spelled, b, canonical)
		}
	}
}

func peerWithKey(t *testing.T, k string) string {
	t.Helper()
	p, ps, ok := Peer(&v1alpha1.Peer{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: v1alpha1.PeerSpec{PublicKey: k, AllowedIPs: []string{"10.5.0.1/32"}}})
	if !ok {
		t.Fatalf("%q refused: %v", k, ps)
	}
	return p.PublicKey.String()
}
