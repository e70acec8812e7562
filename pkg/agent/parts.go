package agent

import (
	"errors"
	"fmt"
	"strings"
)

// Part is one piece of the host the agent applies on its own: one that
// fails is reported, and the others still converge.
type Part string

// The host's parts, in the order they are applied and reported.
const (
	PartTunnel    Part = "tunnel"
	PartWireGuard Part = "wireguard"
	PartAddresses Part = "addresses"
	PartRoutes    Part = "routes"
	PartRules     Part = "rules"
	PartIPTables  Part = "iptables"
	PartCNI       Part = "cni"
)

// Parts lists every part, in order.
var Parts = []Part{PartTunnel, PartWireGuard, PartAddresses, PartRoutes, PartRules, PartIPTables, PartCNI}

// PartErrors are the parts that did not converge, with why.
type PartErrors map[Part]error

// Set records err for p (nil: p converged).
func (e *PartErrors) Set(p Part, err error) {
	if err == nil {
		delete(*e, p)
		return
	}
	if *e == nil {
		*e = make(PartErrors)
	}
	(*e)[p] = err
}

// Err joins the parts' errors, each prefixed by its part, in part order.
func (e PartErrors) Err() error {
	var errs []error
	for _, p := range Parts {
		if err := e[p]; err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// partReporter says once per change of a part's error that it failed (a
// log line and an Event on the Node) or recovered (a log line); a resync
// failing the same way says nothing new. The metrics follow every apply.
type partReporter struct {
	last map[Part]string
}

func (a *Agent) reportParts(errs PartErrors) {
	if a.parts.last == nil {
		a.parts.last = make(map[Part]string)
	}
	var failed []string
	for _, p := range Parts {
		err := errs[p]
		a.o.Metrics.part(p, err != nil)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if msg == a.parts.last[p] {
			continue
		}
		was := a.parts.last[p]
		a.parts.last[p] = msg
		switch {
		case err == nil:
			a.o.Logger.Info("host part recovered", "part", p, "was", was)
		case p == PartTunnel:
			m := fmt.Sprintf("no IPIP encapsulation on this host (%v): routing inside the location without encapsulation until it is available", err)
			a.o.Logger.Warn("host part failed", "part", p, "err", err, "fallback", "routes without encapsulation")
			a.o.Publisher.Event(a.o.Self.Name, "EncapsulationUnavailable", m)
		default:
			a.o.Logger.Error("host part failed", "part", p, "err", err)
			failed = append(failed, fmt.Sprintf("%s: %v", p, err))
		}
	}
	// One Event for the parts that newly fail: the events API folds
	// Events of one reason on one object sent together into one.
	if len(failed) > 0 {
		a.o.Publisher.Event(a.o.Self.Name, "HostPartFailed", strings.Join(failed, "\n"))
	}
}
