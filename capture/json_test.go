package capture

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// jsonCapture sets every field of a Capture, by selector so the test does
// not depend on how the fields are grouped.
func jsonCapture() *Capture {
	at := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
	c := &Capture{}
	c.ID, c.Seq, c.SessionID, c.State = "c_1", 42, "s_1", StateDone
	c.ReceivedAt, c.CompletedAt = at, at.Add(time.Second)
	c.RemoteAddr, c.Method, c.Path = "10.0.0.1:5", "POST", "/omega/<t>&"
	c.Headers = http.Header{"Content-Type": {"application/json"}, HeaderRelayQueuedAt: {at.Format(time.RFC3339Nano) + "; id=q1"}}
	c.Body = []byte(`{"id":"evt_1"}`)
	c.EventID, c.EventType, c.EndpointID, c.EventCreated = "evt_1", "video.created", "ep_1", at.Add(-time.Hour)
	c.Flags, c.RejectReason = FlagQueued|FlagBackfill, "none"
	c.Target, c.Status = "http://localhost:3000/hook", 201
	c.RespHeaders = http.Header{"X-A": {"1", "2"}}
	c.RespBody = []byte{0xff, 0}
	c.Duration, c.Error, c.SentStatus, c.ReplayOf = 1500*time.Millisecond, "", 201, "c_0"
	return c
}

// TestJSONPinned pins the JSON of a Capture, a Summary and a WriteJSONL
// line, which `captures list/show --json`, the web API and exports print.
// Since Capture and Summary share Meta (embedded), Meta's members come
// first and the headers, bodies and body sizes after them; before, they
// sat among them (the second string): the same members with the same
// values, in another order.
func TestJSONPinned(t *testing.T) {
	c := jsonCapture()
	var jsonl bytes.Buffer
	if err := WriteJSONL(&jsonl, []*Capture{c}); err != nil {
		t.Fatal(err)
	}
	capJSON, _ := json.Marshal(c)
	sumJSON, _ := json.Marshal(c.Summary())
	got := map[string]string{"capture": string(capJSON), "summary": string(sumJSON), "jsonl": strings.TrimSuffix(jsonl.String(), "\n")}
	for _, tc := range []struct{ name, want, before string }{
		{"capture",
			`{"id":"c_1","seq":42,"session_id":"s_1","state":"done","received_at":"2026-03-04T05:06:07.000000008Z","completed_at":"2026-03-04T05:06:08.000000008Z","remote_addr":"10.0.0.1:5","method":"POST","path":"/omega/\u003ct\u003e\u0026","event_id":"evt_1","event_type":"video.created","endpoint_id":"ep_1","event_created":"2026-03-04T04:06:07.000000008Z","flags":40,"reject_reason":"none","target":"http://localhost:3000/hook","status":201,"duration":1500000000,"sent_status":201,"replay_of":"c_0","headers":{"Content-Type":["application/json"],"Omega-Listen-Relay-Queued-At":["2026-03-04T05:06:07.000000008Z; id=q1"]},"body":"eyJpZCI6ImV2dF8xIn0=","response_headers":{"X-A":["1","2"]},"response_body":"/wA="}`,
			`{"id":"c_1","seq":42,"session_id":"s_1","state":"done","received_at":"2026-03-04T05:06:07.000000008Z","completed_at":"2026-03-04T05:06:08.000000008Z","remote_addr":"10.0.0.1:5","method":"POST","path":"/omega/\u003ct\u003e\u0026","headers":{"Content-Type":["application/json"],"Omega-Listen-Relay-Queued-At":["2026-03-04T05:06:07.000000008Z; id=q1"]},"body":"eyJpZCI6ImV2dF8xIn0=","event_id":"evt_1","event_type":"video.created","endpoint_id":"ep_1","event_created":"2026-03-04T04:06:07.000000008Z","flags":40,"reject_reason":"none","target":"http://localhost:3000/hook","status":201,"response_headers":{"X-A":["1","2"]},"response_body":"/wA=","duration":1500000000,"sent_status":201,"replay_of":"c_0"}`},
		{"summary",
			`{"id":"c_1","seq":42,"session_id":"s_1","state":"done","received_at":"2026-03-04T05:06:07.000000008Z","completed_at":"2026-03-04T05:06:08.000000008Z","remote_addr":"10.0.0.1:5","method":"POST","path":"/omega/\u003ct\u003e\u0026","event_id":"evt_1","event_type":"video.created","endpoint_id":"ep_1","event_created":"2026-03-04T04:06:07.000000008Z","flags":40,"reject_reason":"none","target":"http://localhost:3000/hook","status":201,"duration":1500000000,"sent_status":201,"replay_of":"c_0","body_size":14,"response_body_size":2,"queued_at":"2026-03-04T05:06:07.000000008Z"}`,
			`{"id":"c_1","seq":42,"session_id":"s_1","state":"done","received_at":"2026-03-04T05:06:07.000000008Z","completed_at":"2026-03-04T05:06:08.000000008Z","remote_addr":"10.0.0.1:5","method":"POST","path":"/omega/\u003ct\u003e\u0026","body_size":14,"event_id":"evt_1","event_type":"video.created","endpoint_id":"ep_1","event_created":"2026-03-04T04:06:07.000000008Z","flags":40,"reject_reason":"none","target":"http://localhost:3000/hook","status":201,"response_body_size":2,"duration":1500000000,"sent_status":201,"replay_of":"c_0","queued_at":"2026-03-04T05:06:07.000000008Z"}`},
		{"jsonl",
			`{"id":"c_1","seq":42,"session_id":"s_1","state":"done","received_at":"2026-03-04T05:06:07.000000008Z","completed_at":"2026-03-04T05:06:08.000000008Z","remote_addr":"10.0.0.1:5","method":"POST","path":"/omega/<t>&","event_id":"evt_1","event_type":"video.created","endpoint_id":"ep_1","event_created":"2026-03-04T04:06:07.000000008Z","flags":40,"reject_reason":"none","target":"http://localhost:3000/hook","status":201,"duration":1500000000,"sent_status":201,"replay_of":"c_0","headers":{"Content-Type":["application/json"],"Omega-Listen-Relay-Queued-At":["2026-03-04T05:06:07.000000008Z; id=q1"]},"response_headers":{"X-A":["1","2"]},"body":{"id":"evt_1"},"response_body_base64":"/wA="}`,
			`{"id":"c_1","seq":42,"session_id":"s_1","state":"done","received_at":"2026-03-04T05:06:07.000000008Z","completed_at":"2026-03-04T05:06:08.000000008Z","remote_addr":"10.0.0.1:5","method":"POST","path":"/omega/<t>&","headers":{"Content-Type":["application/json"],"Omega-Listen-Relay-Queued-At":["2026-03-04T05:06:07.000000008Z; id=q1"]},"event_id":"evt_1","event_type":"video.created","endpoint_id":"ep_1","event_created":"2026-03-04T04:06:07.000000008Z","flags":40,"reject_reason":"none","target":"http://localhost:3000/hook","status":201,"response_headers":{"X-A":["1","2"]},"duration":1500000000,"sent_status":201,"replay_of":"c_0","body":{"id":"evt_1"},"response_body_base64":"/wA="}`},
	} {
		if got[tc.name] != tc.want {
			t.Errorf("%s JSON changed:\n got %s\nwant %s", tc.name, got[tc.name], tc.want)
		}
		var now, then map[string]any
		if err := json.Unmarshal([]byte(got[tc.name]), &now); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(tc.before), &then); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(now, then) {
			t.Errorf("%s JSON has other members or values than before:\n got %s\n was %s", tc.name, got[tc.name], tc.before)
		}
	}
}
