package omega

import "time"

// Video is the video object Omega puts in an event's data.
type Video struct {
	ID                    string            `json:"id"`
	CreatedAt             time.Time         `json:"created_at"`
	UpdatedAt             time.Time         `json:"updated_at"`
	DeletedAt             *time.Time        `json:"deleted_at"`
	Title                 string            `json:"title"`
	UUID                  string            `json:"uuid"`
	COID                  string            `json:"coid"`
	Status                string            `json:"status"` // uploaded, in-progress, process-failed, process-completed
	Privacy               string            `json:"privacy"`
	Playback              *Playback         `json:"playback"` // deprecated by Omega; kept for fidelity
	PlaybackV2            *Playback         `json:"playback_v2"`
	Input                 *VideoInput       `json:"input"`
	Duration              float64           `json:"duration"`
	Size                  int64             `json:"size"`
	ReadyToStream         bool              `json:"ready_to_stream"`
	Thumbnail             string            `json:"thumbnail"`
	ThumbnailTimestampPct float64           `json:"thumbnail_timestamp_pct"`
	Storage               *Storage          `json:"storage"`
	Meta                  map[string]string `json:"meta"`
}

// Playback holds stream URLs; any may be null.
type Playback struct {
	HLS   *string `json:"hls"`
	DASH  *string `json:"dash"`
	Audio *string `json:"audio"`
	R1080 *string `json:"r_1080p"`
	R720  *string `json:"r_720p"`
	R480  *string `json:"r_480p"`
	R360  *string `json:"r_360p"`
	R240  *string `json:"r_240p"`
}

// VideoInput is the source's frame size.
type VideoInput struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// Storage says where the video's files live.
type Storage struct {
	Bucket    string            `json:"bucket"`
	RawBucket string            `json:"raw_bucket"`
	Provider  string            `json:"provider"`
	Source    *StorageSource    `json:"source"`
	Meta      map[string]string `json:"meta"`
}

// StorageSource is the uploaded original.
type StorageSource struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
}
