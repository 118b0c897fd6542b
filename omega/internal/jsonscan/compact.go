package jsonscan

import (
	"encoding/binary"
	"encoding/json"
)

// AppendCompact appends the event body b to dst as one line of JSON,
// exactly as encoding/json writes a json.RawMessage (compact, with <, >,
// &, U+2028 and U+2029 escaped), and reports whether b is JSON at all
// (if not, dst is returned as it was).
//
// The listener's JSON lines carry every delivery's event, and
// encoding/json checking and compacting a 4 KB body cost more than all the
// rest of the line. the validating pass of Members decides; the
// copy that follows knows the body is valid JSON, so it only tracks
// whether it is inside a string.
func AppendCompact(dst, b []byte) ([]byte, bool) {
	i := skipWS(b, 0)
	end, r := skipValue(b, i)
	if r == OK && skipWS(b, end) != len(b) {
		r = Invalid
	}
	switch r {
	case Invalid:
		return dst, false
	case Fallback:
		data, err := json.Marshal(json.RawMessage(b))
		if err != nil {
			return dst, false
		}
		return append(dst, data...), true
	}
	start, inString := i, false
	for k := i; k < end; k++ {
		if inString {
			for k+8 <= end {
				w := binary.LittleEndian.Uint64(b[k:])
				if hasByte(w, '"')|hasByte(w, '\\')|hasByte(w, '<')|hasByte(w, '>')|hasByte(w, '&')|hasByte(w, 0xE2) != 0 {
					break
				}
				k += 8
			}
			for k < end && plainInString[b[k]] {
				k++
			}
			if k == end {
				break
			}
		}
		c := b[k]
		if !inString {
			switch c {
			case '"':
				inString = true
			case ' ', '\t', '\n', '\r':
				dst = append(dst, b[start:k]...)
				start = k + 1
			}
			continue
		}
		switch {
		case c == '\\':
			k++ // the escaped character; \u's digits are plain
		case c == '"':
			inString = false
		case c == '<' || c == '>' || c == '&':
			dst = append(dst, b[start:k]...)
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			start = k + 1
		case c == 0xE2 && k+2 < end && b[k+1] == 0x80 && b[k+2]&^1 == 0xA8:
			dst = append(dst, b[start:k]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[b[k+2]&0xF])
			k += 2
			start = k + 1
		}
	}
	return append(dst, b[start:end]...), true
}

const hexDigits = "0123456789abcdef"

// plainInString: bytes the copy passes over inside a string.
var plainInString = func() (t [256]bool) {
	for c := range t {
		t[c] = true
	}
	for _, c := range []byte{'"', '\\', '<', '>', '&', 0xE2} {
		t[c] = false
	}
	return t
}()
