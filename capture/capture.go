package capture

import (
	"net/http"
	"time"
)

// Flags mark what kind of request a capture holds.
type Flags uint32

const (
	// FlagNotJSON: the body did not parse as JSON. It was still forwarded.
	FlagNotJSON Flags = 1 << iota
	// FlagNotOmega: the body is JSON but not an Omega event envelope.
	FlagNotOmega
	// FlagRejected: the receiver refused the request (wrong path, method,
	// size); it was not forwarded. RejectReason says why.
	FlagRejected
	// FlagBackfill: delivered from Omega's history rather than live.
	FlagBackfill
	// FlagTruncated: the body was larger than the store keeps; Body holds a prefix.
	FlagTruncated
	// FlagQueued: the relay (--tunnel relay) held the delivery in its queue
	// while the listener was away; HeaderRelayQueuedAt says since when.
	FlagQueued
	// FlagFromOmega: fetched from Omega's history on request (`replay
	// --from-omega`), not a live delivery nor a --backfill.
	FlagFromOmega
)

// Has reports whether every bit of g is set in f.
func (f Flags) Has(g Flags) bool { return f&g == g }

// State is where a capture is in its life.
type State string

const (
	// StatePending: received and recorded, not yet answered by the app.
	StatePending State = "pending"
	// StateDone: the outcome (answer or error) is recorded.
	StateDone State = "done"
	// StateInterrupted: the process that received it died before the app
	// answered (see Store.MarkInterrupted). Its outcome is OutcomeFailed,
	// so `replay --failed` picks it up.
	StateInterrupted State = "interrupted"
)

// Capture is one request received (or replayed) and what became of it:
// its Meta, and the headers and bodies of the request and the answer.
type Capture struct {
	Meta

	Headers     http.Header `json:"headers,omitempty"`          // the request's
	Body        []byte      `json:"body,omitempty"`             // the request's
	RespHeaders http.Header `json:"response_headers,omitempty"` // the app's answer's
	RespBody    []byte      `json:"response_body,omitempty"`    // the app's answer's
}

// Meta is what a Capture and a Summary share: every fact of a capture but
// its headers and bodies. In JSON its members come first, flattened into
// the Capture's or Summary's object.
type Meta struct {
	ID        string `json:"id"`
	Seq       int64  `json:"seq"` // store order, assigned by Begin
	SessionID string `json:"session_id,omitempty"`
	State     State  `json:"state"`

	ReceivedAt  time.Time `json:"received_at"`
	CompletedAt time.Time `json:"completed_at,omitzero"`

	// The request as received (its headers and body are the Capture's).
	RemoteAddr string `json:"remote_addr,omitempty"`
	Method     string `json:"method"`
	Path       string `json:"path"`

	// Omega envelope fields, when the body is one.
	EventID      string    `json:"event_id,omitempty"`
	EventType    string    `json:"event_type,omitempty"`
	EndpointID   string    `json:"endpoint_id,omitempty"`
	EventCreated time.Time `json:"event_created,omitzero"`

	Flags        Flags  `json:"flags,omitempty"`
	RejectReason string `json:"reject_reason,omitempty"`

	// The forward and the app's answer (its headers and body are the Capture's).
	Target   string        `json:"target,omitempty"`
	Status   int           `json:"status,omitempty"` // the app's status; 0 if it never answered
	Duration time.Duration `json:"duration,omitempty"`
	Error    string        `json:"error,omitempty"` // why forwarding failed, if it did
	// SentStatus is what the sender (Omega) was answered: the app's status,
	// or ours (404/405/413/502/504) when the app was not reached.
	SentStatus int `json:"sent_status,omitempty"`

	ReplayOf string `json:"replay_of,omitempty"`
}

// Outcome classifies a finished capture for counters and colours.
type Outcome string

const (
	OutcomePending  Outcome = "pending"
	OutcomeOK       Outcome = "ok"        // the app answered 2xx
	OutcomeAppError Outcome = "app_error" // the app answered, not 2xx
	OutcomeFailed   Outcome = "failed"    // the app could not be reached or timed out
	OutcomeRejected Outcome = "rejected"  // refused by the receiver, not forwarded
)

// Outcome reports how the capture ended.
func (m Meta) Outcome() Outcome {
	switch {
	case m.Flags.Has(FlagRejected):
		return OutcomeRejected
	case m.State == StateInterrupted:
		return OutcomeFailed
	case m.State != StateDone:
		return OutcomePending
	case m.Error != "" || m.Status == 0:
		return OutcomeFailed
	case m.Status >= 200 && m.Status < 300:
		return OutcomeOK
	default:
		return OutcomeAppError
	}
}
