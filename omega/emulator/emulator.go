// Package emulator is an in-process Omega: it serves the webhook API as
// Omega's docs describe it (both documented path spellings, the quirks of the
// event list included) and really delivers sample events over HTTP, so
// omega-listen and its tests can run with no credentials and no network.
//
// State lives in memory only. Deliveries are made without holding the state
// lock, so a slow or dead receiver never blocks the API.
package emulator

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/omega-listen/omega-listen/omega"
)

const (
	// maxRequestBody bounds every API request body.
	maxRequestBody = 1 << 20
	// maxResponseBody bounds how much of a receiver's answer is recorded.
	maxResponseBody = 64 << 10
	// defaultHistoryLimit is how many events each endpoint keeps; older ones
	// are dropped first.
	defaultHistoryLimit = 1000
	// maxDeliverCount bounds the control route's count.
	maxDeliverCount = 1000
	// userAgent is what deliveries carry; the docs name none.
	userAgent = "Omega-Webhooks/1.0 (emulator)"
)

// ErrEndpointNotFound is returned by DeliverTo for an id the emulator does
// not know.
var ErrEndpointNotFound = errors.New("webhook endpoint not found")

// Options configures an Emulator. The zero value is ready to use.
type Options struct {
	// APIKey is the bearer token every request must carry. Default:
	// "omega_emu_" and 32 random hex characters.
	APIKey string
	// COID is the company id put on endpoints and events. Default: a
	// random "omega-cop-..." id.
	COID string
	// DeliveryClient sends deliveries. Default: a 30s timeout and no
	// redirects followed, as a webhook sender behaves.
	DeliveryClient *http.Client
	// OnlyClientPaths serves update, delete and status only under
	// /client/webhooks/..., answering 404 on the documented
	// /company/webhooks/... spelling, so a client's fallback can be tested.
	OnlyClientPaths bool
	// Logger receives request and delivery logs. Default: discarded.
	Logger *slog.Logger
}

// Emulator is an http.Handler serving Omega's webhook API under the path
// prefix "/company", plus a control route to trigger deliveries.
type Emulator struct {
	apiKey          string
	coid            string
	client          *http.Client
	ownsClient      bool
	onlyClientPaths bool
	log             *slog.Logger
	historyLimit    int

	mu        sync.Mutex
	endpoints map[string]*endpointState
	order     []string // endpoint ids in creation order
}

type endpointState struct {
	ep      omega.Endpoint
	history []omega.Event // oldest first
}

// New returns an Emulator with empty state.
func New(o Options) *Emulator {
	e := &Emulator{
		apiKey:          o.APIKey,
		coid:            o.COID,
		client:          o.DeliveryClient,
		onlyClientPaths: o.OnlyClientPaths,
		log:             o.Logger,
		historyLimit:    defaultHistoryLimit,
		endpoints:       map[string]*endpointState{},
	}
	if e.apiKey == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		e.apiKey = "omega_emu_" + hex.EncodeToString(b[:])
	}
	if e.coid == "" {
		e.coid = omega.NewCOID()
	}
	if e.client == nil {
		e.client = &http.Client{
			Timeout:   30 * time.Second,
			Transport: http.DefaultTransport.(*http.Transport).Clone(),
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
		e.ownsClient = true
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	return e
}

// APIKey returns the key requests must present as "Authorization: Bearer <key>".
func (e *Emulator) APIKey() string { return e.apiKey }

// COID returns the company id of this emulator's endpoints and events.
func (e *Emulator) COID() string { return e.coid }

// Endpoints returns a snapshot of every endpoint, in creation order.
func (e *Emulator) Endpoints() []omega.Endpoint {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]omega.Endpoint, 0, len(e.order))
	for _, id := range e.order {
		out = append(out, cloneEndpoint(e.endpoints[id].ep))
	}
	return out
}

// History returns an endpoint's events, newest first, with data and
// response; nil for an unknown endpoint.
func (e *Emulator) History(endpointID string) []omega.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.endpoints[endpointID]
	if !ok {
		return nil
	}
	return newestFirst(st.history)
}

func newestFirst(h []omega.Event) []omega.Event {
	out := make([]omega.Event, len(h))
	for i, ev := range h {
		ev.Data = slices.Clone(ev.Data)
		if ev.Response != nil {
			r := *ev.Response
			ev.Response = &r
		}
		out[len(h)-1-i] = ev
	}
	return out
}

// cloneEndpoint copies the parts of an endpoint a caller could mutate, so
// snapshots never alias the emulator's state.
func cloneEndpoint(ep omega.Endpoint) omega.Endpoint {
	ep.Events = slices.Clone(ep.Events)
	if ep.Description != nil {
		d := *ep.Description
		ep.Description = &d
	}
	return ep
}

// record appends a delivered event to its endpoint's history, dropping the
// oldest beyond the limit. An endpoint deleted while the delivery was in
// flight has no history left to add to.
func (e *Emulator) record(ev omega.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.endpoints[ev.EndpointID]
	if !ok {
		return
	}
	st.history = append(st.history, ev)
	if over := len(st.history) - e.historyLimit; over > 0 {
		st.history = slices.Delete(st.history, 0, over)
	}
}

func (e *Emulator) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return false
	}
	key := strings.TrimSpace(h[len(prefix):])
	return subtle.ConstantTimeCompare([]byte(key), []byte(e.apiKey)) == 1
}
