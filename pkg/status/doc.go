// Package status serves the agent's HTTP endpoints on --listen, as Kilo's
// agent does: /metrics (Prometheus), /health (503 until the first full
// apply, then 200: the DaemonSet's readiness probe) and /graph (the mesh
// as this agent sees it, SVG or DOT, with Kilo's format and layout query
// parameters). It reads the mesh through a function and touches nothing.
package status
