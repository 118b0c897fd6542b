package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/inspector"
	"github.com/omega-listen/omega-listen/omega"
)

// FromOmega fetches one event of an endpoint from Omega's delivery history
// and returns the request Omega made (or would have made) to deliver it,
// as a capture template for Replayer.One: POST, Content-Type
// application/json, the delivery body (see DeliveryBody), the envelope
// fields and FlagBackfill. It has no ID, Target or outcome.
func FromOmega(ctx context.Context, client *omega.Client, endpointID, eventID string) (*capture.Capture, error) {
	ev, err := client.GetEvent(ctx, endpointID, eventID)
	if err != nil {
		return nil, fmt.Errorf("fetching event %s of endpoint %s from Omega: %w", eventID, endpointID, err)
	}
	return deliveryCapture(ev, endpointID)
}

func deliveryCapture(ev *omega.Event, endpointID string) (*capture.Capture, error) {
	body, err := DeliveryBody(ev, endpointID)
	if err != nil {
		return nil, err
	}
	c := &capture.Capture{
		Meta: capture.Meta{
			Method:       http.MethodPost,
			Path:         inspector.RedactedPath,
			EventID:      ev.ID,
			EventType:    ev.Type,
			EndpointID:   ev.EndpointID,
			EventCreated: ev.When(),
			Flags:        capture.FlagBackfill,
		},
		Headers: http.Header{"Content-Type": {"application/json"}},
		Body:    body,
	}
	if c.EndpointID == "" {
		c.EndpointID = endpointID
	}
	return c, nil
}

// deliveryEnvelope fixes the members of a delivery body and their order to
// the docs' example of a delivery ("A delivery" in OMEGA_API.md).
type deliveryEnvelope struct {
	ID         string          `json:"id"`
	COID       string          `json:"coid"`
	APIVersion string          `json:"api_version"`
	Created    int64           `json:"created"`
	Type       string          `json:"type"`
	Data       json.RawMessage `json:"data"`
	EndpointID string          `json:"endpoint_id"`
}

// DeliveryBody rebuilds the body of the delivery of a history event: the
// event's members as a delivery has them, without the history's created_at
// and response, company id as "coid" (the list spells it "ocid"), created
// in Unix seconds, and data as the video itself: the events page shows it
// wrapped as {"video": {...}}, deliveries do not. The data's own bytes are
// kept (only white space between tokens is dropped).
func DeliveryBody(ev *omega.Event, endpointID string) ([]byte, error) {
	if ev.ID == "" || ev.Type == "" {
		return nil, errors.New("the event from Omega has no id or type")
	}
	env := deliveryEnvelope{
		ID: ev.ID, COID: ev.COID, APIVersion: ev.APIVersion, Type: ev.Type,
		Data: unwrapVideo(ev.Data), EndpointID: ev.EndpointID,
	}
	if env.APIVersion == "" {
		env.APIVersion = "v1" // the only version the docs know
	}
	if env.EndpointID == "" {
		env.EndpointID = endpointID
	}
	env.Created = ev.Created
	if env.Created == 0 {
		if t := ev.When(); !t.IsZero() {
			env.Created = t.Unix()
		}
	}
	if len(env.Data) == 0 {
		env.Data = json.RawMessage("null")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// Omega's strings go out as they were, "&" and "<" included.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(env); err != nil {
		return nil, fmt.Errorf("building the delivery of event %s: %w", ev.ID, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// unwrapVideo returns data's "video" member when data is {"video": {...}}
// and nothing else that a video has (an id), else data.
func unwrapVideo(data json.RawMessage) json.RawMessage {
	d := bytes.TrimSpace(data)
	if len(d) == 0 || d[0] != '{' {
		return data
	}
	var wrap map[string]json.RawMessage
	if json.Unmarshal(d, &wrap) != nil {
		return data
	}
	v, ok := wrap["video"]
	if _, hasID := wrap["id"]; !ok || hasID {
		return data
	}
	if v = bytes.TrimSpace(v); len(v) == 0 || v[0] != '{' {
		return data
	}
	return v
}

// Backfill delivers, through deliver, the events of an endpoint's history
// created within window before now that Omega recorded as not accepted:
// no response, or a status that is not 2xx. The list does not hold
// responses, so each candidate is fetched with GetEvent. Events already
// says were delivered are skipped (already may be nil); each event is
// delivered at most once per call, oldest first, as Omega sent them. An
// event whose creation time is unknown is skipped, since it cannot be
// placed in the window.
//
// It returns how many deliver accepted (returned nil). Errors fetching one
// event or delivering it do not stop the others; they are joined in err.
func Backfill(ctx context.Context, client *omega.Client, endpointID string, window time.Duration, now time.Time,
	already func(eventID string) bool, deliver func(ctx context.Context, c *capture.Capture) error) (n int, err error) {
	evs, err := client.ListEvents(ctx, endpointID)
	if err != nil {
		return 0, fmt.Errorf("backfill: listing the events of endpoint %s: %w", endpointID, err)
	}
	from := now.Add(-window)
	seen := make(map[string]bool, len(evs))
	var todo []omega.Event
	for _, ev := range evs {
		when := ev.When()
		if ev.ID == "" || seen[ev.ID] || when.IsZero() || when.Before(from) {
			continue
		}
		seen[ev.ID] = true
		if already != nil && already(ev.ID) {
			continue
		}
		todo = append(todo, ev)
	}
	// Oldest first. The list is newest first and its times are whole
	// seconds, so reverse it before sorting to keep events of one second
	// in the order they were sent.
	slices.Reverse(todo)
	slices.SortStableFunc(todo, func(a, b omega.Event) int { return a.When().Compare(b.When()) })

	var errs []error
	for _, ev := range todo {
		if err := ctx.Err(); err != nil {
			return n, errors.Join(append(errs, err)...)
		}
		full, err := client.GetEvent(ctx, endpointID, ev.ID)
		if err != nil {
			errs = append(errs, fmt.Errorf("backfill: fetching event %s: %w", ev.ID, err))
			continue
		}
		if r := full.Response; r != nil && r.StatusCode >= 200 && r.StatusCode <= 299 {
			continue
		}
		c, err := deliveryCapture(full, endpointID)
		if err != nil {
			errs = append(errs, fmt.Errorf("backfill: event %s: %w", ev.ID, err))
			continue
		}
		if err := deliver(ctx, c); err != nil {
			errs = append(errs, fmt.Errorf("backfill: delivering event %s: %w", ev.ID, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
