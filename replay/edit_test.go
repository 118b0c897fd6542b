package replay

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const doc = `{
  "id": "630fac88",
  "type": "video.process_failed",
  "created": 1661971592,
  "data": {"title": "a", "meta": {"k": "v", "a.b": 1}, "size": 1.50, "tags": ["x", "y"]},
  "items": [{"id": 1}, {"id": 2}],
  "z": null
}`

func TestSetField(t *testing.T) {
	tests := []struct {
		name      string // when the set alone does not say what the case checks
		body, set string
		want      string // "" with err
		err       string
	}{
		// Only the value's bytes change: spacing, key order and number
		// spellings elsewhere stay.
		{body: doc, set: "type=video.process_succeeded", want: strings.Replace(doc, `"video.process_failed"`, `"video.process_succeeded"`, 1)},
		{body: doc, set: "created=42", want: strings.Replace(doc, "1661971592", "42", 1)},
		{body: doc, set: `created="42"`, want: strings.Replace(doc, "1661971592", `"42"`, 1)},
		{body: doc, set: "data.title=New & <improved>", want: strings.Replace(doc, `"title": "a"`, `"title": "New & <improved>"`, 1)},
		{body: doc, set: "data.meta.k=null", want: strings.Replace(doc, `"k": "v"`, `"k": null`, 1)},
		{body: doc, set: `data.meta.a\.b=2`, want: strings.Replace(doc, `"a.b": 1`, `"a.b": 2`, 1)},
		{body: doc, set: "data.tags.1=z", want: strings.Replace(doc, `"y"]`, `"z"]`, 1)},
		{body: doc, set: "items.0.id=7", want: strings.Replace(doc, `{"id": 1}`, `{"id": 7}`, 1)},
		{body: doc, set: `data.meta={"new": [1, 2]}`, want: strings.Replace(doc, `{"k": "v", "a.b": 1}`, `{"new": [1, 2]}`, 1)},
		{body: doc, set: "z=", want: strings.Replace(doc, `"z": null`, `"z": ""`, 1)},
		{body: doc, set: "z= true ", want: strings.Replace(doc, `"z": null`, `"z": true`, 1)},
		{body: doc, set: "data.size=1.50e3", want: strings.Replace(doc, "1.50", "1.50e3", 1)},
		{body: doc, set: "id=a=b", want: strings.Replace(doc, `"630fac88"`, `"a=b"`, 1)},
		// A missing last key is added, spaced like its siblings.
		{body: doc, set: "endpoint_id=ep1", want: strings.Replace(doc, "\"z\": null\n}", "\"z\": null,\n  \"endpoint_id\": \"ep1\"\n}", 1)},
		{body: doc, set: "data.meta.new=1", want: strings.Replace(doc, `"a.b": 1}`, `"a.b": 1, "new": 1}`, 1)},
		{name: "added to a compact object", body: `{"a":1}`, set: "b=2", want: `{"a":1,"b":2}`},
		{name: "added to an empty object", body: `{}`, set: "b=2", want: `{"b":2}`},
		{name: "added to a spaced empty object", body: ` { } `, set: "b=x", want: ` {"b":"x" } `},
		// Duplicate keys: the last one counts, as when the app parses it.
		{name: "duplicate key: the last counts", body: `{"a":1,"a":2}`, set: "a=3", want: `{"a":1,"a":3}`},
		{name: "escaped key", body: `{"a\u0062":1}`, set: "ab=3", want: `{"a\u0062":3}`},
		{name: "after a string with a quote and a backslash", body: `{"s":"with \" quote and \\ slash","n":1}`, set: "n=2", want: `{"s":"with \" quote and \\ slash","n":2}`},
		{name: "arrays at the top", body: `[1,[2,3]]`, set: "1.0=9", want: `[1,[9,3]]`},
		{name: "a number as an object key", body: `{"0":"key"}`, set: "0=k", want: `{"0":"k"}`},
		// Errors.
		{body: doc, set: "data.nope.x=1", err: `data has no member "nope"`},
		{body: doc, set: "data.tags.5=1", err: "data.tags has 2 elements, no index 5"},
		{body: doc, set: "data.tags.x=1", err: `"x" is not an index`},
		{body: doc, set: "data.tags.-1=1", err: "not an index"},
		{body: doc, set: "data.tags.+1=1", err: "not an index"},
		{body: doc, set: "type.x=1", err: "type is a string, not an object or array"},
		{body: doc, set: "z.x=1", err: "z is null"},
		{name: "a number at the top", body: `5`, set: "a=1", err: "the top level is a number"},
		{name: "empty array at the top", body: `[]`, set: "0=1", err: "has 0 elements"},
		{body: doc, set: "no-equals", err: "want path=value"},
		{body: doc, set: "=1", err: "empty path"},
		{body: doc, set: "a..b=1", err: "empty key"},
		{body: doc, set: "a.=1", err: "empty key"},
		{name: "not JSON", body: "not json", set: "a=1", err: "not JSON"},
		{name: "empty body", body: "", set: "a=1", err: "not JSON"},
		{name: "truncated JSON", body: `{"a":1`, set: "a=1", err: "not JSON"},
	}
	for _, tc := range tests {
		t.Run(cmp.Or(tc.name, tc.set), func(t *testing.T) {
			out, err := SetField([]byte(tc.body), tc.set)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("SetField(%.20q, %q) = %s, %v; want error with %q", tc.body, tc.set, out, err, tc.err)
				}
				return
			}
			if err != nil || string(out) != tc.want {
				t.Errorf("SetField(%.20q, %q):\n got %s (%v)\nwant %s", tc.body, tc.set, out, err, tc.want)
			}
			if !json.Valid(out) {
				t.Errorf("SetField(%.20q, %q) made invalid JSON", tc.body, tc.set)
			}
		})
	}
}

func FuzzSetField(f *testing.F) {
	for _, seed := range []struct{ body, set string }{
		{doc, "data.title=x"}, {doc, "items.1.id=[1]"}, {doc, "new=1"}, {`{}`, "a.b=1"},
		{`[{"a":[{}]}]`, "0.a.0.b={}"}, {`{"a":"\u00e9\\\"","b":[]}`, `b.0=""`}, {`"s"`, "a=1"},
		{`{"a" : 1 , "b" :2}`, "c=3"}, {`{"a":{"b":{"c":-1e-5}}}`, `a.b.c=true`},
	} {
		f.Add([]byte(seed.body), seed.set)
	}
	f.Fuzz(func(t *testing.T, body []byte, set string) {
		out, err := SetField(body, set)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("SetField(%q, %q) = %q: not JSON", body, set, out)
		}
		// Setting the same again changes nothing.
		again, err := SetField(out, set)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("SetField twice (%q, %q): %q then %q (%v)", body, set, out, again, err)
		}
		// The value at the path is the one given.
		path, val, _ := strings.Cut(set, "=")
		if strings.Contains(path, `\`) {
			return
		}
		var v any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatal(err)
		}
		for _, k := range strings.Split(path, ".") {
			switch x := v.(type) {
			case map[string]any:
				v = x[k]
			case []any:
				var i int
				for _, c := range k {
					i = i*10 + int(c-'0')
				}
				v = x[i]
			}
		}
		want := any(val)
		if t := strings.TrimSpace(val); t != "" && json.Valid([]byte(t)) {
			json.Unmarshal([]byte(t), &want)
		}
		gotJSON, _ := json.Marshal(v)
		wantJSON, _ := json.Marshal(want)
		if !bytes.Equal(gotJSON, wantJSON) && utf8Valid(val) {
			t.Fatalf("SetField(%q, %q): value at path is %s, want %s", body, set, gotJSON, wantJSON)
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestCheckEdited(t *testing.T) {
	orig := []byte(`{"a": 1}`)
	tests := []struct {
		name, orig, edited string
		want               string
		err                error
		msg                string
	}{
		{name: "changed", orig: `{"a": 1}`, edited: `{"a": 2}`, want: `{"a": 2}`},
		{name: "changed, editor added a newline", orig: `{"a": 1}`, edited: "{\"a\": 2}\n", want: `{"a": 2}`},
		{name: "newline kept when the original had one", orig: "{\"a\": 1}\n", edited: "{\"a\": 2}\n", want: "{\"a\": 2}\n"},
		{name: "unchanged", orig: `{"a": 1}`, edited: `{"a": 1}`, want: `{"a": 1}`, err: ErrUnchanged},
		{name: "unchanged but for the editor's newline", orig: `{"a": 1}`, edited: "{\"a\": 1}\r\n", want: `{"a": 1}`, err: ErrUnchanged},
		{name: "empty", orig: `{"a": 1}`, edited: "", err: ErrEmptyEdit},
		{name: "white space", orig: `{"a": 1}`, edited: " \n\t\n", err: ErrEmptyEdit},
		{name: "invalid JSON", orig: `{"a": 1}`, edited: "{\n  \"a\": 1,\n  }\n", msg: "line 3, column 3"},
		{name: "trailing garbage", orig: `{"a": 1}`, edited: `{"a": 1} x`, msg: "line 1, column 10"},
		{name: "cut short", orig: `{"a": 1}`, edited: "{\"a\": ", msg: "not valid JSON"},
		{name: "not JSON before, anything goes", orig: "hello", edited: "{not json", want: "{not json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CheckEdited([]byte(tc.orig), []byte(tc.edited))
			if tc.msg != "" {
				var je *JSONError
				if !errors.As(err, &je) || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("err %v, want a *JSONError with %q", err, tc.msg)
				}
				return
			}
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if string(got) != tc.want {
				t.Errorf("body %q, want %q", got, tc.want)
			}
		})
	}
	_ = orig
}

func TestEditInEditor(t *testing.T) {
	dir := t.TempDir()
	// The editor records how it was called and the file's mode, then
	// replaces "1" with "2".
	script := filepath.Join(dir, "my editor.sh")
	err := os.WriteFile(script, []byte(`#!/bin/sh
echo "$@" > "$LOG"
stat -c %a "$2" >> "$LOG"
sed -i 's/1/2/' "$2"
`), 0o700)
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "log")
	t.Setenv("LOG", log)
	out, err := EditInEditor(ctx, `'`+script+`' --wait`, []byte(`{"a": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"a": 2}` {
		t.Errorf("edited %q", out)
	}
	logged, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimSpace(string(logged)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "--wait ") || !strings.HasSuffix(lines[0], ".json") || lines[1] != "600" {
		t.Errorf("editor saw %q", logged)
	}
	file := strings.TrimPrefix(lines[0], "--wait ")
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("temp file %s left behind (%v)", file, err)
	}

	if _, err := EditInEditor(ctx, "false", []byte("x")); err == nil || !strings.Contains(err.Error(), "nothing was replayed") {
		t.Errorf("failing editor: %v", err)
	}
	if _, err := EditInEditor(ctx, "  ", []byte("x")); err == nil || !strings.Contains(err.Error(), "$EDITOR") {
		t.Errorf("no editor: %v", err)
	}
}

func TestSplitCommand(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"one word", "vim", []string{"vim"}},
		{"a flag", "code --wait", []string{"code", "--wait"}},
		{"extra spaces", "  subl  -n   -w ", []string{"subl", "-n", "-w"}},
		{"double quotes", `"/Applications/My Editor" -w`, []string{"/Applications/My Editor", "-w"}},
		{"single quotes and escapes", `'it''s' a\ b "q\"x\\"`, []string{"its", "a b", `q"x\`}},
		{"empty quoted word", `emacs -nw ''`, []string{"emacs", "-nw", ""}},
		{"empty", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := splitCommand(tc.in)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("splitCommand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
	if _, err := splitCommand(`vim "unterminated`); err == nil {
		t.Error("unterminated quote accepted")
	}
}
