package jsonscan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// compactSeeds cover what the copy treats specially: whitespace inside and
// outside strings, escapes (an escaped quote or backslash must not end or
// start a string), HTML characters, U+2028/U+2029, non-ASCII, invalid
// UTF-8, nesting past the scanner's own depth, and bodies that are not JSON.
var compactSeeds = []string{
	`{"id":"evt_1","type":"video.process_succeeded","data":{"x":[1,2.5e3,"s\u00e9"]}}`,
	" {\n  \"a\" : [ 1 , \"b c\" , {\"d\":\"\\\"} \\\\\"} ] ,\t\"e\":null}\r\n",
	`{"html":"<a href=\"x\">&</a>","ls":"` + "\u2028\u2029\u2027\u202a" + `"}`,
	`"just a string"`, ` 42 `, `[true,false,null]`, `{}`, `[]`,
	"{\"bad\":\"\xff\xfe\"}",
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	``, ` `, `{`, `{"a":1,}`, `{"a":1} x`, `{"a":"` + "\t" + `"}`, `nul`, `"\u12"`,
	"{\"a\":\"\xe2\x80\"}", "\"\xe2\"",
	// Long strings: the scanners pass 8 plain bytes at a time, so what
	// needs a look sits at every offset of a word.
	`{"k":"0123456789abcdef\"<>&` + "\u2028" + `\\ 0123456789","n":"` + "\u00e9" + strings.Repeat("x", 20) + `"}`,
	`["01234567<89abcdef","0123456>","012345&","01234\"","0123\\","012` + "\u2029" + `"]`,
	"\"0123456789\x01abcdef\"", "\"01234567\x1f\"", "\"0123456789abcdef\xff\xfe0123456789\"",
}

func TestAppendCompactMatchesEncodingJSON(t *testing.T) {
	for _, s := range compactSeeds {
		checkCompact(t, []byte(s))
	}
}

func FuzzAppendCompact(f *testing.F) {
	for _, s := range compactSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkCompact)
}

// checkCompact: AppendCompact says what encoding/json says, byte for byte,
// and leaves dst's own bytes alone.
func checkCompact(t *testing.T, b []byte) {
	t.Helper()
	want, err := json.Marshal(json.RawMessage(b))
	got, ok := AppendCompact([]byte("prefix"), b)
	if ok != (err == nil) {
		t.Fatalf("AppendCompact(%q) ok = %v; encoding/json: %v", b, ok, err)
	}
	if !bytes.HasPrefix(got, []byte("prefix")) {
		t.Fatalf("AppendCompact(%q) lost dst: %q", b, got)
	}
	got = got[len("prefix"):]
	if !ok {
		if len(got) != 0 {
			t.Fatalf("AppendCompact(%q) = %q, false: appended to dst", b, got)
		}
		return
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendCompact(%q)\n got %q\nwant %q", b, got, want)
	}
}
