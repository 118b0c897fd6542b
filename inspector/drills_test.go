package inspector

// Drill regressions (issue 7): request framing that could smuggle a second
// request past a proxy in front of the receiver.

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// exchange writes raw to addr and reads answers until the server closes
// the connection, or it has want of them and the server then stays silent
// for a second. Waiting for the wanted answers is generous (a forward
// under -race on a busy machine can be slow); only the silence that says
// "the connection stayed open" is short, and a slow server cannot fake it.
func exchange(t *testing.T, addr, raw string, want int) (answers []*http.Response, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for {
		wait := time.Second
		if len(answers) < want {
			wait = 30 * time.Second
		}
		c.SetReadDeadline(time.Now().Add(wait))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return answers, false
			}
			return answers, true
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		answers = append(answers, resp)
	}
}

func TestDrillChunkedRequestClosesTheConnection(t *testing.T) {
	r := newRig(t, nil)
	head := "POST " + r.h.Path() + " HTTP/1.1\r\nHost: x\r\n"
	second := head + "Content-Length: 8\r\n\r\nSMUGGLED"
	cases := []struct {
		name       string
		raw        string
		answers    int
		wantClosed bool
		refused    bool // answered 400, the app sees nothing
	}{
		// net/http frames this by chunked and drops Content-Length; a proxy
		// that framed it by Content-Length would have sent "second" as
		// part of the body. The guard sees both: refused, and closed.
		{"Content-Length and chunked", head + "Content-Length: 45\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n" + second, 1, true, true},
		{"chunked and Content-Length, other case", head + "transfer-encoding: chunked\r\ncontent-length: 4\r\n\r\n0\r\n\r\n" + second, 1, true, true},
		// Only the ambiguous one of pipelined requests is refused.
		{"a good request, then an ambiguous one", head + "Content-Length: 4\r\n\r\nabcd" + head + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 2, true, false},
		{"chunked then a pipelined request", head + "Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n" + second, 1, true, false},
		{"chunked to a wrong path", "POST /omega/nope HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + second, 1, true, false},
		// Content-Length alone is unambiguous: keep-alive and pipelining work.
		{"Content-Length then a pipelined request", head + "Content-Length: 4\r\n\r\nabcd" + second, 2, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(r.app.requests())
			answers, closed := exchange(t, r.srv.Listener.Addr().String(), tc.raw, tc.answers)
			if len(answers) != tc.answers || closed != tc.wantClosed {
				t.Fatalf("%d answers, connection closed %v; want %d, %v", len(answers), closed, tc.answers, tc.wantClosed)
			}
			last := answers[len(answers)-1]
			if tc.wantClosed && !last.Close {
				t.Errorf("answer does not say Connection: close: %v", last.Header)
			}
			reqs := r.app.requests()[before:]
			wantReqs := tc.answers
			if tc.refused {
				wantReqs = 0
				if last.StatusCode != http.StatusBadRequest {
					t.Errorf("answered %s, want 400", last.Status)
				}
			}
			if strings.HasPrefix(tc.name, "a good request") {
				wantReqs = 1
				if answers[0].StatusCode != 200 || last.StatusCode != 400 {
					t.Errorf("answered %s then %s, want 200 then 400", answers[0].Status, last.Status)
				}
			}
			if len(reqs) != wantReqs && !strings.Contains(tc.name, "wrong path") {
				t.Errorf("the app got %d requests, want %d", len(reqs), wantReqs)
			}
			for i, q := range reqs {
				if tc.wantClosed && strings.Contains(string(q.Body), "SMUGGLED") {
					t.Errorf("request %d reached the app: %q", i, q.Body)
				}
			}
		})
	}
}
