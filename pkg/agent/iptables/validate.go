package iptables

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// maxChainName is the longest chain name iptables accepts.
const maxChainName = 28

// prepare validates rs against the families the controller manages and
// returns its desired tables per family with canonical specs; learned maps
// a canonical key to the form iptables-save was seen to print instead. Every
// problem is reported, not only the first.
func prepare(rs RuleSet, marker string, families []Family, learned map[Family]map[string][]string) (map[Family]map[string]*desiredTable, error) {
	var errs []error
	out := map[Family]map[string]*desiredTable{}
	tableOf := func(f Family, name string) *desiredTable {
		if out[f] == nil {
			out[f] = map[string]*desiredTable{}
		}
		t := out[f][name]
		if t == nil {
			t = newDesiredTable(name)
			out[f][name] = t
		}
		return t
	}
	checkFamily := func(f Family) error {
		if !f.valid() {
			return fmt.Errorf("family %d is neither IPv4 nor IPv6", int(f))
		}
		if !slices.Contains(families, f) {
			return fmt.Errorf("family %s is not managed by this controller (families %v)", f, families)
		}
		return nil
	}

	for i, c := range rs.Chains {
		if err := checkFamily(c.Family); err != nil {
			errs = append(errs, fmt.Errorf("chain %d (%q): %w", i, c.Name, err))
			continue
		}
		if err := checkName("table", c.Table); err != nil {
			errs = append(errs, fmt.Errorf("chain %d (%q): %w", i, c.Name, err))
			continue
		}
		if err := checkName("chain", c.Name); err != nil {
			errs = append(errs, fmt.Errorf("chain %d: %w", i, err))
			continue
		}
		t := tableOf(c.Family, c.Table)
		if t.own[c.Name] {
			errs = append(errs, fmt.Errorf("chain %d: %s chain %q in table %q is declared twice", i, c.Family, c.Name, c.Table))
			continue
		}
		if isBuiltin(c.Table, c.Name) {
			errs = append(errs, fmt.Errorf("chain %d: chain %q is built into table %q; it cannot be one of our chains", i, c.Name, c.Table))
			continue
		}
		t.addChain(c.Name)
	}

	for i, r := range rs.Rules {
		where := ruleRef{i, r}
		if err := checkFamily(r.Family); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		if err := checkName("table", r.Table); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		if err := checkName("chain", r.Chain); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		if err := checkArgs(r.Spec); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		spec, exact, err := canonicalExact(r.Spec, r.Family)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		if err := checkComments(spec); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		if !hasMarker(spec, marker) {
			errs = append(errs, fmt.Errorf("%s: no comment starting with %q (add -m comment --comment %q)", where, marker+":", marker+": ..."))
			continue
		}
		key := specKey(spec)
		if saved, ok := learned[r.Family][key]; ok {
			key = specKey(saved)
		}
		tableOf(r.Family, r.Table).addRule(r.Chain, wantRule{spec: spec, key: key, exact: exact})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func checkName(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%s name is empty", what)
	case what == "chain" && len(s) > maxChainName:
		return fmt.Errorf("chain name %q is longer than %d characters", s, maxChainName)
	case strings.HasPrefix(s, "-") || strings.ContainsAny(s, " \t\n\"'!"):
		return fmt.Errorf("%s name %q is not valid", what, s)
	}
	return nil
}

func checkArgs(spec []string) error {
	for _, a := range spec {
		if strings.ContainsAny(a, "\n\r\x00") {
			return fmt.Errorf("argument %q contains a line break or NUL", a)
		}
	}
	return nil
}

// maxComment is the longest comment the comment match accepts.
const maxComment = 255

func checkComments(spec []string) error {
	for _, c := range commentsOf(spec) {
		if len(c) > maxComment {
			return fmt.Errorf("comment %q is longer than %d characters", c, maxComment)
		}
	}
	return nil
}

// ruleRef names a rule in errors; formatted only when an error occurs.
type ruleRef struct {
	i int
	r Rule
}

func (w ruleRef) String() string {
	return fmt.Sprintf("rule %d (%s %s %s %s)", w.i, w.r.Family, w.r.Table, w.r.Chain, joinArgs(w.r.Spec))
}
