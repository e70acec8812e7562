// Package translate turns Kubernetes objects into the engine's input: a
// Node's labels, Kilo annotations and spec into a topology.Node, and a Kilo
// Peer resource into a topology.Peer.
//
// Every problem names the object, the annotation or field, and the value.
// A bad optional annotation is reported and ignored; a node or peer that
// cannot take part at all is reported and left out. It does no I/O.
package translate
