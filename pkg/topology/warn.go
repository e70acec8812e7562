package topology

// warn adds the warnings that concern the mesh as a whole.
func (m *Mesh) warn() {
	if len(m.Segments) > 1 {
		for i := range m.Segments {
			seg := &m.Segments[i]
			l := seg.LeaderNode()
			if isPublic(l.Endpoint) {
				continue
			}
			if l.PersistentKeepalive == 0 {
				m.problem(Warning, "Location", seg.Name, "kilo.squat.ai/endpoint", l.Endpoint.String(),
					"leader %s has only a private endpoint and no persistent-keepalive: other locations can reach it only if they share its network", l.Name)
			}
		}
	}
	if len(m.Peers) > 0 && len(m.Segments) > 0 {
		public := false
		for i := range m.Segments {
			if isPublic(m.Segments[i].LeaderNode().Endpoint) {
				public = true
				break
			}
		}
		if !public {
			for _, p := range m.Peers {
				if p.Endpoint.IsZero() {
					m.problem(Warning, "Peer", p.Name, "spec.endpoint", "",
						"no endpoint, and no location leader has a public endpoint: the peer may reach no segment")
				}
			}
		}
	}
}
