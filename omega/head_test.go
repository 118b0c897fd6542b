package omega

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// The head parser must agree with the full parser on everything but data.
func TestParseEnvelopeHeadAgrees(t *testing.T) {
	inputs := []string{
		`{"id":"a","type":"video.deleted","coid":"c","api_version":"v1","created":1661971592,"endpoint_id":"e","data":{"id":"v"}}`,
		`{"id":"a","type":"t","ocid":"c2","created":"1661971592"}`,
		"\xef\xbb\xbf {\"id\":\"a\",\"type\":\"t\"} ",
		`{"id":"","type":"t"}`,
		`{"id":"a"}`,
		`[1,2]`,
		`not json`,
		``,
		`{"id":"a","type":"t","data":{"video":{"id":"v"}}`,
	}
	for _, in := range inputs {
		full, ferr := ParseEnvelope([]byte(in))
		head, herr := ParseEnvelopeHead([]byte(in))
		if errors.Is(ferr, ErrNotJSON) != errors.Is(herr, ErrNotJSON) || errors.Is(ferr, ErrNotEnvelope) != errors.Is(herr, ErrNotEnvelope) {
			t.Errorf("%q: errors differ: full %v, head %v", in, ferr, herr)
			continue
		}
		if ferr != nil {
			continue
		}
		if head.ID != full.ID || head.Type != full.Type || head.COID != full.COID || head.Created != full.Created ||
			head.EndpointID != full.EndpointID || head.APIVersion != full.APIVersion || string(head.Raw) != in {
			t.Errorf("%q: head %+v, full %+v", in, head, full)
		}
		if head.Data != nil || head.Video != nil {
			t.Errorf("%q: head decoded data", in)
		}
	}
}

func FuzzParseEnvelopeHead(f *testing.F) {
	f.Add([]byte(`{"id":"a","type":"t","ocid":"c","created":1,"data":{}}`))
	f.Add([]byte(`{"id":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		full, ferr := ParseEnvelope(b)
		head, herr := ParseEnvelopeHead(b)
		if (ferr == nil) != (herr == nil) || errors.Is(ferr, ErrNotJSON) != errors.Is(herr, ErrNotJSON) {
			t.Fatalf("full err %v, head err %v", ferr, herr)
		}
		if ferr == nil && (head.ID != full.ID || head.Type != full.Type || head.Created != full.Created || head.COID != full.COID ||
			head.APIVersion != full.APIVersion || head.EndpointID != full.EndpointID) {
			t.Fatalf("head %+v != full %+v", head, full)
		}
	})
}

func BenchmarkParseEnvelopeHead(b *testing.B) {
	body, _ := SampleEvent(TypeProcessSucceeded, NewObjectID(), "")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseEnvelopeHead(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseEnvelopeFull(b *testing.B) {
	body, _ := SampleEvent(TypeProcessSucceeded, NewObjectID(), "")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseEnvelope(body); err != nil {
			b.Fatal(err)
		}
	}
}

// jsonString's shortcut must give what encoding/json gives.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{`"plain"`, `"esc\"aped"`, `"\u00e9"`, "\"\xff\"", "\"tab\t\"", `"a"b"`, `"`, `""`, ` "x" `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := jsonString(raw)
		var want string
		wantOK := len(bytes.TrimSpace(raw)) > 0 && bytes.TrimSpace(raw)[0] == '"' && json.Unmarshal(bytes.TrimSpace(raw), &want) == nil
		if ok != wantOK || got != want {
			t.Fatalf("jsonString(%q) = %q, %v; encoding/json: %q, %v", raw, got, ok, want, wantOK)
		}
	})
}
