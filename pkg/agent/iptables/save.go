package iptables

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// table is one table as iptables-save printed it.
type table struct {
	name   string
	chains []*savedChain // in the order iptables-save printed them
	byName map[string]*savedChain
}

type savedChain struct {
	name string
	// builtin is true for chains with a policy (INPUT, POSTROUTING, ...).
	builtin bool
	rules   []savedRule
}

type savedRule struct {
	spec []string // the arguments after "-A CHAIN", unquoted
	key  string
}

func newTable(name string) *table {
	return &table{name: name, byName: map[string]*savedChain{}}
}

func (t *table) chain(name string) *savedChain { return t.byName[name] }

func (t *table) addChain(name string, builtin bool) *savedChain {
	if c := t.byName[name]; c != nil {
		return c
	}
	c := &savedChain{name: name, builtin: builtin}
	t.chains = append(t.chains, c)
	t.byName[name] = c
	return c
}

// parseSave parses iptables-save output. It returns the tables it found by
// name; a table with no lines (iptables-save -t of a table the kernel does
// not have yet) is simply absent.
func parseSave(out []byte) (map[string]*table, error) {
	tables := map[string]*table{}
	var cur *table
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "*"):
			cur = newTable(line[1:])
			tables[cur.name] = cur
		case line == "COMMIT":
			cur = nil
		case cur == nil:
			return nil, fmt.Errorf("line %d: %q outside a table", n, line)
		case strings.HasPrefix(line, ":"):
			f := strings.Fields(line[1:])
			if len(f) < 2 {
				return nil, fmt.Errorf("line %d: bad chain line %q", n, line)
			}
			cur.addChain(f[0], f[1] != "-")
		case strings.HasPrefix(line, "-A "):
			args, err := splitArgs(line[3:])
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			if len(args) == 0 {
				return nil, fmt.Errorf("line %d: rule without a chain", n)
			}
			c := cur.chain(args[0])
			if c == nil {
				// iptables-save declares every chain first; be lenient.
				c = cur.addChain(args[0], false)
			}
			spec := args[1:]
			c.rules = append(c.rules, savedRule{spec: spec, key: specKey(spec)})
		default:
			return nil, fmt.Errorf("line %d: unexpected %q", n, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return tables, nil
}
