package route

import (
	"errors"

	"github.com/vishvananda/netlink"
)

func (m *Manager) apply(s State) (Result, error) {
	var res Result
	w := writer{h: m.h, res: &res}
	l, err := listLinks(m.h)
	if err != nil {
		return res, err
	}
	var e Errors
	e.Links = m.applyUp(w, l, s.Up)
	e.Addresses = m.applyAddrs(w, l, s.Addresses)
	routes, err := normalizeRoutes(s.Routes, m.table)
	e.Routes = errors.Join(err, m.applyRoutes(w, l, routes))
	rules, err := desiredRules(s.Rules, routes, rulesOptions{table: m.table, priority: m.priority})
	e.Rules = errors.Join(err, m.applyRules(w, rules))
	return res, e.orNil()
}

// writer issues the kernel writes and counts them.
type writer struct {
	h   *netlink.Handle
	res *Result
}
