package omega

import (
	"encoding/json"
	"time"
)

// Endpoint is a webhook subscription as Omega returns it.
type Endpoint struct {
	ID          string    `json:"id"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	COID        string    `json:"coid"`
	URL         string    `json:"url"`
	Description *string   `json:"description"`
	Events      []string  `json:"events"`
	Active      bool      `json:"active"`
}

// Desc returns the description, or "" when Omega sent null.
func (e Endpoint) Desc() string {
	if e.Description == nil {
		return ""
	}
	return *e.Description
}

// EndpointInput is the body of create and update.
type EndpointInput struct {
	URL         string   `json:"url"`
	Description string   `json:"description,omitempty"`
	Events      []string `json:"events"`
}

// EventResponse is what Omega recorded of an endpoint's answer to a delivery.
type EventResponse struct {
	StatusCode int    `json:"status_code"`
	Status     string `json:"status"`
	Body       string `json:"body"`
	Message    string `json:"message"`
}

// Event is one entry of an endpoint's delivery history. In the list form
// Data and Response are null; the single-event form has both.
type Event struct {
	ID         string          `json:"id"`
	COID       string          `json:"coid"`
	APIVersion string          `json:"api_version"`
	Created    int64           `json:"created"`
	CreatedAt  time.Time       `json:"created_at"`
	Type       string          `json:"type"`
	Data       json.RawMessage `json:"data"`
	EndpointID string          `json:"endpoint_id"`
	Response   *EventResponse  `json:"response"`
}

// When is the best-known creation time: created_at unless it is the zero
// time Omega sometimes sends, else the Unix seconds of created.
func (e Event) When() time.Time {
	if !e.CreatedAt.IsZero() && e.CreatedAt.Year() > 1 {
		return e.CreatedAt
	}
	if e.Created > 0 {
		return time.Unix(e.Created, 0).UTC()
	}
	return time.Time{}
}
