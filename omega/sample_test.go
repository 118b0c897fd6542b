package omega

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"regexp"
	"testing"
	"time"
)

var (
	objectIDRe = regexp.MustCompile(`^[0-9a-f]{24}$`)
	coidRe     = regexp.MustCompile(`^omega-cop-[A-Za-z0-9_-]{10}$`)
	uuidRe     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

func TestNewObjectID(t *testing.T) {
	before := time.Now().Unix()
	id := NewObjectID()
	after := time.Now().Unix()
	if !objectIDRe.MatchString(id) {
		t.Fatalf("NewObjectID() = %q, want 24 lowercase hex chars", id)
	}
	b, _ := hex.DecodeString(id[:8])
	ts := int64(binary.BigEndian.Uint32(b))
	if ts < before || ts > after {
		t.Errorf("timestamp prefix %d not within [%d, %d]", ts, before, after)
	}
	seen := map[string]bool{}
	for range 1000 {
		id := NewObjectID()
		if seen[id] {
			t.Fatalf("NewObjectID repeated %q", id)
		}
		seen[id] = true
	}
}

func TestNewCOID(t *testing.T) {
	a, b := NewCOID(), NewCOID()
	for _, c := range []string{a, b} {
		if !coidRe.MatchString(c) {
			t.Errorf("NewCOID() = %q, want omega-cop- and 10 url-safe chars", c)
		}
	}
	if a == b {
		t.Errorf("NewCOID twice gave %q", a)
	}
}

// sampleBody mirrors the delivery body with the video decoded loosely, so
// the test sees exactly which keys and nulls are on the wire.
type sampleBody struct {
	ID         string         `json:"id"`
	COID       string         `json:"coid"`
	APIVersion string         `json:"api_version"`
	Created    int64          `json:"created"`
	Type       string         `json:"type"`
	Data       map[string]any `json:"data"`
	EndpointID string         `json:"endpoint_id"`
}

func TestSampleEventEveryType(t *testing.T) {
	for _, ti := range Catalogue {
		t.Run(ti.Type, func(t *testing.T) {
			before := time.Now().Unix()
			raw1, err := SampleEvent(ti.Type, "6307b4d6570090479813a762", "omega-cop-OyJrgi5-fx")
			if err != nil {
				t.Fatalf("SampleEvent: %v", err)
			}
			raw2, err := SampleEvent(ti.Type, "6307b4d6570090479813a762", "omega-cop-OyJrgi5-fx")
			if err != nil {
				t.Fatalf("SampleEvent: %v", err)
			}
			if !json.Valid(raw1) {
				t.Fatalf("not valid JSON: %s", raw1)
			}
			var e1, e2 sampleBody
			if err := json.Unmarshal(raw1, &e1); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw2, &e2); err != nil {
				t.Fatal(err)
			}
			if e1.Type != ti.Type || e1.APIVersion != "v1" || e1.COID != "omega-cop-OyJrgi5-fx" || e1.EndpointID != "6307b4d6570090479813a762" {
				t.Errorf("envelope = %+v", e1)
			}
			if e1.Created < before || e1.Created > time.Now().Unix() {
				t.Errorf("created = %d, want now", e1.Created)
			}
			if !objectIDRe.MatchString(e1.ID) {
				t.Errorf("event id %q is not an ObjectID", e1.ID)
			}
			if e1.ID == e2.ID {
				t.Errorf("two samples share event id %q", e1.ID)
			}
			if e1.Data["id"] == e2.Data["id"] || e1.Data["uuid"] == e2.Data["uuid"] {
				t.Errorf("two samples share video ids: %v %v", e1.Data["id"], e1.Data["uuid"])
			}
			if id, _ := e1.Data["id"].(string); !objectIDRe.MatchString(id) || id == e1.ID {
				t.Errorf("video id %q: want a fresh ObjectID distinct from the event id", id)
			}
			if u, _ := e1.Data["uuid"].(string); !uuidRe.MatchString(u) {
				t.Errorf("video uuid %q is not a v4 UUID", u)
			}
			if got := e1.Data["status"]; got != ti.VideoStatus {
				t.Errorf("video status = %v, want %q", got, ti.VideoStatus)
			}
			if got := e1.Data["coid"]; got != "omega-cop-OyJrgi5-fx" {
				t.Errorf("video coid = %v", got)
			}
			wantDeleted := ti.Type == TypeDeleted
			if _, isNull := e1.Data["deleted_at"].(string); isNull != wantDeleted {
				t.Errorf("deleted_at = %v, want set only for video.deleted", e1.Data["deleted_at"])
			}
			processed := ti.VideoStatus == "process-completed"
			for _, key := range []string{"playback", "playback_v2"} {
				pb, ok := e1.Data[key].(map[string]any)
				if !ok {
					t.Fatalf("%s = %v, want an object", key, e1.Data[key])
				}
				for _, f := range []string{"hls", "dash", "audio", "r_1080p", "r_720p", "r_480p", "r_360p", "r_240p"} {
					v, present := pb[f]
					if !present {
						t.Errorf("%s.%s missing", key, f)
					}
					if (v != nil) != processed {
						t.Errorf("%s.%s = %v, want URLs only when processed (%v)", key, f, v, processed)
					}
				}
			}
			if got := e1.Data["ready_to_stream"]; got != processed {
				t.Errorf("ready_to_stream = %v, want %v", got, processed)
			}
			in, _ := e1.Data["input"].(map[string]any)
			if in["width"] != 1920.0 || in["height"] != 1080.0 {
				t.Errorf("input = %v, want 1920x1080", in)
			}
			st, _ := e1.Data["storage"].(map[string]any)
			src, _ := st["source"].(map[string]any)
			if st["provider"] != "s3" || st["bucket"] == "" || st["raw_bucket"] == "" || src["key"] == "" || src["size"] == nil {
				t.Errorf("storage = %v", st)
			}
			if d, _ := e1.Data["duration"].(float64); d <= 0 {
				t.Errorf("duration = %v", e1.Data["duration"])
			}
			if s, _ := e1.Data["size"].(float64); s <= 0 {
				t.Errorf("size = %v", e1.Data["size"])
			}
			if _, ok := e1.Data["meta"].(map[string]any); !ok {
				t.Errorf("meta = %v, want an object", e1.Data["meta"])
			}

			// The body must also decode into the project's own types.
			var ev Event
			if err := json.Unmarshal(raw1, &ev); err != nil {
				t.Fatalf("decode as Event: %v", err)
			}
			var v Video
			if err := json.Unmarshal(ev.Data, &v); err != nil {
				t.Fatalf("decode data as Video: %v", err)
			}
			if v.Status != ti.VideoStatus || v.ID == "" {
				t.Errorf("Video = %+v", v)
			}
		})
	}
}

func TestSampleEventDefaultCOID(t *testing.T) {
	raw, err := SampleEvent(TypeProcessSucceeded, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var e sampleBody
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	if !coidRe.MatchString(e.COID) {
		t.Errorf("default coid = %q", e.COID)
	}
	if e.Data["coid"] != e.COID {
		t.Errorf("video coid %v differs from event coid %q", e.Data["coid"], e.COID)
	}
}

func TestSampleEventUnknownType(t *testing.T) {
	for _, typ := range []string{"", "video.exploded", "VIDEO.DELETED", "all"} {
		raw, err := SampleEvent(typ, "e", "c")
		var ute *UnknownTypeError
		if !errors.As(err, &ute) || ute.Type != typ {
			t.Errorf("SampleEvent(%q) = %s, %v; want *UnknownTypeError", typ, raw, err)
		}
	}
}

func TestSampleVideoUnknownTypeIsUploaded(t *testing.T) {
	v := SampleVideo("video.exploded", "")
	if v.Status != "uploaded" || !coidRe.MatchString(v.COID) || v.DeletedAt != nil {
		t.Errorf("SampleVideo(unknown) = %+v", v)
	}
}
