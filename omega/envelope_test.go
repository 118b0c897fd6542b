package omega

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

const videoJSON = `{"id":"6310a0bd1c7b6a4f00a9d3c1","created_at":"2022-09-01T12:00:00Z","updated_at":"2022-09-01T12:05:00Z",
 "deleted_at":null,"title":"cat.mp4","uuid":"b1f0c6de-1111-4c8e-9a53-000000000001","coid":"omega-cop-OyJrgi5-fx",
 "status":"process-failed","privacy":"private","playback":null,
 "playback_v2":{"hls":"https://cdn.example/v.m3u8","dash":null,"audio":null,"r_1080p":null,"r_720p":null,"r_480p":null,"r_360p":null,"r_240p":null},
 "input":{"width":1920,"height":1080},"duration":12.5,"size":1048576,"ready_to_stream":false,
 "thumbnail":"","thumbnail_timestamp_pct":0.5,
 "storage":{"bucket":"b","raw_bucket":"rb","provider":"gcs","source":{"key":"k","size":1048576},"meta":{}},
 "meta":{"k":"v"}}`

func envelopeWith(fields string) string {
	return `{"id":"630fac88bd5bb64cf8b24b99","type":"video.process_failed"` + fields + `}`
}

func TestParseEnvelope(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, e *Envelope)
	}{
		{
			name: "documented delivery",
			in: `{"id": "630fac88bd5bb64cf8b24b99", "coid": "omega-cop-OyJrgi5-fx", "api_version": "v1",
				"created": 1661971592, "type": "video.process_failed", "data": ` + videoJSON + `,
				"endpoint_id": "6307b4d6570090479813a762"}`,
			check: func(t *testing.T, e *Envelope) {
				want := Envelope{ID: "630fac88bd5bb64cf8b24b99", COID: "omega-cop-OyJrgi5-fx", APIVersion: "v1",
					Created: 1661971592, Type: TypeProcessFailed, EndpointID: "6307b4d6570090479813a762"}
				if e.ID != want.ID || e.COID != want.COID || e.APIVersion != want.APIVersion || e.Created != want.Created ||
					e.Type != want.Type || e.EndpointID != want.EndpointID {
					t.Errorf("envelope = %+v", e)
				}
				if e.Video == nil || e.Video.ID != "6310a0bd1c7b6a4f00a9d3c1" || e.Video.Status != "process-failed" ||
					e.Video.Input.Width != 1920 || *e.Video.PlaybackV2.HLS != "https://cdn.example/v.m3u8" {
					t.Errorf("video = %+v", e.Video)
				}
				if !json.Valid(e.Data) || !bytes.Contains(e.Data, []byte(`"cat.mp4"`)) {
					t.Errorf("data = %s", e.Data)
				}
				if !e.CreatedTime().Equal(time.Date(2022, 8, 31, 18, 46, 32, 0, time.UTC)) {
					t.Errorf("CreatedTime = %v", e.CreatedTime())
				}
			},
		},
		{
			name: "ocid instead of coid",
			in:   envelopeWith(`,"ocid":"omega-cop-x"`),
			check: func(t *testing.T, e *Envelope) {
				if e.COID != "omega-cop-x" {
					t.Errorf("COID = %q", e.COID)
				}
			},
		},
		{
			name: "coid wins over ocid",
			in:   envelopeWith(`,"ocid":"o","coid":"c"`),
			check: func(t *testing.T, e *Envelope) {
				if e.COID != "c" {
					t.Errorf("COID = %q", e.COID)
				}
			},
		},
		{
			name: "data wrapped as video",
			in:   envelopeWith(`,"data":{"video":` + videoJSON + `}`),
			check: func(t *testing.T, e *Envelope) {
				if e.Video == nil || e.Video.Title != "cat.mp4" {
					t.Errorf("video = %+v", e.Video)
				}
				if !bytes.HasPrefix(e.Data, []byte(`{"video":`)) {
					t.Errorf("data not kept as received: %s", e.Data)
				}
			},
		},
		{
			name: "video with zero created_at",
			in:   envelopeWith(`,"data":{"id":"v1","created_at":"0001-01-01T00:00:00Z","status":"uploaded"}`),
			check: func(t *testing.T, e *Envelope) {
				if e.Video == nil || e.Video.ID != "v1" || !e.Video.CreatedAt.IsZero() {
					t.Errorf("video = %+v", e.Video)
				}
			},
		},
		{
			name: "video with odd fields keeps the rest",
			in:   envelopeWith(`,"data":{"id":"v1","created_at":"yesterday","duration":"12.5","meta":{"a":1,"b":"x"},"status":"uploaded"}`),
			check: func(t *testing.T, e *Envelope) {
				if e.Video == nil || e.Video.ID != "v1" || e.Video.Status != "uploaded" || e.Video.Meta["b"] != "x" {
					t.Errorf("video = %+v", e.Video)
				}
			},
		},
		{
			name: "data not a video",
			in:   envelopeWith(`,"data":{"foo":1}`),
			check: func(t *testing.T, e *Envelope) {
				if e.Video != nil || string(e.Data) != `{"foo":1}` {
					t.Errorf("video = %+v, data = %s", e.Video, e.Data)
				}
			},
		},
		{
			name: "data a string",
			in:   envelopeWith(`,"data":"hello"`),
			check: func(t *testing.T, e *Envelope) {
				if e.Video != nil || string(e.Data) != `"hello"` {
					t.Errorf("video = %+v, data = %s", e.Video, e.Data)
				}
			},
		},
		{
			name: "data null",
			in:   envelopeWith(`,"data":null`),
			check: func(t *testing.T, e *Envelope) {
				if e.Video != nil || string(e.Data) != "null" {
					t.Errorf("video = %+v, data = %q", e.Video, e.Data)
				}
			},
		},
		{
			name: "no data",
			in:   envelopeWith(``),
			check: func(t *testing.T, e *Envelope) {
				if e.Video != nil || e.Data != nil {
					t.Errorf("video = %+v, data = %q", e.Video, e.Data)
				}
			},
		},
		{
			name:  "created float",
			in:    envelopeWith(`,"created":1661971592.75`),
			check: wantCreated(1661971592),
		},
		{
			name:  "created exponent",
			in:    envelopeWith(`,"created":1.661971592e9`),
			check: wantCreated(1661971592),
		},
		{
			name:  "created numeric string",
			in:    envelopeWith(`,"created":" 1661971592 "`),
			check: wantCreated(1661971592),
		},
		{
			name:  "created RFC 3339 string",
			in:    envelopeWith(`,"created":"2022-08-31T18:46:32Z"`),
			check: wantCreated(1661971592),
		},
		{
			name:  "created garbage",
			in:    envelopeWith(`,"created":"soon"`),
			check: wantCreated(0),
		},
		{
			name:  "created out of range",
			in:    envelopeWith(`,"created":1e300`),
			check: wantCreated(0),
		},
		{
			name:  "created object",
			in:    envelopeWith(`,"created":{}`),
			check: wantCreated(0),
		},
		{
			name: "unknown fields and type",
			in:   `{"id":"x","type":"video.transcoded","livemode":true,"extra":{"a":[1,2]}}`,
			check: func(t *testing.T, e *Envelope) {
				if e.Type != "video.transcoded" || Known(e.Type) {
					t.Errorf("Type = %q", e.Type)
				}
			},
		},
		{
			name: "BOM and whitespace",
			in:   "\ufeff \n\t" + envelopeWith(`,"coid":"c"`) + "\r\n ",
			check: func(t *testing.T, e *Envelope) {
				if e.COID != "c" {
					t.Errorf("COID = %q", e.COID)
				}
			},
		},
		{
			name: "non-string optional fields ignored",
			in:   envelopeWith(`,"coid":5,"api_version":1,"endpoint_id":["x"]`),
			check: func(t *testing.T, e *Envelope) {
				if e.COID != "" || e.APIVersion != "" || e.EndpointID != "" {
					t.Errorf("envelope = %+v", e)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			e, err := ParseEnvelope(in)
			if err != nil {
				t.Fatalf("ParseEnvelope: %v", err)
			}
			if &e.Raw[0] != &in[0] || len(e.Raw) != len(in) {
				t.Error("Raw is not the input")
			}
			tt.check(t, e)
		})
	}
}

func wantCreated(n int64) func(*testing.T, *Envelope) {
	return func(t *testing.T, e *Envelope) {
		t.Helper()
		if e.Created != n {
			t.Errorf("Created = %d, want %d", e.Created, n)
		}
		if n == 0 && !e.CreatedTime().IsZero() {
			t.Errorf("CreatedTime = %v, want zero", e.CreatedTime())
		}
	}
}

func TestParseEnvelopeRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrNotJSON},
		{"whitespace", " \n\t", ErrNotJSON},
		{"BOM only", "\ufeff", ErrNotJSON},
		{"text", "hello", ErrNotJSON},
		{"form body", "id=1&type=x", ErrNotJSON},
		{"truncated", `{"id":"x","type":"y"`, ErrNotJSON},
		{"trailing garbage", `{"id":"x","type":"y"} x`, ErrNotJSON},
		{"two values", `{"id":"x","type":"y"}{}`, ErrNotJSON},
		{"array", `[{"id":"x","type":"y"}]`, ErrNotEnvelope},
		{"string", `"x"`, ErrNotEnvelope},
		{"number", `42`, ErrNotEnvelope},
		{"null", `null`, ErrNotEnvelope},
		{"true", `true`, ErrNotEnvelope},
		{"empty object", `{}`, ErrNotEnvelope},
		{"no type", `{"id":"x"}`, ErrNotEnvelope},
		{"no id", `{"type":"video.deleted"}`, ErrNotEnvelope},
		{"numeric id", `{"id":5,"type":"video.deleted"}`, ErrNotEnvelope},
		{"empty id", `{"id":"","type":"video.deleted"}`, ErrNotEnvelope},
		{"blank type", `{"id":"x","type":"  "}`, ErrNotEnvelope},
		{"null type", `{"id":"x","type":null}`, ErrNotEnvelope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseEnvelope([]byte(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if e != nil {
				t.Errorf("envelope = %+v, want nil", e)
			}
			other := ErrNotJSON
			if tt.want == ErrNotJSON {
				other = ErrNotEnvelope
			}
			if errors.Is(err, other) {
				t.Errorf("err = %v is also %v", err, other)
			}
			if err.Error() == tt.want.Error() {
				t.Errorf("err = %q carries no detail", err)
			}
		})
	}
}

func FuzzParseEnvelope(f *testing.F) {
	for _, s := range []string{
		envelopeWith(`,"coid":"c","created":1,"data":` + videoJSON),
		envelopeWith(`,"ocid":"c","created":"1.5","data":{"video":{"id":"v"}}`),
		envelopeWith(`,"data":{"id":"v","created_at":"0001-01-01T00:00:00Z","meta":{"a":1}}`),
		"\ufeff" + envelopeWith(``),
		`{"id":"x","type":"y","created":1e400}`,
		`[]`, `null`, ``, `{`, `"\ud800"`, `{"id":"\u0000","type":"\xff"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		e, err := ParseEnvelope(b)
		if !bytes.Equal(b, in) {
			t.Fatal("ParseEnvelope changed its input")
		}
		if err != nil {
			if e != nil {
				t.Fatal("envelope and error both returned")
			}
			if !errors.Is(err, ErrNotJSON) && !errors.Is(err, ErrNotEnvelope) {
				t.Fatalf("err = %v, neither ErrNotJSON nor ErrNotEnvelope", err)
			}
			return
		}
		if !bytes.Equal(e.Raw, b) {
			t.Fatal("Raw differs from the input")
		}
		if strings.TrimSpace(e.ID) == "" || strings.TrimSpace(e.Type) == "" {
			t.Fatalf("envelope without id or type: %+v", e)
		}
		if e.Video != nil && e.Video.ID == "" && e.Video.UUID == "" {
			t.Fatalf("video without id or uuid: %+v", e.Video)
		}
		if len(e.Data) > 0 && !json.Valid(e.Data) {
			t.Fatalf("data is not JSON: %q", e.Data)
		}
		_ = e.CreatedTime()
	})
}

func TestEventUnmarshal(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, e Event)
	}{
		{
			name: "list form with ocid and zero created_at",
			in: `{"id":"e1","ocid":"omega-cop-1","api_version":"v1","created":1661971592,
				"created_at":"0001-01-01T00:00:00Z","type":"video.deleted","data":null,"endpoint_id":"ep","response":null}`,
			check: func(t *testing.T, e Event) {
				if e.ID != "e1" || e.COID != "omega-cop-1" || e.Type != TypeDeleted || e.EndpointID != "ep" || e.APIVersion != "v1" {
					t.Errorf("event = %+v", e)
				}
				if !e.CreatedAt.IsZero() || !e.When().Equal(time.Unix(1661971592, 0)) {
					t.Errorf("CreatedAt = %v, When = %v", e.CreatedAt, e.When())
				}
				if e.Data != nil || e.Response != nil || e.Video() != nil {
					t.Errorf("data = %q, response = %+v", e.Data, e.Response)
				}
			},
		},
		{
			name: "whole form with wrapped video and response",
			in:   eventJSON,
			check: func(t *testing.T, e Event) {
				if e.COID != "omega-cop-OyJrgi5-fx" || e.Response == nil || e.Response.Body != "webhook received\n" {
					t.Errorf("event = %+v", e)
				}
				if v := e.Video(); v == nil || v.ID != "v1" {
					t.Errorf("Video() = %+v", v)
				}
				if !bytes.HasPrefix(e.Data, []byte(`{"video":`)) {
					t.Errorf("data = %s", e.Data)
				}
			},
		},
		{
			name: "data as the video itself",
			in:   `{"id":"e1","type":"video.deleted","data":` + videoJSON + `}`,
			check: func(t *testing.T, e Event) {
				if v := e.Video(); v == nil || v.Title != "cat.mp4" {
					t.Errorf("Video() = %+v", v)
				}
			},
		},
		{
			name: "real created_at wins",
			in:   `{"id":"e1","created":5,"created_at":"2022-09-15T21:07:22.823797Z"}`,
			check: func(t *testing.T, e Event) {
				if want := time.Date(2022, 9, 15, 21, 7, 22, 823797000, time.UTC); !e.When().Equal(want) {
					t.Errorf("When = %v, want %v", e.When(), want)
				}
			},
		},
		{
			name: "created_at without zone, created as string",
			in:   `{"id":"e1","created":"7","created_at":"2022-09-15T21:07:22.5"}`,
			check: func(t *testing.T, e Event) {
				if e.Created != 7 || !e.CreatedAt.Equal(time.Date(2022, 9, 15, 21, 7, 22, 5e8, time.UTC)) {
					t.Errorf("Created = %d, CreatedAt = %v", e.Created, e.CreatedAt)
				}
			},
		},
		{
			name: "unreadable created_at and response fields",
			in:   `{"id":"e1","created":9,"created_at":"never","response":{"status_code":"200","status":"200 OK"}}`,
			check: func(t *testing.T, e Event) {
				if !e.When().Equal(time.Unix(9, 0)) {
					t.Errorf("When = %v", e.When())
				}
				if e.Response == nil || e.Response.Status != "200 OK" {
					t.Errorf("response = %+v", e.Response)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Event
			if err := json.Unmarshal([]byte(tt.in), &e); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			tt.check(t, e)
		})
	}
}

func TestEventUnmarshalList(t *testing.T) {
	var evs []Event
	in := `[{"id":"a","ocid":"o"},null,{"id":"b","coid":"c"}]`
	if err := json.Unmarshal([]byte(in), &evs); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[0].COID != "o" || evs[1].ID != "" || evs[2].COID != "c" {
		t.Errorf("events = %+v", evs)
	}
}

func TestEventUnmarshalRejectsNonObject(t *testing.T) {
	for _, in := range []string{`[]`, `"x"`, `5`, `[1]`} {
		var evs []Event
		if err := json.Unmarshal([]byte("["+in+"]"), &evs); err == nil {
			t.Errorf("Unmarshal of [%s] succeeded: %+v", in, evs)
		}
	}
}

func TestEventRoundTrip(t *testing.T) {
	var e Event
	if err := json.Unmarshal([]byte(eventJSON), &e); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var again Event
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatal(err)
	}
	if again.ID != e.ID || again.COID != e.COID || again.Created != e.Created || !bytes.Equal(again.Data, e.Data) ||
		*again.Response != *e.Response {
		t.Errorf("round trip: %+v\nwant %+v", again, e)
	}
}

func FuzzEventUnmarshal(f *testing.F) {
	for _, s := range []string{eventJSON, `{"id":"a","ocid":"o","created_at":"0001-01-01T00:00:00Z"}`, `null`, `[]`, `{"response":{"status_code":"x"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Event
		if err := json.Unmarshal(b, &e); err != nil {
			return
		}
		_ = e.When()
		_ = e.Video()
		if len(e.Data) > 0 && !json.Valid(e.Data) {
			t.Fatalf("data is not JSON: %q", e.Data)
		}
	})
}
