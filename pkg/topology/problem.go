package topology

import (
	"fmt"
	"strings"
)

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
	return p.Format(fmt.Sprintf("%q", p.Name))
}

// Format renders p with names standing for its object's quoted name: one
// line for the same problem on several objects.
func (p Problem) Format(names string) string {
	s := fmt.Sprintf("%s: %s %s", p.Severity, p.Kind, names)
	if p.Field != "" {
		s += fmt.Sprintf(": %s", p.Field)
		if p.Value != "" {
			s += fmt.Sprintf(" %q", p.Value)
		}
	}
	return s + ": " + p.Message
}

// MostNames is how many names a line naming several objects lists
// before eliding the rest.
const MostNames = 8

// ElideNames lists names for such a line, the ones past MostNames counted.
func ElideNames(names []string) string {
	if len(names) <= MostNames {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:MostNames], ", ") + fmt.Sprintf(" and %d more", len(names)-MostNames)
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
