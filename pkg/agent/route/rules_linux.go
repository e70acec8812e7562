package route

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// applyRules makes our rules equal to desired (sorted, unique).
func (m *Manager) applyRules(w writer, desired []ruleKey) error {
	current, stray, err := m.listRules()
	if err != nil {
		return err
	}
	add, del := diffRules(desired, current)
	var errs []error
	for _, r := range stray {
		errs = append(errs, w.ruleDel(r.String(), &r))
	}
	for _, k := range del {
		errs = append(errs, w.ruleDel(k.String(), m.ruleToNetlink(k)))
	}
	for _, k := range add {
		errs = append(errs, w.ruleAdd(k, m.ruleToNetlink(k)))
	}
	return errors.Join(errs...)
}

// listRules returns our rules in both families. Stray ones are ours but
// use matches a Rule cannot express (ports, TOS, ...): they are deleted
// as they are.
func (m *Manager) listRules() (current []ruleKey, stray []netlink.Rule, err error) {
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		var rs []netlink.Rule
		err := retryDump(func() (err error) {
			rs, err = m.h.RuleList(fam)
			return err
		})
		if errors.Is(err, unix.EAFNOSUPPORT) {
			continue // no IPv6 on this host
		}
		if err != nil {
			return nil, nil, fmt.Errorf("route: list rules: %w", err)
		}
		for _, r := range rs {
			if netlink.RouteProtocol(r.Protocol) != m.protocol {
				continue
			}
			if k, ok := ruleFromNetlink(r); ok {
				current = append(current, k)
			} else {
				stray = append(stray, r)
			}
		}
	}
	return current, stray, nil
}

func ruleFromNetlink(r netlink.Rule) (ruleKey, bool) {
	if r.Tos != 0 || r.TunID != 0 || r.Goto >= 0 ||
		r.Flow >= 0 || r.OifName != "" || r.SuppressIfgroup >= 0 || r.SuppressPrefixlen >= 0 ||
		r.Invert || r.Dport != nil || r.Sport != nil || r.IPProto != 0 || r.UIDRange != nil ||
		(r.Type != 0 && r.Type != unix.FR_ACT_TO_TBL) {
		return ruleKey{}, false
	}
	k := ruleKey{Family: family(r.Family), Priority: r.Priority, Table: r.Table, IifName: r.IifName, Mark: r.Mark}
	if k.Mark != 0 {
		k.Mask = ^uint32(0)
		if r.Mask != nil {
			k.Mask = *r.Mask
		}
	} else if r.Mask != nil && *r.Mask != 0 && *r.Mask != ^uint32(0) {
		return ruleKey{}, false // "fwmark 0/MASK": only unmarked packets
	}
	if k.Family != familyV4 && k.Family != familyV6 {
		return ruleKey{}, false
	}
	for _, pair := range []struct {
		from *netip.Prefix
		n    *net.IPNet
	}{{&k.Src, r.Src}, {&k.Dst, r.Dst}} {
		if pair.n == nil {
			continue
		}
		p, ok := prefixOf(pair.n)
		if !ok || familyOf(p.Addr()) != k.Family {
			return ruleKey{}, false
		}
		*pair.from = anyToZero(p.Masked())
	}
	return k, true
}

func (m *Manager) ruleToNetlink(k ruleKey) *netlink.Rule {
	r := netlink.NewRule()
	r.Family = int(k.Family)
	r.Priority = k.Priority
	r.Table = k.Table
	r.IifName = k.IifName
	if k.Mark != 0 {
		r.Mark = k.Mark
		mask := k.Mask
		r.Mask = &mask
	}
	r.Protocol = uint8(m.protocol)
	if k.Src.IsValid() {
		r.Src = ipNet(k.Src)
	}
	if k.Dst.IsValid() {
		r.Dst = ipNet(k.Dst)
	}
	return r
}

func (w writer) ruleAdd(k ruleKey, r *netlink.Rule) error {
	w.res.Writes++
	if err := w.h.RuleAdd(r); err != nil {
		return fmt.Errorf("route: add rule %q: %w", k, err)
	}
	w.res.RulesAdded++
	return nil
}

// ruleDel deletes one of our rules; what names it in errors.
func (w writer) ruleDel(what string, r *netlink.Rule) error {
	w.res.Writes++
	err := w.h.RuleDel(r)
	switch {
	case err == nil:
		w.res.RulesRemoved++
	case errors.Is(err, unix.ENOENT): // gone already
	default:
		return fmt.Errorf("route: delete rule %q: %w", what, err)
	}
	return nil
}
