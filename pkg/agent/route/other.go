//go:build !linux

package route

import "errors"

// errNotLinux is what every host operation returns off Linux: the agent
// runs on Linux nodes only, but the package builds everywhere so that
// the kgctl binary does.
var errNotLinux = errors.New("route: host routing is supported on Linux only")

func (m *Manager) apply(State) (Result, error) { return Result{}, errNotLinux }

// EnsureIPIP is not supported off Linux.
func (m *Manager) EnsureIPIP(name string) (created bool, err error) { return false, errNotLinux }

// DeleteIPIP is not supported off Linux.
func (m *Manager) DeleteIPIP(name string) error { return errNotLinux }
