// Package source turns the outside world into the engine's input. Files
// (YAML or JSON, multi-document, kind List, directories, stdin) and a
// live cluster both produce the same Objects, which Translate turns into
// one topology.Cluster, so every command works on either.
package source
