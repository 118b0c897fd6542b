package inspector

import (
	"strings"
	"testing"
)

func sniffAll(chunks ...string) headSniffer {
	var s headSniffer
	for _, c := range chunks {
		s.feed([]byte(c))
	}
	return s
}

// splits feeds stream in pieces of every size from 1 byte up.
func checkSplits(t *testing.T, stream string, want headSniffer) {
	t.Helper()
	for size := 1; size <= len(stream)+1; size++ {
		var chunks []string
		for i := 0; i < len(stream); i += size {
			chunks = append(chunks, stream[i:min(i+size, len(stream))])
		}
		got := sniffAll(chunks...)
		if got.heads != want.heads || got.conflictAt != want.conflictAt || got.done != want.done {
			t.Fatalf("pieces of %d: heads %d conflictAt %d done %v; want %d %d %v", size, got.heads, got.conflictAt, got.done, want.heads, want.conflictAt, want.done)
		}
	}
}

func TestHeadSniffer(t *testing.T) {
	post := func(hdr, body string) string { return "POST /x HTTP/1.1\r\nHost: a\r\n" + hdr + "\r\n" + body }
	tests := []struct {
		name   string
		stream string
		want   headSniffer
	}{
		{"one with Content-Length", post("Content-Length: 4\r\n", "abcd"), headSniffer{heads: 1}},
		{"pipelined, body holds a blank line", post("Content-Length: 8\r\n", "\r\n\r\nabcd") + post("Content-Length: 0\r\n", ""), headSniffer{heads: 2}},
		{"GET then both", "GET /x HTTP/1.1\r\nHost: a\r\n\r\n" + post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), headSniffer{heads: 2, conflictAt: 2, done: true}},
		{"both, odd case and spacing", post("transfer-ENCODING :chunked\r\nCONTENT-length:  3\r\n", "0\r\n\r\n"), headSniffer{heads: 1, conflictAt: 1, done: true}},
		{"chunked only stops looking", post("Transfer-Encoding: chunked\r\n", "0\r\n\r\n") + post("Content-Length: 1\r\nTransfer-Encoding: chunked\r\n", "x"), headSniffer{heads: 1, done: true}},
		{"a Content-Length that is not a number", post("Content-Length: 4x\r\n", "abcd"), headSniffer{heads: 1, done: true}},
		{"a head cut short", "POST /x HTTP/1.1\r\nContent-Le", headSniffer{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkSplits(t, tc.stream, tc.want) })
	}
}

// FuzzHeadSniffer: whatever arrives, and however the reads cut it, the
// sniffer sees the same thing (and never panics).
func FuzzHeadSniffer(f *testing.F) {
	f.Add("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiPOST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 3)
	f.Add("GET / HTTP/1.1\r\n\r\n\r\n\r\n", 1)
	f.Add(strings.Repeat("x", 100), 7)
	f.Fuzz(func(t *testing.T, stream string, size int) {
		if size <= 0 || len(stream) > 1<<16 {
			t.Skip()
		}
		whole := sniffAll(stream)
		var chunks []string
		for i := 0; i < len(stream); i += size {
			chunks = append(chunks, stream[i:min(i+size, len(stream))])
		}
		cut := sniffAll(chunks...)
		if whole.heads != cut.heads || whole.conflictAt != cut.conflictAt || whole.done != cut.done {
			t.Fatalf("whole: %d %d %v; in pieces of %d: %d %d %v", whole.heads, whole.conflictAt, whole.done, size, cut.heads, cut.conflictAt, cut.done)
		}
	})
}
