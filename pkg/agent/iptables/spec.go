package iptables

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// This file holds the text form of a rule spec: splitting an iptables-save
// line into arguments, quoting arguments for iptables-restore, and
// canonicalising a spec into the form iptables-save prints.

// splitArgs splits a rule line as iptables-restore and iptables-save do:
// blanks separate arguments, double quotes group them, and inside quotes a
// backslash escapes the next character.
func splitArgs(line string) ([]string, error) {
	var (
		args    []string
		cur     strings.Builder
		inArg   bool
		quoted  bool
		escaped bool
	)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case escaped:
			cur.WriteByte(c)
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
			inArg = true
		case !quoted && (c == ' ' || c == '\t'):
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteByte(c)
			inArg = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote in %q", line)
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}

// quoteArg quotes s the way iptables-save does: bare when it is made of
// letters, digits, '-' and '_' only (and other harmless characters), in
// double quotes otherwise, with '"', '\' and '\” escaped.
func quoteArg(s string) string {
	if s != "" && strings.IndexFunc(s, needsQuote) < 0 {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\', '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func needsQuote(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	return !strings.ContainsRune("-_./:,!=+@%", r)
}

func joinArgs(spec []string) string {
	q := make([]string, len(spec))
	for i, s := range spec {
		q[i] = quoteArg(s)
	}
	return strings.Join(q, " ")
}

// specKey is a rule's identity for comparisons.
func specKey(spec []string) string { return strings.Join(spec, "\x00") }

// commentsOf returns the values of every --comment in spec.
func commentsOf(spec []string) []string {
	var cs []string
	for i := 0; i+1 < len(spec); i++ {
		if spec[i] == "--comment" {
			cs = append(cs, spec[i+1])
		}
	}
	return cs
}

// hasMarker says whether spec carries a comment that is marker itself or
// starts with marker + ":".
func hasMarker(spec []string, marker string) bool {
	for i := 0; i+1 < len(spec); i++ {
		if spec[i] != "--comment" {
			continue
		}
		c := spec[i+1]
		if strings.HasPrefix(c, marker) && (len(c) == len(marker) || c[len(marker)] == ':') {
			return true
		}
	}
	return false
}

// targetOf returns the chain or target a spec jumps (-j) or goes (-g) to.
func targetOf(spec []string) string {
	for i := 0; i+1 < len(spec); i++ {
		switch spec[i] {
		case "-j", "--jump", "-g", "--goto":
			return spec[i+1]
		}
	}
	return ""
}

// Options iptables-save prints first, in this order, before any match.
var basicOrder = [5]string{"-s", "-d", "-i", "-o", "-p"}

var longNames = map[string]string{
	"--source": "-s", "--src": "-s",
	"--destination": "-d", "--dst": "-d",
	"--in-interface": "-i", "--out-interface": "-o",
	"--protocol": "-p", "--fragment": "-f",
	"--match": "-m", "--jump": "-j", "--goto": "-g",
}

// Options of a protocol's implicit match (loaded by -p) and their saved names.
var implicitOptions = map[string]string{
	"--sport": "--sport", "--source-port": "--sport",
	"--dport": "--dport", "--destination-port": "--dport",
	"--tcp-flags": "--tcp-flags", "--tcp-option": "--tcp-option",
	"--icmp-type": "--icmp-type", "--icmpv6-type": "--icmpv6-type",
	"--syn": "--syn",
}

// tcpUDPOrder is the order iptables-save prints tcp and udp match options
// in, and how many values each takes.
var tcpUDPOrder = map[string]struct{ rank, values int }{
	"--sport": {0, 1}, "--dport": {1, 1}, "--tcp-flags": {2, 2}, "--tcp-option": {3, 1},
}

var protocolNames = map[string]string{
	"1": "icmp", "6": "tcp", "17": "udp", "58": "ipv6-icmp", "132": "sctp",
	"icmpv6": "ipv6-icmp", "icmp6": "ipv6-icmp",
}

// implicitMatch is the match -p loads for a protocol.
func implicitMatch(proto string) string {
	if proto == "ipv6-icmp" {
		return "icmp6"
	}
	return proto
}

type section struct {
	name string // the match name, or "-j X" / "-g X" for the target
	args []string
}

type basicOpt struct {
	set     bool
	negated bool
	value   string
}

// canonical rewrites spec into the form iptables-save prints it in: the
// basic options (-s, -d, -i, -o, -p, -f) first and in a fixed order,
// addresses as masked prefixes (a bare address gets /32 or /128, a
// match-everything address disappears), protocol names as iptables prints
// them, the protocol's implicit match made explicit (-p tcp --dport 80
// becomes -p tcp -m tcp --dport 80) with tcp and udp options in their
// printed order, and the target last. Other arguments are kept as given.
func canonical(spec []string, fam Family) ([]string, error) {
	out, _, err := canonicalExact(spec, fam)
	return out, err
}

// Protocols whose name iptables-save prints as canonical writes it.
var exactProtocols = map[string]bool{"tcp": true, "udp": true, "icmp": true, "ipv6-icmp": true, "sctp": true}

// canonicalExact is canonical, and also says whether the result is known to
// be exactly what iptables-save prints: only basic options, comment, tcp and
// udp matches with options canonical orders, and a target without options
// (as MeshRules writes). Other specs are checked after a write.
func canonicalExact(spec []string, fam Family) ([]string, bool, error) {
	var (
		basics   [5]basicOpt // in basicOrder
		fragment []string
		sections []section
		target   *section
		cur      = -1 // index into sections, or -2 for the target
		negate   bool
	)
	for i := 0; i < len(spec); i++ {
		tok := spec[i]
		if n, ok := longNames[tok]; ok {
			tok = n
		}
		needsValue := false
		switch tok {
		case "-s", "-d", "-i", "-o", "-p", "-m", "-j", "-g":
			needsValue = true
		}
		if needsValue && i+1 >= len(spec) {
			return nil, false, fmt.Errorf("option %q needs a value", spec[i])
		}
		switch tok {
		case "!":
			negate = true
			continue
		case "-s", "-d", "-i", "-o", "-p":
			b := &basics[slices.Index(basicOrder[:], tok)]
			if b.set {
				return nil, false, fmt.Errorf("option %q given twice", tok)
			}
			i++
			*b = basicOpt{set: true, negated: negate, value: spec[i]}
		case "-f":
			fragment = []string{"-f"}
			if negate {
				fragment = []string{"!", "-f"}
			}
		case "-m":
			i++
			sections = append(sections, section{name: spec[i]})
			cur = len(sections) - 1
		case "-j", "-g":
			i++
			if target != nil {
				return nil, false, fmt.Errorf("more than one target (%q and %q)", target.name, tok+" "+spec[i])
			}
			target = &section{name: tok + " " + spec[i]}
			cur = -2
		default:
			if saved, ok := implicitOptions[tok]; ok {
				p := basics[len(basicOrder)-1]
				if !p.set {
					return nil, false, fmt.Errorf("option %q needs -p", tok)
				}
				m := implicitMatch(protocolName(p.value))
				if cur < 0 || sections[cur].name != m {
					sections = append(sections, section{name: m})
					cur = len(sections) - 1
				}
				tok = saved
			}
			var args *[]string
			switch cur {
			case -1:
				return nil, false, fmt.Errorf("argument %q belongs to no match or target", spec[i])
			case -2:
				args = &target.args
			default:
				args = &sections[cur].args
			}
			if negate {
				*args = append(*args, "!")
			}
			*args = append(*args, tok)
		}
		negate = false
	}
	if negate {
		return nil, false, fmt.Errorf("%q at the end of the rule", "!")
	}

	exact := target == nil || len(target.args) == 0
	out := make([]string, 0, len(spec)+4)
	for k, opt := range basicOrder {
		b := basics[k]
		if !b.set {
			continue
		}
		v := b.value
		switch opt {
		case "-s", "-d":
			p, err := parseAddress(v, fam)
			if err != nil {
				return nil, false, fmt.Errorf("option %q: %w", opt, err)
			}
			if p.Bits() == 0 && !b.negated {
				continue
			}
			v = p.String()
		case "-p":
			v = protocolName(v)
			if (v == "all" || v == "0") && !b.negated {
				continue
			}
			exact = exact && exactProtocols[v]
		}
		if b.negated {
			out = append(out, "!")
		}
		out = append(out, opt, v)
	}
	out = append(out, fragment...)
	for _, s := range sections {
		out = append(out, "-m", s.name)
		switch s.name {
		case "tcp", "udp":
			sorted, ok := sortTCPUDP(s.args)
			exact = exact && ok
			out = append(out, sorted...)
		case "comment":
			exact = exact && len(s.args) == 2 && s.args[0] == "--comment"
			out = append(out, s.args...)
		default:
			exact = false
			out = append(out, s.args...)
		}
	}
	if target != nil {
		jump, name, _ := strings.Cut(target.name, " ")
		out = append(out, jump, name)
		out = append(out, target.args...)
	}
	return out, exact, nil
}

// sortTCPUDP puts a tcp or udp match's options in iptables-save's order,
// spelling --syn out as iptables-save does. Unknown options leave the
// arguments as they are, and ok false.
func sortTCPUDP(args []string) (sorted []string, ok bool) {
	type opt struct {
		rank int
		args []string
	}
	var opts []opt
	for i := 0; i < len(args); {
		var o []string
		if args[i] == "!" {
			o = append(o, "!")
			i++
		}
		if i >= len(args) {
			return args, false
		}
		name := args[i]
		i++
		if name == "--syn" {
			opts = append(opts, opt{rank: tcpUDPOrder["--tcp-flags"].rank, args: append(o, "--tcp-flags", "FIN,SYN,RST,ACK", "SYN")})
			continue
		}
		spec, ok := tcpUDPOrder[name]
		if !ok || i+spec.values > len(args) {
			return args, false
		}
		o = append(o, name)
		o = append(o, args[i:i+spec.values]...)
		i += spec.values
		opts = append(opts, opt{rank: spec.rank, args: o})
	}
	slices.SortStableFunc(opts, func(a, b opt) int { return a.rank - b.rank })
	for _, o := range opts {
		sorted = append(sorted, o.args...)
	}
	return sorted, true
}

func protocolName(p string) string {
	p = strings.ToLower(p)
	if n, ok := protocolNames[p]; ok {
		return n
	}
	return p
}

// parseAddress parses an -s/-d value: an address, a prefix, or an address
// with a dotted netmask, of family fam.
func parseAddress(s string, fam Family) (netip.Prefix, error) {
	if strings.Contains(s, ",") {
		return netip.Prefix{}, fmt.Errorf("%q: a list of addresses makes several rules; give one rule per address", s)
	}
	addrPart, maskPart, hasMask := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addrPart)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or prefix", s)
	}
	if (fam == IPv4) != a.Is4() {
		return netip.Prefix{}, fmt.Errorf("%q is not an %s address", s, fam)
	}
	bits := a.BitLen()
	if hasMask {
		if n, err := strconv.Atoi(maskPart); err == nil {
			bits = n
		} else if m, err := netip.ParseAddr(maskPart); err == nil && m.Is4() == a.Is4() {
			bits = maskBits(m)
			if bits < 0 {
				return netip.Prefix{}, fmt.Errorf("%q: netmask %q is not contiguous", s, maskPart)
			}
		} else {
			return netip.Prefix{}, fmt.Errorf("%q: bad mask %q", s, maskPart)
		}
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q: %w", s, err)
	}
	return p, nil
}

// maskBits returns the prefix length of a contiguous netmask, or -1.
func maskBits(m netip.Addr) int {
	b := m.AsSlice()
	n := 0
	for i, x := range b {
		if x == 0xff {
			n += 8
			continue
		}
		ones := 0
		for x&0x80 != 0 {
			ones++
			x <<= 1
		}
		if x != 0 {
			return -1
		}
		n += ones
		for _, rest := range b[i+1:] {
			if rest != 0 {
				return -1
			}
		}
		return n
	}
	return n
}
