// Package v1alpha1 is Kilo's kilo.squat.ai/v1alpha1 API: the cluster-scoped
// Peer resource that lets machines outside the cluster join the mesh, with
// the same schema as upstream Kilo so existing objects work unchanged.
//
// It holds the types, their validation and scheme registration; it does
// not know about the mesh engine.
package v1alpha1
