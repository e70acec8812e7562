package iptables

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// DefaultComment is the default marker of our rules' comments.
const DefaultComment = "kgctl"

// ExecFunc runs a command with stdin (nil: none) and returns its standard
// output; the error should carry the standard error.
type ExecFunc func(ctx context.Context, name string, args []string, stdin []byte) ([]byte, error)

// Options configure a Controller.
type Options struct {
	// Exec runs iptables-save and iptables-restore; nil runs them with
	// os/exec. Tests point it into a network namespace.
	Exec ExecFunc
	// Comment is the marker our rules' comments start with; default "kgctl".
	Comment string
	// Families are the families managed; default IPv4 and IPv6. Apply
	// refuses rules of another family, and reads and cleans only these.
	Families []Family
}

// Controller applies RuleSets to the host's iptables. It is safe for
// concurrent use; Apply calls are serialised.
type Controller struct {
	exec     ExecFunc
	marker   string
	families []Family

	mu sync.Mutex
	// learned maps, per family, a canonical spec key to the spec
	// iptables-save was seen to print for it, when they differ.
	learned map[Family]map[string][]string

	// The drift check's memory (see Apply): the sum of the last rule set
	// prepared without error, and per family the sum of an iptables-save
	// output that was found to need nothing for it. learned[f] changes
	// only after a write to f, which has dropped verified[f]; forget drops
	// only forms of rules the rule set no longer has.
	seeds    [2]maphash.Seed
	ruleSet  sum
	verified map[Family]sum
	// checks counts the families parsed and planned in full (tests).
	checks int
}

// sum is a 128-bit hash: two 64-bit maphashes with their own seeds.
type sum [2]uint64

// New returns a Controller. It does not touch the host.
func New(o Options) *Controller {
	c := &Controller{
		exec:     o.Exec,
		marker:   o.Comment,
		families: slices.Clone(o.Families),
		learned:  map[Family]map[string][]string{},
		seeds:    [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		verified: map[Family]sum{},
	}
	if c.exec == nil {
		c.exec = runCommand
	}
	if c.marker == "" {
		c.marker = DefaultComment
	}
	if len(c.families) == 0 {
		c.families = []Family{IPv4, IPv6}
	}
	return c
}

// Apply brings the host's iptables to rs: it reads each family's tables
// with one iptables-save and, only for a family that differs, runs one
// iptables-restore --noflush. Families are independent: an error in one
// does not stop the other, and the errors are joined.
//
// A resync that changes nothing is cheap: the Controller remembers the
// rule set it last prepared (by a hash of its contents) and, per family,
// the hash of an iptables-save output it found to need no change for it
// (comments and chain counters left out, as the parser leaves them out).
// When both are the same again, that family is not parsed or planned, and
// rs is not validated again; iptables-save still runs, so any change on
// the host, ours or anyone else's, is noticed by the next Apply and
// repaired. After a write the next Apply checks in full.
func (c *Controller) Apply(ctx context.Context, rs RuleSet) (Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := c.ruleSetSum(rs)
	var desired map[Family]map[string]*desiredTable
	if key != c.ruleSet {
		// A new rule set: validate it before touching the host.
		clear(c.verified)
		c.ruleSet = sum{}
		var err error
		if desired, err = prepare(rs, c.marker, c.families, c.learned); err != nil {
			return Result{}, fmt.Errorf("iptables: invalid rule set: %w", err)
		}
		c.ruleSet = key
	}
	var (
		res  Result
		errs []error
	)
	for _, f := range c.families {
		r, err := c.applyFamily(ctx, f, rs, &desired)
		res.add(r)
		if err != nil {
			errs = append(errs, fmt.Errorf("iptables: %s: %w", f, err))
		}
	}
	if desired != nil {
		c.forget(desired)
	}
	return res, errors.Join(errs...)
}

// CleanUp removes all our rules and chains of the managed families, leaving
// everyone else's alone.
func (c *Controller) CleanUp(ctx context.Context) error {
	_, err := c.Apply(ctx, RuleSet{})
	return err
}

// applyFamily brings one family to the rule set; *desired is rs
// prepared, or nil until a family needs it (rs was prepared without error
// before: see Apply).
func (c *Controller) applyFamily(ctx context.Context, f Family, rs RuleSet, desired *map[Family]map[string]*desiredTable) (Result, error) {
	out, err := c.exec(ctx, f.saveCommand(), nil, nil)
	if err != nil {
		delete(c.verified, f)
		return Result{}, err
	}
	seen := c.saveSum(out)
	if v, ok := c.verified[f]; ok && v == seen {
		return Result{}, nil
	}
	delete(c.verified, f)
	c.checks++
	current, err := parseSave(out)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", f.saveCommand(), err)
	}
	if *desired == nil {
		if *desired, err = prepare(rs, c.marker, c.families, c.learned); err != nil {
			return Result{}, fmt.Errorf("invalid rule set: %w", err)
		}
	}
	want := (*desired)[f]
	plans, res, err := planFamily(want, current, c.marker)
	if err != nil {
		return Result{}, err
	}
	if len(plans) == 0 {
		c.verified[f] = seen
		return Result{}, nil
	}
	var in bytes.Buffer
	if err := writeRestore(&in, plans); err != nil {
		return Result{}, err
	}
	if _, err := c.exec(ctx, f.restoreCommand(), []string{"-w", "--noflush"}, in.Bytes()); err != nil {
		return Result{}, restoreError(err, in.Bytes())
	}
	res.Writes = 1

	// Read back what was written, to learn how iptables-save prints rules
	// our canonical form does not anticipate. Failing to is not an error:
	// the next Apply just writes once more.
	if !allExact(want) {
		if after, err := c.save(ctx, f); err == nil {
			c.learn(f, want, after)
		}
	}
	return res, nil
}

func allExact(desired map[string]*desiredTable) bool {
	for _, t := range desired {
		for _, rules := range t.rules {
			for _, r := range rules {
				if !r.exact {
					return false
				}
			}
		}
	}
	return true
}

// save reads every table of the family with one iptables-save: with the
// nf_tables backend, iptables-save -t T fetches the family's whole ruleset
// anyway, so one call per table would cost one whole read each.
func (c *Controller) save(ctx context.Context, f Family) (map[string]*table, error) {
	out, err := c.exec(ctx, f.saveCommand(), nil, nil)
	if err != nil {
		return nil, err
	}
	tables, err := parseSave(out)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.saveCommand(), err)
	}
	return tables, nil
}

// learn pairs each desired rule with the rule iptables-save now prints in
// its place (our chains: all rules; shared chains: our marked rules), and
// remembers the printed form where it differs from the canonical one.
func (c *Controller) learn(f Family, desired map[string]*desiredTable, after map[string]*table) {
	for n, d := range desired {
		t := after[n]
		if t == nil {
			continue
		}
		for chain, want := range d.rules {
			sc := t.chain(chain)
			if sc == nil {
				continue
			}
			var have []savedRule
			for _, r := range sc.rules {
				if d.own[chain] || hasMarker(r.spec, c.marker) {
					have = append(have, r)
				}
			}
			if len(have) != len(want) {
				continue
			}
			for i, w := range want {
				canon := specKey(w.spec)
				if have[i].key == canon {
					delete(c.learned[f], canon)
					continue
				}
				if c.learned[f] == nil {
					c.learned[f] = map[string][]string{}
				}
				c.learned[f][canon] = have[i].spec
			}
		}
	}
}

// forget drops learned forms of rules no longer desired.
func (c *Controller) forget(desired map[Family]map[string]*desiredTable) {
	for f, m := range c.learned {
		keep := map[string]bool{}
		for _, t := range desired[f] {
			for _, rules := range t.rules {
				for _, r := range rules {
					keep[specKey(r.spec)] = true
				}
			}
		}
		for k := range m {
			if !keep[k] {
				delete(m, k)
			}
		}
	}
}

var restoreLine = regexp.MustCompile(`line:? (\d+)`)

// restoreError adds the input line iptables-restore complained about.
func restoreError(err error, input []byte) error {
	m := restoreLine.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	n, _ := strconv.Atoi(m[1])
	lines := strings.Split(string(input), "\n")
	if n < 1 || n > len(lines) {
		return err
	}
	return fmt.Errorf("%w (input line %d: %q)", err, n, lines[n-1])
}

// runCommand is the default ExecFunc.
func runCommand(ctx context.Context, name string, args []string, stdin []byte) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return stdout.Bytes(), fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
		}
		return stdout.Bytes(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}
