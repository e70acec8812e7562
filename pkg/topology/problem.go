package topology

import "fmt"

// Severity says whether a Problem left something out of the mesh.
type Severity string

const (
	// Error: the object (or part of it) was left out of the mesh.
	Error Severity = "error"
	// Warning: the mesh was built, but probably not as intended.
	Warning Severity = "warning"
)

// Problem is something wrong with one object of the input. The mesh is
// still built from everything else: one bad node never breaks the others.
type Problem struct {
	Severity Severity `json:"severity"`
	// Kind is "Node", "Peer" or "Location".
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Field is the annotation key, label or spec field at fault, if any.
	Field   string `json:"field,omitempty"`
	Value   string `json:"value,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	s := fmt.Sprintf("%s: %s %q", p.Severity, p.Kind, p.Name)
	if p.Field != "" {
		s += fmt.Sprintf(": %s", p.Field)
		if p.Value != "" {
			s += fmt.Sprintf(" %q", p.Value)
		}
	}
	return s + ": " + p.Message
}

// Problems is a list of problems with helpers for callers deciding an exit code.
type Problems []Problem

// HasErrors reports whether anything was left out.
func (ps Problems) HasErrors() bool {
	for _, p := range ps {
		if p.Severity == Error {
			return true
		}
	}
	return false
}
