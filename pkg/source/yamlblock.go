package source

import (
	"bytes"
	"strconv"
)

// A fast path for the YAML that kubectl, Helm and most people write:
// block mappings and sequences, one-line plain, quoted and flow scalars,
// comments. blockYAMLToJSON converts such a document to JSON with the
// meaning sigs.k8s.io/yaml's YAMLToJSONStrict (go-yaml v2) gives it, in
// one pass and without building a tree. Anything outside that subset
// (anchors, aliases, tags, block scalars, multi-line scalars, complex
// keys, non-ASCII text, tabs, duplicate keys, scalars go-yaml would read
// as anything but a string, null, a bool or a decimal integer) makes it
// give up, and the caller converts the document with the full parser,
// which also words the error of a malformed one.

// yline is one line of a document with content: its indentation and the
// text after it (comment-only and blank lines are dropped).
type yline struct {
	indent int
	text   []byte
}

type yamlBlock struct {
	lines []yline
	i     int // the next line
	out   []byte
	keys  [][]byte // keys of the mappings being read, by depth (duplicates)
}

// blockYAMLToJSON appends doc as JSON to out; ok is false when doc is not
// in the subset the fast path reads (out is then to be ignored).
func blockYAMLToJSON(doc, out []byte, lines []yline) (_ []byte, _ []yline, ok bool) {
	p := yamlBlock{lines: lines[:0], out: out}
	if !p.split(doc) {
		return out, p.lines, false
	}
	if len(p.lines) == 0 {
		return append(out, "null"...), p.lines, true
	}
	ok = p.block(p.lines[0].indent) && p.i == len(p.lines)
	return p.out, p.lines, ok
}

// split cuts doc into lines, refusing bytes the fast path does not read:
// anything but printable ASCII, spaces and newlines, and the lines that
// start or end a document or carry a directive.
func (p *yamlBlock) split(doc []byte) bool {
	for _, c := range doc {
		if (c < 0x20 && c != '\n') || c >= 0x7f {
			return false
		}
	}
	for len(doc) > 0 {
		line := doc
		if j := bytes.IndexByte(doc, '\n'); j >= 0 {
			line, doc = doc[:j], doc[j+1:]
		} else {
			doc = nil
		}
		if bytes.HasPrefix(line, []byte("---")) || bytes.HasPrefix(line, []byte("...")) || bytes.HasPrefix(line, []byte("%")) {
			return false
		}
		n := 0
		for n < len(line) && line[n] == ' ' {
			n++
		}
		text := bytes.TrimRight(line[n:], " ")
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		p.lines = append(p.lines, yline{indent: n, text: text})
	}
	return true
}

// seqItem reports whether text starts a block sequence entry.
func seqItem(text []byte) bool {
	return text[0] == '-' && (len(text) == 1 || text[1] == ' ')
}

// block reads the mapping or sequence that starts at the current line,
// which is indented by indent.
func (p *yamlBlock) block(indent int) bool {
	if seqItem(p.lines[p.i].text) {
		return p.sequence(indent)
	}
	return p.mapping(indent)
}

// after returns the indentation of the next line, -1 at the end.
func (p *yamlBlock) after() int {
	if p.i < len(p.lines) {
		return p.lines[p.i].indent
	}
	return -1
}

func (p *yamlBlock) mapping(indent int) bool {
	p.out = append(p.out, '{')
	depth := len(p.keys)
	defer func() { p.keys = p.keys[:depth] }()
	for n := 0; p.i < len(p.lines) && p.lines[p.i].indent == indent; n++ {
		l := p.lines[p.i]
		if seqItem(l.text) {
			return false // a sequence entry among keys
		}
		key, rest, ok := p.key(l.text, false)
		if !ok || !p.newKey(depth, key) {
			return false
		}
		if n > 0 {
			p.out = append(p.out, ',')
		}
		p.out = appendJSONString(p.out, key)
		p.out = append(p.out, ':')
		p.i++
		if len(rest) > 0 {
			if rest, ok = p.value(rest, false); !ok || !comment(rest) {
				return false
			}
			if p.after() > indent {
				return false // a continuation line, or bad indentation
			}
			continue
		}
		switch next := p.after(); {
		case next > indent:
			if !p.block(next) {
				return false
			}
		case next == indent && seqItem(p.lines[p.i].text):
			// A sequence may sit at its key's indentation.
			if !p.sequence(indent) {
				return false
			}
		default:
			p.out = append(p.out, "null"...)
		}
	}
	if p.after() > indent {
		return false
	}
	p.out = append(p.out, '}')
	return true
}

// newKey records key in the mapping at depth, refusing a duplicate.
func (p *yamlBlock) newKey(depth int, key []byte) bool {
	for _, k := range p.keys[depth:] {
		if bytes.Equal(k, key) {
			return false
		}
	}
	p.keys = append(p.keys, key)
	return true
}

func (p *yamlBlock) sequence(indent int) bool {
	p.out = append(p.out, '[')
	for n := 0; p.i < len(p.lines) && p.lines[p.i].indent == indent && seqItem(p.lines[p.i].text); n++ {
		if n > 0 {
			p.out = append(p.out, ',')
		}
		l := p.lines[p.i]
		if len(l.text) == 1 {
			return false // the entry's content on the next lines
		}
		content := l.text[2:]
		col := indent + 2
		for len(content) > 0 && content[0] == ' ' {
			content, col = content[1:], col+1
		}
		if comment(content) || seqItem(content) {
			return false
		}
		if _, _, isKey := p.key(content, false); isKey {
			// "- key: value": a mapping at the column of its first key.
			p.lines[p.i] = yline{indent: col, text: content}
			if !p.mapping(col) {
				return false
			}
			continue
		}
		rest, ok := p.value(content, false)
		if !ok || !comment(rest) {
			return false
		}
		p.i++
		if p.after() > indent {
			return false
		}
	}
	if p.after() > indent {
		return false
	}
	p.out = append(p.out, ']')
	return true
}

// comment reports whether rest is empty or only a comment.
func comment(rest []byte) bool {
	rest = bytes.TrimLeft(rest, " ")
	return len(rest) == 0 || rest[0] == '#'
}

// key reads "key:" at the start of text: a quoted or plain scalar that
// go-yaml reads as a string, then ':' and a space or the end. rest is
// what follows, spaces and a comment dropped.
func (p *yamlBlock) key(text []byte, flow bool) (key, rest []byte, ok bool) {
	switch text[0] {
	case '"', '\'':
		key, rest, ok = quoted(text)
		if !ok {
			return nil, nil, false
		}
	default:
		end := -1
		for j := 0; j < len(text); j++ {
			if text[j] == ':' && (j+1 == len(text) || text[j+1] == ' ') {
				end = j
				break
			}
			if text[j] == '#' && j > 0 && text[j-1] == ' ' {
				return nil, nil, false
			}
			if flow && isFlowIndicator(text[j]) {
				return nil, nil, false
			}
		}
		if end <= 0 || text[end-1] == ' ' {
			return nil, nil, false
		}
		key, rest = text[:end], text[end:]
		if !plainStart(key) || bytes.Equal(key, []byte("<<")) {
			return nil, nil, false
		}
		if kind, _ := resolvePlain(key); kind != plainString {
			return nil, nil, false
		}
	}
	if len(rest) == 0 || rest[0] != ':' || (len(rest) > 1 && rest[1] != ' ') {
		return nil, nil, false
	}
	rest = bytes.TrimLeft(rest[1:], " ")
	if !flow && len(rest) > 0 && rest[0] == '#' {
		rest = nil
	}
	return key, rest, true
}

func isFlowIndicator(c byte) bool { return c == ',' || c == '[' || c == ']' || c == '{' || c == '}' }

// plainStart reports whether s may start a plain scalar the fast path
// reads: not an indicator (anchors, tags, block scalars, ...).
func plainStart(s []byte) bool {
	switch s[0] {
	case '-':
		return len(s) > 1 && s[1] != ' '
	case '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		return false
	}
	return true
}

// value appends the one-line value at the start of text and returns
// what follows it.
func (p *yamlBlock) value(text []byte, flow bool) (rest []byte, ok bool) {
	switch text[0] {
	case '"', '\'':
		s, rest, ok := quoted(text)
		if !ok {
			return nil, false
		}
		p.out = appendJSONString(p.out, s)
		return rest, true
	case '[':
		return p.flowSeq(text[1:])
	case '{':
		return p.flowMap(text[1:])
	}
	if !plainStart(text) {
		return nil, false
	}
	end := len(text)
	for j := 0; j < len(text); j++ {
		c := text[j]
		if c == ':' && (j+1 == len(text) || text[j+1] == ' ' || flow) {
			return nil, false // "a: b" where a value is, or ':' in a flow scalar
		}
		if c == '#' && text[j-1] == ' ' {
			end = j
			break
		}
		if flow && isFlowIndicator(c) {
			end = j
			break
		}
	}
	s := bytes.TrimRight(text[:end], " ")
	if len(s) == 0 {
		return nil, false
	}
	switch kind, v := resolvePlain(s); kind {
	case plainString:
		p.out = appendJSONString(p.out, s)
	case plainLiteral:
		p.out = append(p.out, v...)
	default:
		return nil, false
	}
	return text[end:], true
}

func (p *yamlBlock) flowSeq(text []byte) ([]byte, bool) {
	p.out = append(p.out, '[')
	text = bytes.TrimLeft(text, " ")
	for n := 0; ; n++ {
		if len(text) == 0 {
			return nil, false // continues on the next line
		}
		if text[0] == ']' && n == 0 {
			break
		}
		if n > 0 {
			p.out = append(p.out, ',')
		}
		rest, ok := p.value(text, true)
		if !ok {
			return nil, false
		}
		rest = bytes.TrimLeft(rest, " ")
		if len(rest) == 0 {
			return nil, false
		}
		if rest[0] == ']' {
			text = rest
			break
		}
		if rest[0] != ',' {
			return nil, false
		}
		text = bytes.TrimLeft(rest[1:], " ")
		if len(text) > 0 && text[0] == ']' {
			return nil, false // a trailing comma
		}
	}
	p.out = append(p.out, ']')
	return text[1:], true
}

func (p *yamlBlock) flowMap(text []byte) ([]byte, bool) {
	p.out = append(p.out, '{')
	depth := len(p.keys)
	defer func() { p.keys = p.keys[:depth] }()
	text = bytes.TrimLeft(text, " ")
	for n := 0; ; n++ {
		if len(text) == 0 {
			return nil, false
		}
		if text[0] == '}' && n == 0 {
			break
		}
		key, rest, ok := p.key(text, true)
		if !ok || len(rest) == 0 || !p.newKey(depth, key) {
			return nil, false
		}
		if n > 0 {
			p.out = append(p.out, ',')
		}
		p.out = appendJSONString(p.out, key)
		p.out = append(p.out, ':')
		if rest[0] == ',' || rest[0] == '}' {
			return nil, false // a key without a value
		}
		if rest, ok = p.value(rest, true); !ok {
			return nil, false
		}
		rest = bytes.TrimLeft(rest, " ")
		if len(rest) == 0 {
			return nil, false
		}
		if rest[0] == '}' {
			text = rest
			break
		}
		if rest[0] != ',' {
			return nil, false
		}
		text = bytes.TrimLeft(rest[1:], " ")
		if len(text) > 0 && text[0] == '}' {
			return nil, false
		}
	}
	p.out = append(p.out, '}')
	return text[1:], true
}

// quoted reads the one-line single- or double-quoted scalar at the start
// of text. Double-quoted escapes other than \" \\ \n \t \r are left
// to the full parser.
func quoted(text []byte) (s, rest []byte, ok bool) {
	q := text[0]
	var buf []byte
	start := 1
	for j := 1; j < len(text); j++ {
		c := text[j]
		switch {
		case q == '\'' && c == '\'':
			if j+1 < len(text) && text[j+1] == '\'' {
				buf = append(buf, text[start:j+1]...)
				j++
				start = j + 1
				continue
			}
		case q == '"' && c == '\\':
			if j+1 == len(text) {
				return nil, nil, false
			}
			var e byte
			switch text[j+1] {
			case '"', '\\':
				e = text[j+1]
			case 'n':
				e = '\n'
			case 't':
				e = '\t'
			case 'r':
				e = '\r'
			default:
				return nil, nil, false
			}
			buf = append(append(buf, text[start:j]...), e)
			j++
			start = j + 1
			continue
		case c != q:
			continue
		}
		// the closing quote
		if buf == nil {
			s = text[1:j]
		} else {
			s = append(buf, text[start:j]...)
		}
		return s, text[j+1:], true
	}
	return nil, nil, false // a multi-line scalar
}

const (
	plainString = iota
	plainLiteral
	plainOther // a float, a timestamp's cousins, ...: the full parser decides
)

// resolvePlain says what go-yaml v2 makes of a plain scalar (its resolve
// table): a string, a JSON literal (null, a bool, a decimal integer, given
// as v), or something the fast path leaves to it.
func resolvePlain(s []byte) (kind int, v string) {
	switch s[0] {
	case 'y', 'Y', 'n', 'N', 't', 'T', 'f', 'F', 'o', 'O', '~':
		switch string(s) {
		case "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON":
			return plainLiteral, "true"
		case "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF":
			return plainLiteral, "false"
		case "~", "null", "Null", "NULL":
			return plainLiteral, "null"
		}
		return plainString, ""
	case '.':
		if maybeFloat(s) {
			return plainOther, ""
		}
		return plainString, ""
	case '+', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
	default:
		return plainString, ""
	}
	// A sign or a digit: an integer (any base, underscores dropped), a
	// float, ".inf" or a timestamp to go-yaml; a timestamp is kept as a
	// string when decoding into interface{}, so it is a string here too.
	if decimal(s) {
		return plainLiteral, string(s)
	}
	if maybeInt(s) || yamlFloat(s) {
		return plainOther, ""
	}
	return plainString, ""
}

// yamlFloat is go-yaml's float pattern, underscores dropped:
// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
func yamlFloat(s []byte) bool {
	if bytes.IndexByte(s, '_') >= 0 {
		s = bytes.ReplaceAll(s, []byte("_"), nil)
	}
	i := 0
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, n = i+1, n+1
		}
		return n
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	} else {
		if digits() == 0 {
			return false
		}
		if i < len(s) && s[i] == '.' {
			i++
			digits()
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// decimal: -?(0|[1-9][0-9]*) that fits an int64, written by JSON the same.
func decimal(s []byte) bool {
	d := s
	if d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 18 || (d[0] == '0' && (len(d) > 1 || len(s) > 1)) {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// maybeInt: what strconv.ParseInt/ParseUint with base 0 might accept once
// underscores are dropped (0x.., 0o.., 0b.., octal, signs), in go-yaml's
// "0b" and "-0b" forms too.
func maybeInt(s []byte) bool {
	if s[0] == '+' || s[0] == '-' {
		s = s[1:]
	}
	if len(s) == 0 {
		return false
	}
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F', c == '_', c == 'x', c == 'X', c == 'o', c == 'O':
		default:
			return false
		}
	}
	_, err := strconv.ParseInt(string(bytes.ReplaceAll(s, []byte("_"), nil)), 0, 64)
	return err == nil || s[0] == '0' || len(s) > 18
}

// maybeFloat: what go-yaml's float pattern, strconv.ParseFloat or its
// ".inf"/".nan" names might accept.
func maybeFloat(s []byte) bool {
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9', c == '.', c == 'e', c == 'E', c == '+', c == '-', c == '_':
		case c == 'i', c == 'I', c == 'n', c == 'N', c == 'f', c == 'F', c == 'a', c == 'A', c == 't', c == 'T', c == 'y', c == 'Y', c == 'x', c == 'X', c == 'p', c == 'P':
		default:
			if !(c >= 'b' && c <= 'd' || c >= 'B' && c <= 'D') {
				return false
			}
		}
	}
	return true
}

// appendJSONString appends s as a JSON string.
func appendJSONString(out, s []byte) []byte {
	out = append(out, '"')
	start := 0
	for j, c := range s {
		var e string
		switch c {
		case '"':
			e = `\"`
		case '\\':
			e = `\\`
		case '\n':
			e = `\n`
		case '\t':
			e = `\t`
		case '\r':
			e = `\r`
		default:
			continue
		}
		out = append(append(out, s[start:j]...), e...)
		start = j + 1
	}
	out = append(out, s[start:]...)
	return append(out, '"')
}
