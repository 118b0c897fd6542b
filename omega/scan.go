package omega

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"unicode/utf8"
)

// The receiver inspects every delivery, and encoding/json spent more time
// on a 4 KB envelope than forwarding it took. headScan reads the few
// top-level members the head needs in one validating pass and skips the
// rest. Anything it is not sure to read exactly as encoding/json would
// (escaped or non-ASCII member names, case-folded names, deep nesting) is
// left to the slow path, so both give the same answer; a fuzz test holds
// them to it.

// scanMaxDepth mirrors encoding/json's nesting limit.
const scanMaxDepth = 10000

type scanResult int

const (
	scanOK       scanResult = iota
	scanInvalid             // not valid JSON
	scanFallback            // valid or not, leave it to encoding/json
)

// headScan fills h from the object t (which starts with '{').
func headScan(t []byte, h *rawHead) scanResult {
	i := 1
	i = skipWS(t, i)
	if i < len(t) && t[i] == '}' {
		i++
		return endOfInput(t, i)
	}
	for {
		if i >= len(t) || t[i] != '"' {
			return scanInvalid
		}
		kStart := i + 1
		end, escaped, ascii := scanString(t, i)
		if end < 0 {
			return scanInvalid
		}
		key := t[kStart : end-1]
		i = skipWS(t, end)
		if i >= len(t) || t[i] != ':' {
			return scanInvalid
		}
		i = skipWS(t, i+1)
		vStart := i
		j, r := skipValue(t, i)
		if r != scanOK {
			return r
		}
		if escaped || !ascii {
			return scanFallback
		}
		if dst := headField(h, key); dst == nil {
			if foldsToHeadField(key) {
				return scanFallback
			}
		} else {
			*dst = t[vStart:j]
		}
		i = skipWS(t, j)
		if i >= len(t) {
			return scanInvalid
		}
		switch t[i] {
		case ',':
			i = skipWS(t, i+1)
		case '}':
			return endOfInput(t, i+1)
		default:
			return scanInvalid
		}
	}
}

func endOfInput(t []byte, i int) scanResult {
	if skipWS(t, i) != len(t) {
		return scanInvalid
	}
	return scanOK
}

var headNames = []string{"id", "coid", "ocid", "api_version", "created", "type", "endpoint_id"}

func headField(h *rawHead, key []byte) *json.RawMessage {
	switch string(key) {
	case "id":
		return &h.ID
	case "coid":
		return &h.COID
	case "ocid":
		return &h.OCID
	case "api_version":
		return &h.APIVersion
	case "created":
		return &h.Created
	case "type":
		return &h.Type
	case "endpoint_id":
		return &h.EndpointID
	}
	return nil
}

// foldsToHeadField: encoding/json would match key to one of our members
// case-insensitively.
func foldsToHeadField(key []byte) bool {
	for _, n := range headNames {
		if bytes.EqualFold(key, []byte(n)) {
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
func skipValue(t []byte, i int) (int, scanResult) {
	var stackBuf [32]byte
	stack := stackBuf[:0] // '{' or '[' for each open container
	for {
		// One value starts at t[i].
		if i >= len(t) {
			return i, scanInvalid
		}
		switch c := t[i]; {
		case c == '"':
			end, _, _ := scanString(t, i)
			if end < 0 {
				return i, scanInvalid
			}
			i = end
		case c == '{' || c == '[':
			if len(stack) >= scanMaxDepth {
				return i, scanFallback
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
					return i, scanInvalid
				}
			}
			continue
		case c == '-' || c >= '0' && c <= '9':
			end := scanNumber(t, i)
			if end < 0 {
				return i, scanInvalid
			}
			i = end
		case c == 't':
			if !bytes.HasPrefix(t[i:], []byte("true")) {
				return i, scanInvalid
			}
			i += 4
		case c == 'f':
			if !bytes.HasPrefix(t[i:], []byte("false")) {
				return i, scanInvalid
			}
			i += 5
		case c == 'n':
			if !bytes.HasPrefix(t[i:], []byte("null")) {
				return i, scanInvalid
			}
			i += 4
		default:
			return i, scanInvalid
		}
		// After a value: close containers, or go on to the next element.
		for {
			if len(stack) == 0 {
				return i, scanOK
			}
			i = skipWS(t, i)
			if i >= len(t) {
				return i, scanInvalid
			}
			top := stack[len(stack)-1]
			if t[i] == closer(top) {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if t[i] != ',' {
				return i, scanInvalid
			}
			i = skipWS(t, i+1)
			if top == '{' {
				var ok bool
				if i, ok = skipMemberName(t, i); !ok {
					return i, scanInvalid
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
