package topology

// Alive reports whether the liveness check against s.Now and
// s.StaleAfter keeps n in the mesh: what a node's times mean to Build,
// for a cache of built meshes that keys on the verdict, not on the times.
func (s Settings) Alive(n *Node) bool {
	m := Mesh{Settings: s}
	return !m.stale(n)
}
