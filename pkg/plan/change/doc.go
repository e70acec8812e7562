// Package change reads the edits `kgctl plan` previews and applies them to
// a set of objects:
//
//   - a Node document is a JSON merge patch (RFC 7386) onto the current
//     Node of that name, or a new Node if there is none: a document with
//     only metadata.name and some annotations sets those annotations, and
//     an annotation set to null is removed;
//   - a Peer document replaces the Peer of that name, or creates it;
//   - a Node or Peer document whose metadata.annotations holds
//     kgctl.kilo.squat.ai/plan: delete deletes that object, as does a
//     reference "node/NAME" or "peer/NAME" (the --delete flag).
//
// Documents are decoded from raw YAML or JSON so that nulls survive, and
// checked against the Kubernetes types (an unknown field is an error);
// every error names the file and the document.
//
// It reads only the io.Reader it is given and does not touch the
// objects it is given: patched objects are new values.
package change
