package route

import (
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/vishvananda/netlink"
)

// links is the host's links, listed once per Apply.
type links struct {
	byName  map[string]netlink.Link
	byIndex map[int]string
}

func listLinks(h *netlink.Handle) (links, error) {
	var ls []netlink.Link
	err := retryDump(func() (err error) {
		ls, err = h.LinkList()
		return err
	})
	if err != nil {
		return links{}, fmt.Errorf("route: list links: %w", err)
	}
	l := links{byName: make(map[string]netlink.Link, len(ls)), byIndex: make(map[int]string, len(ls))}
	for _, link := range ls {
		a := link.Attrs()
		l.byName[a.Name] = link
		l.byIndex[a.Index] = a.Name
	}
	return l, nil
}

// index returns the index of the link named name, or an error naming it.
func (l links) index(name string) (int, error) {
	link, ok := l.byName[name]
	if !ok {
		return 0, fmt.Errorf("link %q not found", name)
	}
	return link.Attrs().Index, nil
}

// applyUp sets up the named links that are down.
func (m *Manager) applyUp(w writer, l links, names []string) error {
	var errs []error
	for _, name := range names {
		link, ok := l.byName[name]
		if !ok {
			errs = append(errs, fmt.Errorf("route: set link %q up: link not found", name))
			continue
		}
		if link.Attrs().Flags&net.FlagUp != 0 {
			continue
		}
		if err := w.linkUp(link); err != nil {
			errs = append(errs, fmt.Errorf("route: set link %q up: %w", name, err))
		}
		// Only once, even if named twice.
		link.Attrs().Flags |= net.FlagUp
	}
	return errors.Join(errs...)
}

func (w writer) linkUp(link netlink.Link) error {
	w.res.Writes++
	if err := w.h.LinkSetUp(link); err != nil {
		return err
	}
	w.res.LinksUp++
	return nil
}

// retryDump runs a kernel dump again while it reports that the table
// changed under it, so that nothing is pruned on a partial view.
func retryDump(dump func() error) error {
	var err error
	for range 5 {
		if err = dump(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			return err
		}
	}
	return err
}

// sortedKeys returns m's keys in order, for deterministic writes and errors.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
