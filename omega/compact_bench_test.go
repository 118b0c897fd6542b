package omega

import (
	"encoding/json"
	"strings"
	"testing"
)

func BenchmarkAppendCompact(b *testing.B) {
	body, err := SampleEvent(TypeProcessSucceeded, NewObjectID(), "")
	if err != nil {
		b.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		b.Fatal(err)
	}
	m["data"].(map[string]any)["pad"] = strings.Repeat("x y ", 1024-len(body)/4)
	body, _ = json.MarshalIndent(m, "", "  ") // some whitespace to take out
	b.Run("omega", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		var dst []byte
		for b.Loop() {
			dst, _ = AppendCompact(dst[:0], body)
		}
	})
	b.Run("encoding-json", func(b *testing.B) { // what the lines did before: check, then marshal
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if json.Valid(body) {
				_, _ = json.Marshal(json.RawMessage(body))
			}
		}
	})
}
