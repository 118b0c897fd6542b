package omega

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"time"
)

// NewObjectID returns a fresh id shaped like a MongoDB ObjectID, which is
// what Omega's ids look like: 24 lowercase hex characters, the first 8 the
// big-endian Unix time in seconds, the rest random.
func NewObjectID() string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(time.Now().Unix()))
	_, _ = rand.Read(b[4:]) // crypto/rand.Read never fails since Go 1.24
	return hex.EncodeToString(b[:])
}

// urlSafe has exactly 64 symbols so a random byte masked to 6 bits picks one
// without bias.
const urlSafe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// NewCOID returns a fresh company id in Omega's shape: "omega-cop-" and ten
// URL-safe characters.
func NewCOID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = urlSafe[b[i]&63]
	}
	return "omega-cop-" + string(b[:])
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// sampleStreamHost is where sample playback URLs point; they are never
// fetched, only shown.
const sampleStreamHost = "https://stream.omegastream.net"

// SampleVideo returns a plausible video object for an event of eventType,
// with fresh ids. Its status is the catalogue's VideoStatus for the type
// ("uploaded" for an unknown type). Playback URLs are only filled in once
// the video is processed, as Omega only has streams then; deleted_at is set
// only for video.deleted. An empty coid gets a fresh one.
func SampleVideo(eventType, coid string) Video {
	if coid == "" {
		coid = NewCOID()
	}
	status := "uploaded"
	if ti, ok := Lookup(eventType); ok {
		status = ti.VideoStatus
	}
	now := time.Now().UTC()
	id := NewObjectID()
	processed := status == "process-completed"
	sourceSize := 5_000_000 + mrand.Int64N(495_000_000)

	v := Video{
		ID:                    id,
		CreatedAt:             now.Add(-time.Duration(5+mrand.IntN(55)) * time.Minute),
		UpdatedAt:             now,
		Title:                 fmt.Sprintf("Sample video %s", id[len(id)-6:]),
		UUID:                  newUUID(),
		COID:                  coid,
		Status:                status,
		Privacy:               "private",
		Playback:              &Playback{},
		PlaybackV2:            &Playback{},
		Input:                 &VideoInput{Width: 1920, Height: 1080},
		Duration:              float64(10_000+mrand.IntN(590_000)) / 1000, // 10s to 10min, millisecond precision
		Size:                  sourceSize,
		ReadyToStream:         processed,
		ThumbnailTimestampPct: 0.5,
		Storage: &Storage{
			Bucket:    "omega-videos",
			RawBucket: "omega-videos-raw",
			Provider:  "s3",
			Source:    &StorageSource{Key: coid + "/" + id + "/source.mp4", Size: sourceSize},
			Meta:      map[string]string{"region": "us-east-1"},
		},
		Meta: map[string]string{"source": "omega-listen sample", "event_type": eventType},
	}
	if eventType == TypeDeleted {
		d := now
		v.DeletedAt = &d
	}
	if processed {
		base := sampleStreamHost + "/" + coid + "/" + id
		v.Thumbnail = base + "/thumbnail.jpg"
		v.Playback = samplePlayback(base + "/v1")
		v.PlaybackV2 = samplePlayback(base + "/v2")
	}
	return v
}

func samplePlayback(base string) *Playback {
	u := func(p string) *string { s := base + p; return &s }
	return &Playback{
		HLS:   u("/master.m3u8"),
		DASH:  u("/manifest.mpd"),
		Audio: u("/audio.m4a"),
		R1080: u("/1080p.mp4"),
		R720:  u("/720p.mp4"),
		R480:  u("/480p.mp4"),
		R360:  u("/360p.mp4"),
		R240:  u("/240p.mp4"),
	}
}

// sampleEnvelope fixes the field order of a delivery body to the docs' order.
type sampleEnvelope struct {
	ID         string `json:"id"`
	COID       string `json:"coid"`
	APIVersion string `json:"api_version"`
	Created    int64  `json:"created"`
	Type       string `json:"type"`
	Data       Video  `json:"data"`
	EndpointID string `json:"endpoint_id"`
}

// SampleEvent returns the body of a delivery of eventType to endpointID, as
// Omega would POST it, with a fresh event id and a fresh sample video. An
// empty coid gets a fresh one. An unknown type is an *UnknownTypeError.
func SampleEvent(eventType, endpointID, coid string) ([]byte, error) {
	if !Known(eventType) {
		return nil, &UnknownTypeError{Type: eventType}
	}
	if coid == "" {
		coid = NewCOID()
	}
	b, err := json.Marshal(sampleEnvelope{
		ID:         NewObjectID(),
		COID:       coid,
		APIVersion: "v1",
		Created:    time.Now().Unix(),
		Type:       eventType,
		Data:       SampleVideo(eventType, coid),
		EndpointID: endpointID,
	})
	if err != nil {
		return nil, fmt.Errorf("encode sample %s event: %w", eventType, err)
	}
	return b, nil
}
