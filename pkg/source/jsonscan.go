package source

import "bytes"

// A scan over bytes already known to be valid JSON (json.Valid): it
// finds where values end without decoding them, so a document is walked
// once whatever its nesting.

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the string that starts at b[i] ('"').
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// valueEnd returns the index after the value that starts at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(b) && !bytes.ContainsRune([]byte(",}] \t\r\n"), rune(b[i])) {
		i++
	}
	return i
}

// member is one key of an object and its value's span.
type member struct {
	key        []byte // raw, quotes included
	start, end int
}

// members calls f for each member of the object at b[i] ('{') and
// returns the index after it. f returns the end of the value it
// consumed, or -1 to have it skipped.
func members(b []byte, i int, f func(m member) (int, error)) (int, error) {
	return scan(b, i, func(key []byte, _, start int) (int, error) { return f(member{key: key, start: start}) })
}

// elements calls f for each element of the array at b[i] ('['), as
// members does.
func elements(b []byte, i int, f func(n, start int) (int, error)) (int, error) {
	return scan(b, i, func(_ []byte, n, start int) (int, error) { return f(n, start) })
}

// scan walks the object or array at b[i], calling f with each member's
// raw key (nil in an array), its index and where its value starts.
func scan(b []byte, i int, f func(key []byte, n, start int) (int, error)) (int, error) {
	closing := byte(']')
	if b[i] == '{' {
		closing = '}'
	}
	i = skipSpace(b, i+1)
	for n := 0; i < len(b) && b[i] != closing; n++ {
		var key []byte
		if closing == '}' {
			ke := stringEnd(b, i)
			key = b[i:ke]
			i = skipSpace(b, ke)
			i = skipSpace(b, i+1) // ':'
		}
		end, err := f(key, n, i)
		if err != nil {
			return 0, err
		}
		if end < 0 {
			end = valueEnd(b, i)
		}
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return i + 1, nil
}

// plainKeys reports whether no object in the value at b[i] has the same
// key twice and no key is escaped (escapes hide duplicates: "a" and
// "\u0061"), checking the whole value in one pass.
func plainKeys(b []byte, i int) bool {
	ok := true
	var walk func(i int) int
	walk = func(i int) int {
		switch b[i] {
		case '{':
			var keys [][]byte
			var seen map[string]bool
			end, _ := members(b, i, func(m member) (int, error) {
				if bytes.IndexByte(m.key, '\\') >= 0 {
					ok = false
				}
				if seen == nil && len(keys) < 16 {
					for _, k := range keys {
						if bytes.Equal(k, m.key) {
							ok = false
						}
					}
					keys = append(keys, m.key)
				} else {
					if seen == nil {
						seen = make(map[string]bool, 32)
						for _, k := range keys {
							seen[string(k)] = true
						}
					}
					if seen[string(m.key)] {
						ok = false
					}
					seen[string(m.key)] = true
				}
				return walk(m.start), nil
			})
			return end
		case '[':
			end, _ := elements(b, i, func(_, start int) (int, error) { return walk(start), nil })
			return end
		}
		return valueEnd(b, i)
	}
	walk(i)
	return ok
}
