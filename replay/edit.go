package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"unicode/utf8"
)

var (
	// ErrEmptyEdit: the edited body is empty or only white space, which
	// means "abort", as an empty commit message does for git.
	ErrEmptyEdit = errors.New("the edited body is empty: replay aborted")
	// ErrUnchanged is returned by CheckEdited, with the original body,
	// when the edit changed nothing; the caller may send it anyway.
	ErrUnchanged = errors.New("the body was not changed")
)

// JSONError says where an edited body stopped being JSON.
type JSONError struct {
	Line, Column int // 1-based
	Err          error
}

func (e *JSONError) Error() string {
	return fmt.Sprintf("the edited body is not valid JSON (the original was): line %d, column %d: %v", e.Line, e.Column, e.Err)
}

func (e *JSONError) Unwrap() error { return e.Err }

// CheckEdited checks an edited body against the original. An empty (or
// all white space) edit is ErrEmptyEdit. An edit that only added a final
// newline the original did not have (editors do) is the original. An
// unchanged body is returned with ErrUnchanged. If the original was JSON
// the edit must be too, or the error is a *JSONError.
func CheckEdited(orig, edited []byte) ([]byte, error) {
	if len(bytes.TrimSpace(edited)) == 0 {
		return nil, ErrEmptyEdit
	}
	if !bytes.HasSuffix(orig, []byte("\n")) {
		edited = bytes.TrimSuffix(edited, []byte("\n"))
		edited = bytes.TrimSuffix(edited, []byte("\r"))
	}
	if bytes.Equal(orig, edited) {
		return orig, ErrUnchanged
	}
	if json.Valid(orig) {
		if err := json.Unmarshal(edited, new(json.RawMessage)); err != nil {
			return nil, jsonError(edited, err)
		}
	}
	return edited, nil
}

// jsonError places a JSON decoding error in b by line and column.
func jsonError(b []byte, err error) error {
	off := int64(len(b))
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = se.Offset
	}
	// Offset is just past the offending byte.
	off = max(0, min(off-1, int64(len(b))))
	line, col := lineCol(b, int(off))
	return &JSONError{Line: line, Column: col, Err: err}
}

func lineCol(b []byte, off int) (line, col int) {
	before := b[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	if i := bytes.LastIndexByte(before, '\n'); i >= 0 {
		before = before[i+1:]
	}
	return line, utf8.RuneCount(before) + 1
}

// EditInEditor lets the user edit body in editor (a command line such as
// "vim" or "code --wait", split into words like a shell would, quotes
// honoured) and returns what they saved. The body is in a 0600 temporary
// file, removed afterwards; the editor runs on this process's terminal.
// Check the result with CheckEdited.
func EditInEditor(ctx context.Context, editor string, body []byte) ([]byte, error) {
	args, err := editorArgs(editor)
	if err != nil {
		return nil, err // before a file is written
	}
	pattern := "omega-listen-replay-*.txt"
	if json.Valid(body) {
		pattern = "omega-listen-replay-*.json" // so the editor highlights it
	}
	f, err := os.CreateTemp("", pattern)
	if err != nil {
		return nil, fmt.Errorf("creating a file to edit: %w", err)
	}
	path := f.Name()
	defer os.Remove(path)
	_, werr := f.Write(body)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("writing %s to edit: %w", path, werr)
	}
	// CreateTemp makes 0600 files; say so in case the umask or platform
	// differ, since the body may hold personal data.
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("securing %s: %w", path, err)
	}
	cmd := exec.CommandContext(ctx, args[0], append(args[1:], path)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("editor %q failed, so nothing was replayed: %w", editor, err)
	}
	out, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading back %s: %w", path, err)
	}
	return out, nil
}

// EditorCommand is the command that opens path in editor, a $VISUAL or
// $EDITOR setting that may carry arguments ("code --wait") split as
// splitCommand says. The screen's `e` key runs the same command.
func EditorCommand(ctx context.Context, editor, path string) (*exec.Cmd, error) {
	args, err := editorArgs(editor)
	if err != nil {
		return nil, err
	}
	return exec.CommandContext(ctx, args[0], append(args[1:], path)...), nil
}

func editorArgs(editor string) ([]string, error) {
	args, err := splitCommand(editor)
	if err != nil {
		return nil, fmt.Errorf("editor %q: %w", editor, err)
	}
	if len(args) == 0 {
		return nil, errors.New("no editor: set $VISUAL or $EDITOR (e.g. EDITOR=vim, or EDITOR=\"code --wait\")")
	}
	return args, nil
}

// splitCommand splits a command line into words: blanks separate them,
// single quotes keep everything, double quotes keep all but \" and \\, and
// a backslash outside quotes escapes the next character.
func splitCommand(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool // inside a word
		quote byte
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case quote == '"':
			switch {
			case c == '"':
				quote = 0
			case c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
				i++
				cur.WriteByte(s[i])
			default:
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			in = true
		case c == ' ' || c == '\t' || c == '\n':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, errors.New("unterminated quote")
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// SetField sets one member of a JSON body: assignment is "path=value",
// where path is dotted (items.0.id indexes an array; \. is a literal dot
// in a key) and value is used as JSON if it is valid JSON, else as a
// string. Only the value's bytes change: the rest of the document, key
// order and spacing included, is kept as it was. A missing last key is
// added to its object; a missing key or index on the way is an error, as
// is a body that is not JSON.
func SetField(body []byte, assignment string) ([]byte, error) {
	rawPath, value, ok := strings.Cut(assignment, "=")
	if !ok {
		return nil, fmt.Errorf("set %q: want path=value, e.g. data.title=\"New title\"", assignment)
	}
	path, err := splitPath(rawPath)
	if err != nil {
		return nil, fmt.Errorf("set %q: %w", assignment, err)
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("set %q: the body is not JSON, so it has no fields to set", assignment)
	}
	newVal := encodeValue(value)

	start := skipWS(body, 0)
	for depth, key := range path {
		where := strings.Join(path[:depth], ".")
		if where == "" {
			where = "the top level"
		}
		switch body[start] {
		case '{':
			m, err := findMember(body, start, key)
			if err != nil {
				return nil, err
			}
			if m.valStart >= 0 {
				start = m.valStart
				continue
			}
			if depth < len(path)-1 {
				return nil, fmt.Errorf("set %q: %s has no member %q", assignment, where, key)
			}
			return insertMember(body, m, key, newVal), nil
		case '[':
			idx, err := strconv.Atoi(key)
			if err != nil || idx < 0 || strings.TrimLeft(key, "0123456789") != "" {
				return nil, fmt.Errorf("set %q: %s is an array: %q is not an index", assignment, where, key)
			}
			el, n := findElement(body, start, idx)
			if el < 0 {
				return nil, fmt.Errorf("set %q: %s has %d elements, no index %d", assignment, where, n, idx)
			}
			start = el
		default:
			return nil, fmt.Errorf("set %q: %s is %s, not an object or array", assignment, where, jsonKind(body[start]))
		}
	}
	end := valueEnd(body, start)
	out := make([]byte, 0, len(body)-(end-start)+len(newVal))
	out = append(out, body[:start]...)
	out = append(out, newVal...)
	return append(out, body[end:]...), nil
}

// splitPath splits a dotted path, honouring \. and \\.
func splitPath(p string) ([]string, error) {
	if p == "" {
		return nil, errors.New("empty path")
	}
	if !utf8.ValidString(p) {
		return nil, errors.New("the path is not valid UTF-8")
	}
	var (
		out []string
		cur strings.Builder
	)
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\' && i+1 < len(p) && (p[i+1] == '.' || p[i+1] == '\\'):
			i++
			cur.WriteByte(p[i])
		case c == '.':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	out = append(out, cur.String())
	for _, k := range out {
		if k == "" {
			return nil, fmt.Errorf("path %q has an empty key", p)
		}
	}
	return out, nil
}

// encodeValue is v as JSON if it is JSON, else as a JSON string (without
// the HTML escaping json.Marshal does, so it reads as typed).
func encodeValue(v string) []byte {
	if t := bytes.TrimSpace([]byte(v)); len(t) > 0 && json.Valid(t) {
		return t
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // a string always encodes
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// The scanner below walks a document json.Valid accepted, so it does not
// check syntax again.

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the index just past the value starting at i.
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = stringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default: // number, true, false, null
		for i < len(b) && !strings.ContainsRune(",]} \t\r\n", rune(b[i])) {
			i++
		}
		return i
	}
}

// stringEnd returns the index just past the string starting at i.
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

// member is where a key was (or would go) in an object.
type member struct {
	valStart int // start of the value of the last member named key; -1 if none
	// Where a new member goes, and how the object spaces its members.
	lastEnd int    // end of the last member's value; -1 if the object is empty
	open    int    // index of '{'
	indent  []byte // white space before the first key
	colon   []byte // from the first key's end to its value, e.g. ": "
}

// findMember finds key in the object starting at i. Of duplicate keys the
// last wins, as with encoding/json and JavaScript.
func findMember(b []byte, i int, key string) (member, error) {
	m := member{valStart: -1, lastEnd: -1, open: i}
	i = skipWS(b, i+1)
	m.indent = b[m.open+1 : i]
	if b[i] == '}' {
		m.indent = nil
		return m, nil
	}
	first := true
	for {
		ks := i
		ke := stringEnd(b, ks)
		var k string
		if err := json.Unmarshal(b[ks:ke], &k); err != nil {
			return m, fmt.Errorf("reading key at byte %d: %w", ks, err)
		}
		i = skipWS(b, ke) // at ':'
		vs := skipWS(b, i+1)
		if first {
			m.colon = b[ke:vs]
			first = false
		}
		ve := valueEnd(b, vs)
		if k == key {
			m.valStart = vs
		}
		m.lastEnd = ve
		i = skipWS(b, ve)
		if b[i] == '}' {
			return m, nil
		}
		i = skipWS(b, i+1) // past ','
	}
}

// insertMember adds "key": val to the object m describes, spaced like its
// other members.
func insertMember(b []byte, m member, key string, val []byte) []byte {
	k, _ := json.Marshal(key)
	var add []byte
	at := m.open + 1
	if m.lastEnd < 0 {
		add = append(append(k, ':'), val...)
	} else {
		at = m.lastEnd
		add = append([]byte{','}, m.indent...)
		if len(m.indent) == 0 && len(m.colon) > 1 {
			add = append(add, ' ') // {"a": 1} gets , "b": 2
		}
		add = append(add, k...)
		add = append(add, m.colon...)
		add = append(add, val...)
	}
	out := make([]byte, 0, len(b)+len(add))
	out = append(out, b[:at]...)
	out = append(out, add...)
	return append(out, b[at:]...)
}

// findElement returns the start of element idx of the array at i, or -1
// and the array's length.
func findElement(b []byte, i, idx int) (start, n int) {
	i = skipWS(b, i+1)
	if b[i] == ']' {
		return -1, 0
	}
	for {
		if n == idx {
			return i, n
		}
		n++
		i = skipWS(b, valueEnd(b, i))
		if b[i] == ']' {
			return -1, n
		}
		i = skipWS(b, i+1)
	}
}

func jsonKind(c byte) string {
	switch c {
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}
