// Package jsonscan reads a few top-level members of a JSON object in one
// validating pass, without decoding the rest: the receiver inspects every
// delivery, and encoding/json spent more time on a 4 KB envelope than
// forwarding it took.
//
// Its one promise is to agree with encoding/json. When Members returns OK,
// the input is valid JSON (json.Valid would say so) and each value it
// stored is the raw member encoding/json would give a json.RawMessage
// field of that name (the last one when a name repeats). When it returns
// Invalid, json.Valid would say false. Anything it is not sure to read
// exactly as encoding/json would (escaped or non-ASCII member names, a
// name that matches one asked for only case-insensitively, nesting deeper
// than encoding/json allows) gives Fallback: the caller then decodes with
// encoding/json, which decides and words the error. Fuzz tests hold it to
// this.
//
// It allocates nothing: the stored values alias the input.
package jsonscan

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"unicode/utf8"
)

// maxDepth mirrors encoding/json's nesting limit.
const maxDepth = 10000

// Result is what Members made of its input.
type Result int

const (
	OK       Result = iota // valid JSON, values stored
	Invalid                // not valid JSON
	Fallback               // valid or not, leave it to encoding/json
)

// Names is the list of member names Members looks for. Make it once, with
// NewNames; it is read-only after.
type Names struct {
	list  []string
	byLen [][]int // indices into list, by name length
}

// NewNames prepares names (ASCII, as JSON member names the caller's
// struct tags spell) for Members. It panics on a name that is not ASCII.
func NewNames(names ...string) *Names {
	n := &Names{list: names}
	for i, name := range names {
		for j := 0; j < len(name); j++ {
			if name[j] >= utf8.RuneSelf {
				panic("jsonscan: member name " + name + " is not ASCII")
			}
		}
		for len(n.byLen) <= len(name) {
			n.byLen = append(n.byLen, nil)
		}
		n.byLen[len(name)] = append(n.byLen[len(name)], i)
	}
	return n
}

// Len is how many names there are.
func (n *Names) Len() int { return len(n.list) }

// Members scans the JSON object t, which starts with '{' (leading
// whitespace already skipped; trailing whitespace is allowed), and stores in
// vals[i] the raw value of the top-level member named by the i-th of names,
// matched exactly; members not asked for are checked and skipped. vals must
// be at least names.Len() long; values of names not present are left
// alone. On Invalid or Fallback, vals may hold some values already: discard
// them.
func Members(t []byte, names *Names, vals []json.RawMessage) Result {
	i := 1
	i = skipWS(t, i)
	if i < len(t) && t[i] == '}' {
		i++
		return endOfInput(t, i)
	}
	for {
		if i >= len(t) || t[i] != '"' {
			return Invalid
		}
		kStart := i + 1
		end, escaped, ascii := scanString(t, i)
		if end < 0 {
			return Invalid
		}
		key := t[kStart : end-1]
		i = skipWS(t, end)
		if i >= len(t) || t[i] != ':' {
			return Invalid
		}
		i = skipWS(t, i+1)
		vStart := i
		j, r := skipValue(t, i)
		if r != OK {
			return r
		}
		if escaped || !ascii {
			return Fallback
		}
		if k := index(names, key); k >= 0 {
			vals[k] = t[vStart:j]
		} else if folds(names, key) {
			return Fallback
		}
		i = skipWS(t, j)
		if i >= len(t) {
			return Invalid
		}
		switch t[i] {
		case ',':
			i = skipWS(t, i+1)
		case '}':
			return endOfInput(t, i+1)
		default:
			return Invalid
		}
	}
}

func endOfInput(t []byte, i int) Result {
	if skipWS(t, i) != len(t) {
		return Invalid
	}
	return OK
}

// index returns the position of key in names, or -1.
func index(names *Names, key []byte) int {
	if len(key) >= len(names.byLen) {
		return -1
	}
	for _, i := range names.byLen[len(key)] {
		if n := names.list[i]; len(n) == 0 || n[0] == key[0] && string(key[1:]) == n[1:] {
			return i
		}
	}
	return -1
}

// folds: encoding/json would match key to one of names case-insensitively.
// key is ASCII (Members leaves other keys to encoding/json), and so are the
// names, so only names of key's length can match.
func folds(names *Names, key []byte) bool {
	if len(key) >= len(names.byLen) {
		return false
	}
	for _, i := range names.byLen[len(key)] {
		if bytes.EqualFold(key, []byte(names.list[i])) {
			return true
		}
	}
	return false
}

func skipWS(t []byte, i int) int {
	for i < len(t) {
		switch t[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString checks the string starting at t[i] == '"' and returns the
// index after its closing quote (-1 if invalid), whether it holds escapes,
// and whether it is all ASCII.
func scanString(t []byte, i int) (end int, escaped, ascii bool) {
	var or byte    // the plain bytes or'd together: all ASCII unless the top bit is set
	var orw uint64 // the same, 8 at a time
	i++
	for i < len(t) {
		for i+8 <= len(t) {
			w := binary.LittleEndian.Uint64(t[i:])
			if hasByte(w, '"')|hasByte(w, '\\')|hasLess(w, 0x20) != 0 {
				break
			}
			orw |= w
			i += 8
		}
		for i < len(t) && plainStringByte[t[i]] {
			or |= t[i]
			i++
		}
		if i == len(t) {
			break
		}
		switch t[i] {
		case '"':
			return i + 1, escaped, or < utf8.RuneSelf && orw&hiBits == 0
		case '\\':
			escaped = true
			if i+1 >= len(t) {
				return -1, false, false
			}
			switch t[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(t) {
					return -1, false, false
				}
				for _, h := range t[i+2 : i+6] {
					if !isHex(h) {
						return -1, false, false
					}
				}
				i += 6
			default:
				return -1, false, false
			}
		default: // a control character
			return -1, false, false
		}
	}
	return -1, false, false
}

// Strings are most of an event, so scanString (and AppendCompact's copy)
// pass over 8 plain bytes at a time; these find a byte that needs a look
// in a word of 8 (they can be wrong about which byte, never about whether
// there is one).
const (
	loBits = 0x0101010101010101
	hiBits = 0x8080808080808080
)

// hasByte is nonzero if a byte of w is c.
func hasByte(w uint64, c byte) uint64 {
	x := w ^ (loBits * uint64(c))
	return (x - loBits) &^ x & hiBits
}

// hasLess is nonzero if a byte of w is less than n (n <= 128).
func hasLess(w uint64, n byte) uint64 {
	return (w - loBits*uint64(n)) &^ w & hiBits
}

// plainStringByte: bytes that stand for themselves inside a string.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// skipValue checks the value starting at t[i] and returns the index after it.
func skipValue(t []byte, i int) (int, Result) {
	var stackBuf [32]byte
	stack := stackBuf[:0] // '{' or '[' for each open container
	for {
		// One value starts at t[i].
		if i >= len(t) {
			return i, Invalid
		}
		switch c := t[i]; {
		case c == '"':
			end, _, _ := scanString(t, i)
			if end < 0 {
				return i, Invalid
			}
			i = end
		case c == '{' || c == '[':
			if len(stack) >= maxDepth {
				return i, Fallback
			}
			stack = append(stack, c)
			i = skipWS(t, i+1)
			if i < len(t) && t[i] == closer(c) {
				stack = stack[:len(stack)-1]
				i++
				break
			}
			if c == '{' {
				var ok bool
				if i, ok = skipMemberName(t, i); !ok {
					return i, Invalid
				}
			}
			continue
		case c == '-' || c >= '0' && c <= '9':
			end := scanNumber(t, i)
			if end < 0 {
				return i, Invalid
			}
			i = end
		case c == 't':
			if !bytes.HasPrefix(t[i:], []byte("true")) {
				return i, Invalid
			}
			i += 4
		case c == 'f':
			if !bytes.HasPrefix(t[i:], []byte("false")) {
				return i, Invalid
			}
			i += 5
		case c == 'n':
			if !bytes.HasPrefix(t[i:], []byte("null")) {
				return i, Invalid
			}
			i += 4
		default:
			return i, Invalid
		}
		// After a value: close containers, or go on to the next element.
		for {
			if len(stack) == 0 {
				return i, OK
			}
			i = skipWS(t, i)
			if i >= len(t) {
				return i, Invalid
			}
			top := stack[len(stack)-1]
			if t[i] == closer(top) {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if t[i] != ',' {
				return i, Invalid
			}
			i = skipWS(t, i+1)
			if top == '{' {
				var ok bool
				if i, ok = skipMemberName(t, i); !ok {
					return i, Invalid
				}
			}
			break
		}
	}
}

func closer(open byte) byte {
	if open == '{' {
		return '}'
	}
	return ']'
}

// skipMemberName checks `"name" :` at t[i] and returns where the value starts.
func skipMemberName(t []byte, i int) (int, bool) {
	if i >= len(t) || t[i] != '"' {
		return i, false
	}
	end, _, _ := scanString(t, i)
	if end < 0 {
		return i, false
	}
	i = skipWS(t, end)
	if i >= len(t) || t[i] != ':' {
		return i, false
	}
	return skipWS(t, i+1), true
}

// scanNumber checks a JSON number at t[i] and returns the index after it.
func scanNumber(t []byte, i int) int {
	if t[i] == '-' {
		i++
	}
	switch {
	case i < len(t) && t[i] == '0':
		i++
	case i < len(t) && t[i] >= '1' && t[i] <= '9':
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
	default:
		return -1
	}
	if i < len(t) && t[i] == '.' {
		i++
		start := i
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
		if i == start {
			return -1
		}
	}
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		i++
		if i < len(t) && (t[i] == '+' || t[i] == '-') {
			i++
		}
		start := i
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
		if i == start {
			return -1
		}
	}
	return i
}
