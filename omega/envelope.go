package omega

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/omega-listen/omega-listen/omega/internal/jsonscan"
)

var (
	// ErrNotJSON means a body is not a JSON value.
	ErrNotJSON = errors.New("not JSON")
	// ErrNotEnvelope means a body is JSON but not an Omega event: not an
	// object with non-empty string "id" and "type".
	ErrNotEnvelope = errors.New("not an Omega event")
)

// Envelope is an event as Omega delivers it to an endpoint.
type Envelope struct {
	ID         string
	COID       string // "coid", or "ocid" as some of Omega's answers spell it
	APIVersion string
	Created    int64 // Unix seconds; 0 if absent or unreadable
	Type       string
	// Data is the "data" value exactly as received (nil if absent).
	Data json.RawMessage
	// Video is Data decoded as a video, either Data itself or Data's
	// "video" member; nil if neither is a video.
	Video      *Video
	EndpointID string
	// Raw is the input ParseEnvelope was given, not a copy.
	Raw []byte
}

// rawHead holds an event's top-level members but data and response,
// undecoded, so each can be read tolerantly.
type rawHead struct {
	ID         json.RawMessage `json:"id"`
	COID       json.RawMessage `json:"coid"`
	OCID       json.RawMessage `json:"ocid"`
	APIVersion json.RawMessage `json:"api_version"`
	Created    json.RawMessage `json:"created"`
	Type       json.RawMessage `json:"type"`
	EndpointID json.RawMessage `json:"endpoint_id"`
}

// rawEvent holds the members shared by deliveries and history entries.
type rawEvent struct {
	rawHead
	CreatedAt json.RawMessage `json:"created_at"`
	Data      json.RawMessage `json:"data"`
	Response  json.RawMessage `json:"response"`
}

var bom = []byte("\xef\xbb\xbf")

// ParseEnvelope reads an Omega delivery body. It fails with ErrNotJSON or
// ErrNotEnvelope (wrapped with detail) and otherwise tolerates what Omega's
// docs show in different places: "ocid" for "coid", data as the video or
// as {"video": ...}, created as a number or numeric string, unknown members
// and event types not in the catalogue.
func ParseEnvelope(b []byte) (*Envelope, error) {
	t, err := envelopeJSON(b)
	if err != nil {
		return nil, err
	}
	var r rawEvent
	if err := json.Unmarshal(t, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	e, err := r.envelope(b)
	if err != nil {
		return nil, err
	}
	if len(r.Data) > 0 {
		e.Data = r.Data
		e.Video = videoOf(r.Data)
	}
	return e, nil
}

// envelopeJSON trims b (spaces, a BOM) and refuses what is not a JSON
// object, saying whether it is JSON at all.
func envelopeJSON(b []byte) ([]byte, error) {
	t := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(b), bom))
	if len(t) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrNotJSON)
	}
	if t[0] != '{' {
		if !json.Valid(t) {
			return nil, fmt.Errorf("%w: %s", ErrNotJSON, syntaxDetail(t))
		}
		return nil, fmt.Errorf("%w: the body is JSON %s, not an object", ErrNotEnvelope, jsonKind(t[0]))
	}
	return t, nil
}

// envelope checks that h is an envelope (non-empty string id and type)
// and returns its fields; raw is the body they came from.
func (h *rawHead) envelope(raw []byte) (*Envelope, error) {
	id, ok := jsonString(h.ID)
	if !ok || strings.TrimSpace(id) == "" {
		return nil, fmt.Errorf("%w: no string \"id\"", ErrNotEnvelope)
	}
	typ, ok := jsonString(h.Type)
	if !ok || strings.TrimSpace(typ) == "" {
		return nil, fmt.Errorf("%w: no string \"type\"", ErrNotEnvelope)
	}
	return &Envelope{
		ID:         id,
		COID:       h.coid(),
		APIVersion: stringOr(h.APIVersion),
		Created:    unixSeconds(h.Created),
		Type:       typ,
		EndpointID: stringOr(h.EndpointID),
		Raw:        raw,
	}, nil
}

// CreatedTime is Created as a UTC time, or the zero time if unknown.
func (e *Envelope) CreatedTime() time.Time {
	if e.Created == 0 {
		return time.Time{}
	}
	return time.Unix(e.Created, 0).UTC()
}

// UnmarshalJSON reads a history entry tolerantly: "ocid" for "coid", a
// created_at that is zero, empty or unreadable (left zero; When falls back
// to created), created as a number or numeric string, and data in either
// shape, kept raw. A data of null is left nil.
func (e *Event) UnmarshalJSON(b []byte) error {
	t := bytes.TrimSpace(b)
	if string(t) == "null" {
		return nil
	}
	if len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("omega event: want a JSON object, got %s", jsonKindOrEmpty(t))
	}
	var r rawEvent
	if err := json.Unmarshal(t, &r); err != nil {
		return fmt.Errorf("omega event: %w", err)
	}
	*e = Event{
		ID:         stringOr(r.ID),
		COID:       r.coid(),
		APIVersion: stringOr(r.APIVersion),
		Created:    unixSeconds(r.Created),
		CreatedAt:  looseTime(r.CreatedAt),
		Type:       stringOr(r.Type),
		EndpointID: stringOr(r.EndpointID),
	}
	if len(r.Data) > 0 && string(r.Data) != "null" {
		e.Data = r.Data
	}
	if len(r.Response) > 0 && string(r.Response) != "null" {
		if resp, ok := decodeLenient[EventResponse](r.Response); ok {
			e.Response = &resp
		}
	}
	return nil
}

// Video decodes the event's data as a video (either shape); nil if it is
// not one, as in the list form.
func (e Event) Video() *Video {
	if len(e.Data) == 0 {
		return nil
	}
	return videoOf(e.Data)
}

// coid is "coid", or "ocid" as some of Omega's answers spell it.
func (h *rawHead) coid() string {
	if s, ok := jsonString(h.COID); ok && s != "" {
		return s
	}
	return stringOr(h.OCID)
}

// videoOf decodes data as a video: {"video": {...}} or the video itself.
// A value without an id or uuid is not taken for a video.
func videoOf(data json.RawMessage) *Video {
	d := bytes.TrimSpace(data)
	if len(d) == 0 || d[0] != '{' {
		return nil
	}
	var wrap struct {
		Video json.RawMessage `json:"video"`
		ID    json.RawMessage `json:"id"`
	}
	if json.Unmarshal(d, &wrap) == nil && len(wrap.ID) == 0 {
		if w := bytes.TrimSpace(wrap.Video); len(w) > 0 && w[0] == '{' {
			d = w
		}
	}
	v, ok := decodeLenient[Video](d)
	if !ok || (v.ID == "" && v.UUID == "") {
		return nil
	}
	return &v
}

// decodeLenient decodes a JSON object into a T. If a strict decode fails
// (a timestamp in an unexpected layout, a number sent as a string), each
// member is decoded on its own and the ones that do not fit are left zero,
// so one odd field does not lose the rest. ok is false if b is not an object.
func decodeLenient[T any](b []byte) (T, bool) {
	var v T
	if json.Unmarshal(b, &v) == nil {
		return v, true
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil || m == nil {
		var zero T
		return zero, false
	}
	v = *new(T)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic when members differ only in case
	for _, k := range keys {
		one, err := json.Marshal(map[string]json.RawMessage{k: m[k]})
		if err != nil {
			continue
		}
		// Errors are expected here: a member that does not fit is left
		// as far as encoding/json got with it.
		_ = json.Unmarshal(one, &v)
	}
	return v, true
}

// jsonString returns raw as a string if it is a JSON string.
func jsonString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	// Most strings have no escapes: take the bytes as they are, which is
	// what encoding/json would give, at a fraction of the cost.
	if n := len(raw); n >= 2 && raw[n-1] == '"' {
		if in := raw[1 : n-1]; plainString(in) {
			return string(in), true
		}
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// plainString: in needs no decoding to be a JSON string's content (no
// quote, backslash or control byte, valid UTF-8).
func plainString(in []byte) bool {
	for _, c := range in {
		if c == '"' || c == '\\' || c < 0x20 {
			return false
		}
	}
	return utf8.Valid(in)
}

func stringOr(raw json.RawMessage) string {
	s, _ := jsonString(raw)
	return s
}

// unixSeconds reads a JSON number (integer or not) or a string holding one,
// or an RFC 3339 time; anything else, or out of range, is 0.
func unixSeconds(raw json.RawMessage) int64 {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	s := string(raw)
	if raw[0] == '"' {
		if json.Unmarshal(raw, &s) != nil {
			return 0
		}
		s = strings.TrimSpace(s)
		if t := looseTimeString(s); !t.IsZero() {
			return t.Unix()
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f >= math.MaxInt64 || f <= math.MinInt64 {
		return 0
	}
	return int64(f)
}

// looseTime reads a JSON time string in the layouts Omega has been seen to
// use; anything else, and Omega's 0001-01-01 "unknown", is the zero time.
func looseTime(raw json.RawMessage) time.Time {
	s, ok := jsonString(raw)
	if !ok {
		return time.Time{}
	}
	return looseTimeString(s)
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999", // no zone: taken as UTC
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

func looseTimeString(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			if t.Year() <= 1 {
				return time.Time{}
			}
			return t
		}
	}
	return time.Time{}
}

func syntaxDetail(b []byte) string {
	var v any
	err := json.Unmarshal(b, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	if err != nil {
		return err.Error()
	}
	return "invalid JSON"
}

func jsonKind(c byte) string {
	switch c {
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

func jsonKindOrEmpty(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	return jsonKind(b[0])
}

// AppendCompact appends the event body b to dst as one line of JSON,
// exactly as encoding/json writes a json.RawMessage (compact, with <, >,
// &, U+2028 and U+2029 escaped), and reports whether b is JSON at all (if
// not, dst is returned as it was). It costs a sixth of encoding/json's
// check and compaction; see jsonscan.AppendCompact.
func AppendCompact(dst, b []byte) ([]byte, bool) { return jsonscan.AppendCompact(dst, b) }
