package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/omega-listen/omega-listen/omega"
)

// Delivery is the outcome of one event sent to one endpoint.
type Delivery struct {
	EndpointID string              `json:"endpoint_id"`
	EventID    string              `json:"event_id"`
	Type       string              `json:"type"`
	URL        string              `json:"url"`
	Response   omega.EventResponse `json:"response"`
	// Err is why no answer came (refused, timeout, cancelled); "" when the
	// endpoint answered, whatever its status.
	Err string `json:"err"`
	// Duration is from sending the request to reading the answer; in JSON,
	// nanoseconds.
	Duration time.Duration `json:"duration"`
}

// target is what a delivery needs of an endpoint, copied out under the lock.
type target struct{ id, url string }

// Deliver POSTs a fresh sample event of eventType to every active endpoint
// subscribed to it, concurrently, and records each in that endpoint's
// history with the answer it got. Deliveries come back in endpoint creation
// order; none is an empty slice. Only an unknown type is an error: a failed
// delivery is reported in its Delivery.
func (e *Emulator) Deliver(ctx context.Context, eventType string) ([]Delivery, error) {
	if !omega.Known(eventType) {
		return nil, &omega.UnknownTypeError{Type: eventType}
	}
	var targets []target
	e.mu.Lock()
	for _, id := range e.order {
		ep := e.endpoints[id].ep
		if ep.Active && slices.Contains(ep.Events, eventType) {
			targets = append(targets, target{ep.ID, ep.URL})
		}
	}
	e.mu.Unlock()

	out := make([]Delivery, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() { out[i] = e.deliver(ctx, t, eventType) })
	}
	wg.Wait()
	return out, nil
}

// DeliverTo POSTs a fresh sample event of eventType to one endpoint, whether
// it is active and subscribed or not, and records it in its history. An
// unknown endpoint is ErrEndpointNotFound; an unknown type an
// *omega.UnknownTypeError.
func (e *Emulator) DeliverTo(ctx context.Context, endpointID, eventType string) (*Delivery, error) {
	if !omega.Known(eventType) {
		return nil, &omega.UnknownTypeError{Type: eventType}
	}
	e.mu.Lock()
	st, ok := e.endpoints[endpointID]
	var t target
	if ok {
		t = target{st.ep.ID, st.ep.URL}
	}
	e.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("deliver to %q: %w", endpointID, ErrEndpointNotFound)
	}
	d := e.deliver(ctx, t, eventType)
	return &d, nil
}

// deliver sends one event and records it; it must be called without e.mu.
func (e *Emulator) deliver(ctx context.Context, t target, eventType string) Delivery {
	d := Delivery{EndpointID: t.id, Type: eventType, URL: t.url}
	body, err := omega.SampleEvent(eventType, t.id, e.coid)
	var ev omega.Event
	if err == nil {
		err = json.Unmarshal(body, &ev)
	}
	if err != nil {
		// Cannot happen for a known type; reported rather than panicking.
		d.Err = fmt.Sprintf("build sample event: %v", err)
		d.Response.Message = fmt.Sprintf("webhook event with type %s failed: %s", eventType, d.Err)
		return d
	}
	ev.CreatedAt = time.Now().UTC()
	d.EventID = ev.ID

	start := time.Now()
	d.Response, d.Err = e.post(ctx, t.url, body, eventType)
	d.Duration = time.Since(start)

	resp := d.Response
	ev.Response = &resp
	e.record(ev)
	e.log.Info("omega emulator: delivered", "type", eventType, "endpoint", t.id, "event", ev.ID,
		"url", t.url, "status", resp.StatusCode, "err", d.Err, "duration", d.Duration)
	return d
}

// post sends body and describes the answer the way Omega's history does.
// errMsg is non-empty only when no answer came.
func (e *Emulator) post(ctx context.Context, url string, body []byte, eventType string) (r omega.EventResponse, errMsg string) {
	failed := func(err error) (omega.EventResponse, string) {
		return omega.EventResponse{
			Message: fmt.Sprintf("webhook event with type %s failed: %v", eventType, err),
		}, err.Error()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return failed(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := e.client.Do(req)
	if err != nil {
		return failed(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		// The status came but the body broke off: keep what is known.
		r, msg := failed(fmt.Errorf("read answer: %w", err))
		r.StatusCode, r.Status, r.Body = resp.StatusCode, resp.Status, string(got)
		return r, msg
	}
	// Drain a little more so the connection can be reused; a huge answer
	// is cut off instead.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))

	r = omega.EventResponse{StatusCode: resp.StatusCode, Status: resp.Status, Body: string(got)}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		r.Message = fmt.Sprintf("webhook event with type %s succeeded", eventType)
	} else {
		r.Message = fmt.Sprintf("webhook event with type %s failed with status %d", eventType, resp.StatusCode)
	}
	return r, ""
}
