package jsonscan

import (
	"encoding/json"
	"testing"
)

var names = NewNames("id", "type", "created")

func TestMembers(t *testing.T) {
	cases := []struct {
		in   string
		want Result
		vals []string // of names, when OK
	}{
		{`{"id":"a","type":"t","created":1,"data":{"id":"inner"}}`, OK, []string{`"a"`, `"t"`, `1`}},
		{"{\n\"type\" : [1, {\"x\":null}] } \n", OK, []string{"", `[1, {"x":null}]`, ""}},
		{`{"id":"a","id":"b"}`, OK, []string{`"b"`, "", ""}}, // the last one, as encoding/json
		{`{}`, OK, []string{"", "", ""}},
		{`{"ID":"a"}`, Fallback, nil}, // encoding/json folds case
		{`{"tYPE":"a","data":1}`, Fallback, nil},
		{`{"i\u0064":"a"}`, Fallback, nil}, // escaped name
		{`{"idé":"a"}`, Fallback, nil},     // non-ASCII name
		{`{"id":"a",}`, Invalid, nil},
		{`{"id":"a"} x`, Invalid, nil},
	}
	for _, tc := range cases {
		vals := make([]json.RawMessage, names.Len())
		got := Members([]byte(tc.in), names, vals)
		if got != tc.want {
			t.Errorf("Members(%q) = %v, want %v", tc.in, got, tc.want)
			continue
		}
		for i, w := range tc.vals {
			if string(vals[i]) != w {
				t.Errorf("Members(%q): member %d = %q, want %q", tc.in, i, vals[i], w)
			}
		}
	}
}

func TestMembersAllocatesNothing(t *testing.T) {
	in := []byte(`{"id":"a","type":"t","created":1,"data":{"id":"inner","list":[1,2,3]}}`)
	vals := make([]json.RawMessage, names.Len())
	if n := testing.AllocsPerRun(100, func() { Members(in, names, vals) }); n != 0 {
		t.Errorf("Members allocates %v times", n)
	}
}

// The fast scanner must judge validity exactly as encoding/json does.
func TestHeadScanValidity(t *testing.T) {
	inputs := []string{
		`{}`, `{ }`, `{"a":1}`, `{"a":[1,2,{"b":null}],"c":{"d":[]}}`, `{"a":"\u00e9\n"}`,
		`{"a":1,}`, `{"a" 1}`, `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":tru}`, `{"a":[1,]}`,
		`{"a":"\x"}`, "{\"a\":\"\x01\"}", `{"a":"\u12"}`, `{"a":1} x`, `{"a":{"b":1]}`, `{"a":[}`, `{"a":1`, `{`,
		`{"id":"a","type":"t","x":-0.5e+10,"y":[true,false,null]}`,
	}
	for _, in := range inputs {
		got := Members([]byte(in), names, make([]json.RawMessage, names.Len()))
		valid := json.Valid([]byte(in))
		if got == Fallback {
			continue
		}
		if (got == OK) != valid {
			t.Errorf("Members(%q) = %v, json.Valid = %v", in, got, valid)
		}
	}
}

func FuzzHeadScanValidity(f *testing.F) {
	f.Add([]byte(`{"id":"a","type":"t","data":{"x":[1,2.5e3,"s\u00e9"]}}`))
	f.Add([]byte(`{"a":[{"b":{}}],"c":-0}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 || b[0] != '{' {
			return
		}
		got := Members(b, names, make([]json.RawMessage, names.Len()))
		if got != Fallback && (got == OK) != json.Valid(b) {
			t.Fatalf("Members(%q) = %v, json.Valid = %v", b, got, json.Valid(b))
		}
	})
}
