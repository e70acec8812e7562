package iptables

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// writeRestore writes plans as iptables-restore --noflush input: one
// *table ... COMMIT block per table, each applied atomically.
func writeRestore(w io.Writer, plans []tablePlan) error {
	var b bytes.Buffer
	for _, p := range plans {
		b.WriteString("*" + p.name + "\n")
		for _, c := range p.declare {
			b.WriteString(":" + c + " - [0:0]\n")
		}
		for _, op := range p.deletes {
			writeOp(&b, "-D "+op.chain, op.spec)
		}
		for _, op := range p.appends {
			writeOp(&b, "-A "+op.chain, op.spec)
		}
		for _, op := range p.inserts {
			writeOp(&b, "-I "+op.chain+" "+strconv.Itoa(op.pos), op.spec)
		}
		for _, c := range p.deleteChains {
			b.WriteString("-X " + c + "\n")
		}
		b.WriteString("COMMIT\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}

func writeOp(b *bytes.Buffer, head string, spec []string) {
	b.WriteString(head)
	if len(spec) > 0 {
		b.WriteString(" ")
		b.WriteString(joinArgs(spec))
	}
	b.WriteString("\n")
}

// RestoreInput returns the iptables-restore --noflush input that installs
// rs's rules of family f on a host that has none of them yet: what Apply
// writes on a fresh host; rules of the other family are validated and left
// out. It validates rs as Apply does, with the default marker unless marker
// is set.
func RestoreInput(rs RuleSet, f Family, marker string) ([]byte, error) {
	if marker == "" {
		marker = DefaultComment
	}
	desired, err := prepare(rs, marker, []Family{IPv4, IPv6}, nil)
	if err != nil {
		return nil, err
	}
	plans, _, err := planFamily(desired[f], nil, marker)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f, err)
	}
	var b bytes.Buffer
	if err := writeRestore(&b, plans); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
