package bench

import "encoding/json"

// A small JSON reader for the scan answers. The classification needs two or
// three members of each answer; encoding/json decodes the whole answer
// through reflection to find them (2.4 µs and 7 allocations for a TiBillet
// answer: BenchmarkClassifyTibilletEncodingJSON), CPU taken from the server
// on the same CPUs; this reader takes 0.3 µs and allocates nothing. It
// checks that the answer is one valid JSON document, as encoding/json does,
// and returns the raw values of the members asked for, without decoding
// anything else. It differs from encoding/json in two ways, neither of
// which admit's answers have: member names match exactly, not also in
// another case; and of a repeated member only the last is type-checked.

// maxJSONDepth is encoding/json's bound on nesting.
const maxJSONDepth = 10000

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// jsonValueEnd returns the end of the JSON value that starts at b[i], or -1
// if none does.
func jsonValueEnd(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '"':
		return jsonStringEnd(b, i)
	case c == '{':
		if depth >= maxJSONDepth {
			return -1
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return -1
			}
			if i = jsonStringEnd(b, i); i < 0 {
				return -1
			}
			if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
				return -1
			}
			if i = jsonValueEnd(b, skipSpace(b, i+1), depth+1); i < 0 {
				return -1
			}
			if i = skipSpace(b, i); i >= len(b) {
				return -1
			}
			if b[i] == '}' {
				return i + 1
			}
			if b[i] != ',' {
				return -1
			}
			i = skipSpace(b, i+1)
		}
	case c == '[':
		if depth >= maxJSONDepth {
			return -1
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1
		}
		for {
			if i = jsonValueEnd(b, i, depth+1); i < 0 {
				return -1
			}
			if i = skipSpace(b, i); i >= len(b) {
				return -1
			}
			if b[i] == ']' {
				return i + 1
			}
			if b[i] != ',' {
				return -1
			}
			i = skipSpace(b, i+1)
		}
	case c == 't':
		return jsonLiteralEnd(b, i, "true")
	case c == 'f':
		return jsonLiteralEnd(b, i, "false")
	case c == 'n':
		return jsonLiteralEnd(b, i, "null")
	case c == '-' || '0' <= c && c <= '9':
		return jsonNumberEnd(b, i)
	}
	return -1
}

func jsonLiteralEnd(b []byte, i int, lit string) int {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit)
	}
	return -1
}

// jsonStringEnd returns the end of the JSON string that starts at b[i].
func jsonStringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			if i++; i >= len(b) {
				return -1
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(b)-i <= 4 {
					return -1
				}
				for _, h := range b[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return -1
					}
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

func isDigit(b []byte, i int) bool { return i < len(b) && '0' <= b[i] && b[i] <= '9' }

// jsonNumberEnd returns the end of the JSON number that starts at b[i].
func jsonNumberEnd(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case isDigit(b, i):
		for isDigit(b, i) {
			i++
		}
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		if i++; !isDigit(b, i) {
			return -1
		}
		for isDigit(b, i) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !isDigit(b, i) {
			return -1
		}
		for isDigit(b, i) {
			i++
		}
	}
	return i
}

// jsonMembers reads the JSON document b, which must be an object or null,
// and sets vals[k] to the raw value of its outermost member named keys[k]
// (the last one, if the name is repeated; nil if there is none).
func jsonMembers(b []byte, keys []string, vals [][]byte) bool {
	clear(vals)
	i := skipSpace(b, 0)
	if i < len(b) && b[i] == 'n' {
		// null: nothing set, as encoding/json does
		return jsonLiteralEnd(b, i, "null") >= 0 && skipSpace(b, i+4) == len(b)
	}
	if i >= len(b) || b[i] != '{' {
		return false
	}
	// The members, checked as jsonValueEnd checks an object's.
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipSpace(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		kend := jsonStringEnd(b, i)
		if kend < 0 {
			return false
		}
		key := b[i+1 : kend-1]
		if i = skipSpace(b, kend); i >= len(b) || b[i] != ':' {
			return false
		}
		vstart := skipSpace(b, i+1)
		vend := jsonValueEnd(b, vstart, 1)
		if vend < 0 {
			return false
		}
		for k, name := range keys {
			if jsonNameIs(key, name) {
				vals[k] = b[vstart:vend]
			}
		}
		if i = skipSpace(b, vend); i >= len(b) {
			return false
		}
		if b[i] == '}' {
			return skipSpace(b, i+1) == len(b)
		}
		if b[i] != ',' {
			return false
		}
		i = skipSpace(b, i+1)
	}
}

// jsonNameIs reports whether a member's name, as written between its
// quotes, is name.
func jsonNameIs(raw []byte, name string) bool {
	for _, c := range raw {
		if c == '\\' {
			var s string
			return json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &s) == nil && s == name
		}
	}
	return string(raw) == name
}

// jsonArrayLen reads the JSON document b, which must be an array or null,
// and returns its length (0 for null).
func jsonArrayLen(b []byte) (int, bool) {
	i := skipSpace(b, 0)
	if i < len(b) && b[i] == 'n' {
		return 0, jsonLiteralEnd(b, i, "null") >= 0 && skipSpace(b, i+4) == len(b)
	}
	if i >= len(b) || b[i] != '[' {
		return 0, false
	}
	// The elements, checked as jsonValueEnd checks an array's.
	if i = skipSpace(b, i+1); i < len(b) && b[i] == ']' {
		return 0, skipSpace(b, i+1) == len(b)
	}
	for n := 1; ; n++ {
		if i = jsonValueEnd(b, i, 1); i < 0 {
			return 0, false
		}
		if i = skipSpace(b, i); i >= len(b) {
			return 0, false
		}
		if b[i] == ']' {
			return n, skipSpace(b, i+1) == len(b)
		}
		if b[i] != ',' {
			return 0, false
		}
		i = skipSpace(b, i+1)
	}
}

// jsonBool decodes a member's raw value into a bool: absent or null leave
// it false.
func jsonBool(raw []byte) (bool, bool) {
	switch string(raw) {
	case "true":
		return true, true
	case "false", "null", "":
		return false, true
	}
	return false, false
}

// jsonString decodes a member's raw value into a string: absent or null
// leave it empty. When the value is one of known, that constant is
// returned, so that the answers a scan usually gets cost no allocation.
func jsonString(raw []byte, known ...string) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	if raw[0] != '"' {
		return "", false
	}
	in := raw[1 : len(raw)-1]
	for _, c := range in {
		if c == '\\' || c >= 0x80 { // escapes, and UTF-8 to check
			var s string
			err := json.Unmarshal(raw, &s)
			return s, err == nil
		}
	}
	for _, k := range known {
		if string(in) == k {
			return k, true
		}
	}
	return string(in), true
}
